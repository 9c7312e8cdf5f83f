package main

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/job"
	"github.com/fleetnas/fleetnas/train"
)

// TestTrainFlagsFromDefaultConfig: the train command's flags default to
// train.DefaultConfig, and an invalid setting is reported under its flag.
func TestTrainFlagsFromDefaultConfig(t *testing.T) {
	d := train.DefaultConfig()
	cmd, _, err := newRoot(io.Discard, io.Discard).Find([]string{"train"})
	if err != nil {
		t.Fatal(err)
	}
	for flag, want := range map[string]any{"epochs": d.Epochs, "batch": d.Batch, "lr": d.LR, "optimizer": d.Optimizer,
		"wd": d.WeightDecay, "label-smoothing": d.LabelSmoothing, "warmup": d.WarmupEpochs, "seed": d.Seed,
		"crop-pad": d.Pad, "flip": d.Flip} {
		if got := cmd.Flags().Lookup(flag).DefValue; got != fmt.Sprint(want) {
			t.Errorf("--%s defaults to %s, DefaultConfig to %v", flag, got, want)
		}
	}
	for _, bad := range [][]string{{"--epochs", "-1"}, {"--batch", "0"}, {"--lr", "NaN"}, {"--optimizer", "lamb"},
		{"--wd", "-1e-4"}, {"--label-smoothing", "1"}, {"--warmup", "11"}, {"--crop-pad", "-2"}} {
		_, _, err := run(t, append([]string{"train", "--model", "MobileNetV2"}, bad...)...)
		if err == nil || !strings.HasPrefix(err.Error(), bad[0]+": ") {
			t.Errorf("%v: error %v, want one starting with %s:", bad, err, bad[0])
		}
	}
}

// TestSearchFlagsFromDefaultSettings: the search command's flags default
// to job.DefaultSettings, the main job.
func TestSearchFlagsFromDefaultSettings(t *testing.T) {
	d := job.DefaultSettings()
	cmd, _, err := newRoot(io.Discard, io.Discard).Find([]string{"search"})
	if err != nil {
		t.Fatal(err)
	}
	for flag, want := range map[string]any{"space": d.Space, "fleet": d.Fleet, "accuracy": d.Accuracy, "metric": d.Metric,
		"target": d.Target, "beta": d.Beta, "reward": d.Reward, "budget": d.Budget, "seed": d.Seed,
		"proxy-width": d.ProxyWidth, "batch": d.Batch, "weights-lr": d.WeightsLR, "checkpoint-every": job.DefaultCheckpointEvery} {
		if got := cmd.Flags().Lookup(flag).DefValue; got != fmt.Sprint(want) {
			t.Errorf("--%s defaults to %s, DefaultSettings to %v", flag, got, want)
		}
	}
}

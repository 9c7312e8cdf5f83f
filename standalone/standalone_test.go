package standalone

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/fleetnas/fleetnas/internal/idxtest"
	"github.com/fleetnas/fleetnas/setting"
	"github.com/fleetnas/fleetnas/space"
	"github.com/fleetnas/fleetnas/train"
)

func TestConfig(t *testing.T) {
	for _, c := range []struct {
		epochs int
		warmup float64
	}{{1, 0.25}, {4, 1}, {12, 1}} {
		cfg := Config(c.epochs, 7)
		d := train.DefaultConfig()
		if cfg.Epochs != c.epochs || cfg.WarmupEpochs != c.warmup || cfg.LR != DefaultLR || cfg.Seed != 7 || cfg.Batch != d.Batch || cfg.Optimizer != d.Optimizer {
			t.Errorf("%d epochs: %+v", c.epochs, cfg)
		}
		if err := cfg.Validate(); err != nil {
			t.Error(err)
		}
	}
}

// TestTrain trains a small multihw network for one epoch on a small data
// set and reads back standalone.json.
func TestTrain(t *testing.T) {
	sp, _ := space.Get("multihw")
	choice := space.Sample(sp, 1, 3)[0]
	dir := t.TempDir()
	data := "idx:" + idxtest.Quadrants(t, 20, 32, 16)
	cfg := Config(1, 1)
	cfg.Batch = 16
	res, err := Train(context.Background(), sp, choice, 42, data, cfg, dir, train.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, File))
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil || back.Format != Format || back.TestAccuracy != res.TestAccuracy || back.SearchAccuracy != 42 || back.Data != data {
		t.Errorf("standalone.json: %s (%v)", b, err)
	}
	if key, _ := sp.Format(choice); back.Choice != key {
		t.Errorf("choice %s, want %s", back.Choice, key)
	}
	if _, err := os.Stat(back.Checkpoint); err != nil {
		t.Error(err)
	}
	var e *setting.Error
	if _, err := Train(context.Background(), sp, choice, 0, "", cfg, dir, train.Hooks{}); !errors.As(err, &e) || e.Name != "data" {
		t.Errorf("no data: %v", err)
	}
	cfg.Epochs = 0
	if _, err := Train(context.Background(), sp, choice, 0, data, cfg, dir, train.Hooks{}); !errors.As(err, &e) || e.Name != "train.epochs" {
		t.Errorf("0 epochs: %v", err)
	}
}

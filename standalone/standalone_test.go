package standalone

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/fleetnas/fleetnas/fleet"
	"github.com/fleetnas/fleetnas/internal/idxtest"
	"github.com/fleetnas/fleetnas/internal/orttest"
	"github.com/fleetnas/fleetnas/latency/lut"
	"github.com/fleetnas/fleetnas/ort"
	"github.com/fleetnas/fleetnas/profile"
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
// set, reads back standalone.json and checks model.onnx's shapes.
func TestTrain(t *testing.T) {
	sp, _ := space.Get("multihw")
	choice := space.Sample(sp, 1, 3)[0]
	key, _ := sp.Format(choice)
	net, err := sp.Network(choice, space.Options{Resolution: 20, Channels: 1, Classes: 4})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data := "idx:" + idxtest.Quadrants(t, 20, 32, 16)
	cfg := Config(1, 1)
	cfg.Batch = 16
	res, err := Train(context.Background(), net, key, 42, data, cfg, dir, train.Hooks{})
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
	if back.Choice != key {
		t.Errorf("choice %s, want %s", back.Choice, key)
	}
	if _, err := os.Stat(back.Checkpoint); err != nil {
		t.Error(err)
	}
	if fmt.Sprint(back.Input) != "[1 1 20 20]" || fmt.Sprint(back.Output) != "[1 4]" {
		t.Errorf("model.onnx takes %v and gives %v, want [1 1 20 20] and [1 4]", back.Input, back.Output)
	}
	if st, err := os.Stat(filepath.Join(dir, Model)); err != nil || st.Size() < 1000 {
		t.Errorf("model.onnx: %v", err)
	}
	// The model measured here, for a device profiled here only.
	f := &fleet.Fleet{Name: "test", Devices: []*fleet.Device{
		{Name: "here", Model: lut.New("here", profile.LocalConditions(1, ort.Wall).Source()+", test", 0)},
		{Name: "published", Model: lut.New("published", "HW-NAS-Bench's per-op table", 0)},
	}}
	orttest.Runtime(t)
	here, err := MeasureHere(back.Checkpoint, f, []float64{0.5, 9})
	if err != nil || len(here) != 1 || here[0].Device != "here" || !(here[0].MeasuredMS > 0) || here[0].PredictedMS != 0.5 ||
		math.Abs(here[0].Error-(0.5/here[0].MeasuredMS-1)) > 1e-12 {
		t.Errorf("measured here: %+v, %v", here, err)
	}
	if _, err := MeasureHere(back.Checkpoint, &fleet.Fleet{Devices: f.Devices[1:]}, []float64{9}); !errors.Is(err, ErrNoLocalDevice) {
		t.Errorf("no local device: %v", err)
	}
	var e *setting.Error
	if _, err := Train(context.Background(), net, key, 0, "", cfg, dir, train.Hooks{}); !errors.As(err, &e) || e.Name != "data" {
		t.Errorf("no data: %v", err)
	}
	wrong, _ := sp.Network(choice, space.Options{Resolution: 20, Channels: 1, Classes: 7})
	if _, err := Train(context.Background(), wrong, key, 0, data, cfg, t.TempDir(), train.Hooks{}); !errors.As(err, &e) || e.Name != "classes" {
		t.Errorf("7 classes for 4: %v", err)
	}
	cfg.Epochs = 0
	if _, err := Train(context.Background(), net, key, 0, data, cfg, dir, train.Hooks{}); !errors.As(err, &e) || e.Name != "train.epochs" {
		t.Errorf("0 epochs: %v", err)
	}
}

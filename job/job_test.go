package job

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/data"
)

func settings() Settings {
	return Settings{Space: "nb201", Fleet: "nb201-mobile", Accuracy: "table:cifar100", Metric: "max",
		Target: 0.85, Beta: -0.5, Reward: "abs", Algo: "evolution", Budget: 300, Seed: 7}
}

// TestExhaustiveOptimumFromCSV recomputes the exact optimum of the
// default benchmark straight from the shared CSV (accuracy and the six
// latency columns, ratios to the ResNet cell's row), independently of
// the fleet, metric, reward and search code.
func TestExhaustiveOptimumFromCSV(t *testing.T) {
	rows, err := csv.NewReader(bytes.NewReader(data.MustFile("nb201/nb201_multidevice.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	const resnet = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
	var ref []float64
	for _, r := range rows[1:] {
		if r[1] == resnet {
			for c := 5; c <= 10; c++ {
				v, _ := strconv.ParseFloat(r[c], 64)
				ref = append(ref, v)
			}
		}
	}
	best, bestKey := math.Inf(-1), ""
	for _, r := range rows[1:] {
		acc, _ := strconv.ParseFloat(r[3], 64) // acc_cifar100
		worst := 0.0
		for c := 5; c <= 10; c++ {
			v, _ := strconv.ParseFloat(r[c], 64)
			worst = math.Max(worst, v/ref[c-5])
		}
		if rw := acc/100 - 0.5*math.Abs(worst/0.85-1); rw > best {
			best, bestKey = rw, r[1]
		}
	}
	s := settings()
	s.Algo, s.Budget = "exhaustive", 15625
	o, err := Run(context.Background(), s, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(o.Chosen.Reward-best) > 1e-12 || o.Chosen.Key != bestKey {
		t.Errorf("exhaustive chose %s (%.6f), the CSV says %s (%.6f)", o.Chosen.Key, o.Chosen.Reward, bestKey, best)
	}
	if len(o.History) != 15625 {
		t.Errorf("%d evaluations", len(o.History))
	}
}

// TestSameSeedSameFiles: two runs with the same settings write identical
// result, history and pareto files.
func TestSameSeedSameFiles(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, d := range []string{a, b} {
		if _, err := Run(context.Background(), settings(), Options{Dir: d}); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"result.json", "history.csv", "pareto.csv", "report.html"} {
		x, _ := os.ReadFile(filepath.Join(a, f))
		y, _ := os.ReadFile(filepath.Join(b, f))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs with the same seed", f)
		}
	}
}

// TestInterruptAndResume cancels a run, resumes it and compares with an
// unbroken one (the SIGKILL version is in cmd/fleetnas).
func TestInterruptAndResume(t *testing.T) {
	whole := t.TempDir()
	if _, err := Run(context.Background(), settings(), Options{Dir: whole}); err != nil {
		t.Fatal(err)
	}
	broken := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	prog := &cancelAfter{n: 120, cancel: cancel}
	if _, err := Run(ctx, settings(), Options{Dir: broken, Progress: prog}); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("interrupted run: %v", err)
	}
	if _, err := Run(context.Background(), settings(), Options{Dir: broken}); err == nil {
		t.Fatal("a directory with a checkpoint was reused without --resume")
	}
	if _, err := Run(context.Background(), settings(), Options{Dir: broken, Resume: true}); err != nil {
		t.Fatal(err)
	}
	x, _ := os.ReadFile(filepath.Join(whole, "result.json"))
	y, _ := os.ReadFile(filepath.Join(broken, "result.json"))
	if !bytes.Equal(x, y) {
		t.Error("resumed result.json differs from the unbroken run's")
	}
	// Resuming with other settings is refused.
	other := settings()
	other.Seed = 8
	if _, err := Run(context.Background(), other, Options{Dir: broken, Resume: true}); err == nil || !strings.Contains(err.Error(), "other settings") {
		t.Errorf("settings mismatch: %v", err)
	}
}

type cancelAfter struct {
	n      int
	cancel func()
}

func (c *cancelAfter) Start(int, int) {}
func (c *cancelAfter) Set(done int, _ float64) {
	if done >= c.n {
		c.cancel()
	}
}
func (c *cancelAfter) Finish() {}

func TestBadSettings(t *testing.T) {
	cases := []struct {
		edit func(*Settings)
		want string
	}{
		{func(s *Settings) { s.Space = "darts" }, "unknown search space"},
		{func(s *Settings) { s.Fleet = "iphones" }, "unknown fleet"},
		{func(s *Settings) { s.Accuracy = "table:mnist" }, "unknown NAS-Bench-201 dataset"},
		{func(s *Settings) { s.Metric = "mean" }, "unknown metric"},
		{func(s *Settings) { s.Metric = "device:iphone" }, "no device \"iphone\""},
		{func(s *Settings) { s.Algo = "bayesopt" }, "bayesopt"},
		{func(s *Settings) { s.Reward = "lin" }, "unknown reward"},
		{func(s *Settings) { s.Beta = 0.5 }, "beta must be negative"},
		{func(s *Settings) { s.Target = 0 }, "target"},
		{func(s *Settings) { s.Budget = 0 }, "--budget"},
		{func(s *Settings) { s.Holdout = []string{"pixel3", "raspi4", "eyeriss", "fpga", "pixel2", "samsung_s7"} }, "no device to search on"},
		{func(s *Settings) { s.Holdout = []string{"iphone"} }, "--holdout"},
	}
	for _, c := range cases {
		s := settings()
		c.edit(&s)
		_, err := Open(s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", s, err, c.want)
		}
	}
	if _, err := Run(context.Background(), settings(), Options{Dir: t.TempDir(), Resume: true}); err == nil || !strings.Contains(err.Error(), "no checkpoint") {
		t.Errorf("resume without checkpoint: %v", err)
	}
	d := t.TempDir()
	os.WriteFile(filepath.Join(d, CheckpointFile), []byte(`{"format": "fleetnas.checkpoint/v1", "settings": {"space": "x"`), 0o644)
	if _, err := Run(context.Background(), settings(), Options{Dir: d, Resume: true}); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("corrupt checkpoint: %v", err)
	}
}

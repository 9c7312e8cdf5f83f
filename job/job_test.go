package job_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/data"
	"github.com/fleetnas/fleetnas/job"
	"github.com/fleetnas/fleetnas/metric"
	"github.com/fleetnas/fleetnas/results"
	"github.com/fleetnas/fleetnas/setting"
)

func settings() job.Settings {
	return job.Settings{Space: "nb201", Fleet: "nb201-mobile", Accuracy: "table:cifar100", Metric: metric.Metric{Kind: metric.KindMax},
		Target: 0.85, Beta: -0.5, Reward: "abs", Algo: "evolution", Budget: 300, Seed: 7}
}

// runAndWrite runs a search in dir and writes its files, as the command
// line does.
func runAndWrite(ctx context.Context, s job.Settings, o job.Options) (*job.Outcome, error) {
	out, err := job.Run(ctx, s, o)
	if err != nil {
		return nil, err
	}
	return out, results.Write(o.Dir, out)
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
	// Without a budget, exhaustive prices the whole space.
	s := settings()
	s.Algo, s.Budget = "exhaustive", 0
	o, err := job.Run(context.Background(), s, job.Options{Dir: t.TempDir()})
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
		if _, err := runAndWrite(context.Background(), settings(), job.Options{Dir: d}); err != nil {
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
	if _, err := runAndWrite(context.Background(), settings(), job.Options{Dir: whole}); err != nil {
		t.Fatal(err)
	}
	broken := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	prog := &cancelAfter{n: 120, cancel: cancel}
	var stopped *job.InterruptedError
	if _, err := job.Run(ctx, settings(), job.Options{Dir: broken, Progress: prog}); !errors.As(err, &stopped) || !errors.Is(err, context.Canceled) || stopped.Step != 120 {
		t.Fatalf("interrupted run: %v", err)
	}
	var exists *job.ExistsError
	if _, err := job.Run(context.Background(), settings(), job.Options{Dir: broken}); !errors.As(err, &exists) {
		t.Fatalf("a directory with a checkpoint was reused without Resume: %v", err)
	}
	if _, err := runAndWrite(context.Background(), settings(), job.Options{Dir: broken, Resume: true}); err != nil {
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
	if _, err := job.Run(context.Background(), other, job.Options{Dir: broken, Resume: true}); !isSetting(err, "resume") || !strings.Contains(err.Error(), "other settings") {
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

// isSetting reports whether err is about setting name.
func isSetting(err error, name string) bool {
	var e *setting.Error
	return errors.As(err, &e) && e.Name == name
}

func TestBadSettings(t *testing.T) {
	cases := []struct {
		edit    func(*job.Settings)
		setting string
		want    string
	}{
		{func(s *job.Settings) { s.Space = "darts" }, "space", "unknown search space"},
		{func(s *job.Settings) { s.Fleet = "iphones" }, "fleet", "unknown fleet"},
		{func(s *job.Settings) { s.Fleet = "" }, "fleet", "is required"},
		{func(s *job.Settings) { s.Accuracy = "table:mnist" }, "accuracy", "unknown NAS-Bench-201 dataset"},
		{func(s *job.Settings) { s.Metric = metric.Metric{} }, "metric", "no metric"},
		{func(s *job.Settings) { s.Metric = metric.Metric{Kind: metric.KindDevice, Device: "iphone"} }, "metric", "no device \"iphone\""},
		{func(s *job.Settings) { s.Algo = "bayesopt" }, "algo", "bayesopt"},
		{func(s *job.Settings) { s.Reward = "lin" }, "reward", "unknown reward"},
		{func(s *job.Settings) { s.Beta = 0.5 }, "beta", "must be negative"},
		{func(s *job.Settings) { s.Target = 0 }, "target", "positive"},
		{func(s *job.Settings) { s.Budget = -1 }, "budget", "positive"},
		{func(s *job.Settings) { s.Algo = "exhaustive"; s.Budget = 1000 }, "budget", "stop it early"},
		{func(s *job.Settings) { s.Space = "multihw"; s.Fleet = "mnv4" }, "accuracy", "holds the networks of space nb201"},
		{func(s *job.Settings) { s.Resolution = -1 }, "resolution", "positive"},
		{func(s *job.Settings) {
			s.Holdout = []string{"pixel3", "raspi4", "eyeriss", "fpga", "pixel2", "samsung_s7"}
		}, "holdout", "no device to search on"},
		{func(s *job.Settings) { s.Holdout = []string{"iphone"} }, "holdout", "iphone"},
		{func(s *job.Settings) { s.Accuracy = "supernet"; s.Algo = "evolution" }, "algo", "stale"},
	}
	for _, c := range cases {
		s := settings()
		c.edit(&s)
		_, err := job.Open(s)
		if !isSetting(err, c.setting) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error about %s saying %q", s, err, c.setting, c.want)
		}
	}
	if _, err := job.Run(context.Background(), settings(), job.Options{Dir: t.TempDir(), Resume: true}); !isSetting(err, "resume") || !strings.Contains(err.Error(), "no checkpoint") {
		t.Errorf("resume without checkpoint: %v", err)
	}
	d := t.TempDir()
	os.WriteFile(filepath.Join(d, job.CheckpointFile), []byte(`{"format": "fleetnas.checkpoint/v2", "settings": {"space": "x"`), 0o644)
	if _, err := job.Run(context.Background(), settings(), job.Options{Dir: d, Resume: true}); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("corrupt checkpoint: %v", err)
	}
	os.WriteFile(filepath.Join(d, job.CheckpointFile), []byte(`{"format": "fleetnas.checkpoint/v1"}`), 0o644)
	if _, err := job.Run(context.Background(), settings(), job.Options{Dir: d, Resume: true}); err == nil || !strings.Contains(err.Error(), "not a checkpoint this fleetnas reads") {
		t.Errorf("checkpoint of another format: %v", err)
	}
}

// TestFailureBeforeFirstStep: a search that fails before it has done a
// step leaves nothing behind, so the corrected command is not refused as
// "already holds a search"; one that fails later keeps its work.
func TestFailureBeforeFirstStep(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	s := settings()
	s.Accuracy = "command:false"
	if _, err := job.Run(context.Background(), s, job.Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "step 0") {
		t.Fatalf("failing accuracy program: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a search that failed at its first step left %s: %v", dir, err)
	}
	if _, err := job.Run(context.Background(), settings(), job.Options{Dir: dir}); err != nil {
		t.Fatalf("the corrected search: %v", err)
	}
	// A program that fails on its third network: two steps are done and
	// kept, and a resume with a working program continues from them.
	script := filepath.Join(t.TempDir(), "acc.sh")
	os.WriteFile(script, []byte("#!/bin/sh\nn=$(cat \"$0.count\" 2>/dev/null || echo 0)\necho $((n+1)) > \"$0.count\"\n[ $n -lt 2 ] || exit 3\necho 50\n"), 0o755)
	dir = filepath.Join(t.TempDir(), "run")
	s = settings()
	s.Accuracy, s.Budget = "command:"+script, 20
	if _, err := job.Run(context.Background(), s, job.Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "step 2") || !strings.Contains(err.Error(), "checkpoint saved") {
		t.Fatalf("program failing at its third network: %v", err)
	}
	os.WriteFile(script+".count", []byte("-100000"), 0o644)
	o, err := job.Run(context.Background(), s, job.Options{Dir: dir, Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.History) != s.Budget || o.History[0].Accuracy != 50 {
		t.Errorf("resumed search: %d records", len(o.History))
	}
	// An error in opening leaves no directory at all.
	dir2 := filepath.Join(t.TempDir(), "run")
	s = settings()
	s.Resolution = -5
	if _, err := job.Run(context.Background(), s, job.Options{Dir: dir2}); err == nil {
		t.Fatal("negative resolution accepted")
	}
	if _, err := os.Stat(dir2); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a search that failed to open left %s: %v", dir2, err)
	}
	if _, err := job.Run(context.Background(), settings(), job.Options{Dir: dir2}); err != nil {
		t.Errorf("the corrected search: %v", err)
	}
}

// TestDirName: the default output directory tells searches apart by
// space, fleet, accuracy source, metric, algorithm and seed, and holds no
// path separator whatever the settings say.
func TestDirName(t *testing.T) {
	d := job.DefaultSettings()
	if got := d.DirName(); got != "nb201-nb201-mobile-cifar100-max-evolution-seed1" {
		t.Errorf("main job: %s", got)
	}
	s := d
	s.Space, s.Fleet, s.Accuracy, s.Metric = "multihw", "examples/local-cpu/fleet.yaml", "supernet", metric.Metric{Kind: metric.KindDevice, Device: "pixel3"}
	if got := s.DirName(); got != "multihw-fleet-supernet-device_pixel3-tunas-seed1" {
		t.Errorf("supernet: %s", got)
	}
	s.Accuracy, s.Algo, s.Seed = "command:./bin/train.sh --epochs 3", "random", 9
	if got := s.DirName(); got != "multihw-fleet-cmd_train.sh-device_pixel3-random-seed9" {
		t.Errorf("command: %s", got)
	}
}

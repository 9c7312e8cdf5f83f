package job_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/internal/idxtest"
	"github.com/fleetnas/fleetnas/job"
	"github.com/fleetnas/fleetnas/metric"
	"github.com/fleetnas/fleetnas/oneshot"
	"github.com/fleetnas/fleetnas/price"
)

// cancelAt cancels a context once a run reports step n.
type cancelAt struct {
	n      int
	cancel context.CancelFunc
}

func (c *cancelAt) Start(int, int) {}
func (c *cancelAt) Set(done int, _ float64) {
	if done >= c.n {
		c.cancel()
	}
}
func (c *cancelAt) Finish() {}

func supernetSettings(data string) job.Settings {
	return job.Settings{Space: "multihw", Fleet: "ridgepoint", Accuracy: "supernet", Metric: metric.Metric{Kind: metric.KindAvg}, Target: 0.8,
		Beta: -0.5, Reward: "abs", Algo: "tunas", Budget: 16, Seed: 3, Data: "idx:" + data,
		Settings: oneshot.Settings{Batch: 8, ProxyWidth: 0.25, WeightsLR: 0.05}}
}

// TestSupernetSearch runs a small supernet search three times: straight
// through, interrupted at step 10 and resumed, and on one core; all write
// the same result.json and history.csv. The history has a record for each
// step after the warmup (a quarter of the budget), whose accuracy is a
// validation batch's and whose metric is that of the full-size network
// at the fleet's resolution, not of the proxy that trained.
func TestSupernetSearch(t *testing.T) {
	data := idxtest.Quadrants(t, 20, 96, 16)
	s := supernetSettings(data)
	dirA, dirB := t.TempDir(), t.TempDir()
	a, err := runAndWrite(context.Background(), s, job.Options{Dir: dirA})
	if err != nil {
		t.Fatal(err)
	}
	if want := s.Budget - s.Budget/4; len(a.History) != want {
		t.Errorf("%d history records, want %d (the steps after the warmup)", len(a.History), want)
	}
	for _, r := range a.History {
		if r.Accuracy < 0 || r.Accuracy > 100 || r.Accuracy != float64(int(r.Accuracy*8/100+0.5))*100/8 {
			t.Errorf("step %d: accuracy %v is not a share of a batch of 8", r.Step, r.Accuracy)
		}
	}
	// The metric is of the deployment network, which by default takes
	// the data's shape (20x20 grey images, 4 classes) at full width:
	// price that independently.
	ps := s.Pricing()
	ps.Resolution, ps.Channels, ps.Classes = 20, 1, 4
	p, err := price.Open(ps)
	if err != nil {
		t.Fatal(err)
	}
	c := a.Chosen
	want, err := p.Price(c.Choice)
	if err != nil {
		t.Fatal(err)
	}
	if want.Metric != c.Metric || want.Avg != c.Avg {
		t.Errorf("chosen metric %v, the full network at %d px has %v", c.Metric, p.Resolution(), want.Metric)
	}
	if got := a.Job.Pricer().Target(); got.Resolution != 20 || got.Channels != 1 || got.Classes != 4 {
		t.Errorf("deployment target %+v, want the data's 20 px, 1 channel, 4 classes", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = job.Run(ctx, s, job.Options{Dir: dirB, Progress: &cancelAt{n: 10, cancel: cancel}})
	var stopped *job.InterruptedError
	if !errors.As(err, &stopped) || !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	var exists *job.ExistsError
	if _, err := job.Run(context.Background(), s, job.Options{Dir: dirB}); !errors.As(err, &exists) {
		t.Fatalf("rerun without Resume over an unfinished search: %v", err)
	}
	if _, err := runAndWrite(context.Background(), s, job.Options{Dir: dirB, Resume: true}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"result.json", "history.csv"} {
		x, err1 := os.ReadFile(filepath.Join(dirA, f))
		y, err2 := os.ReadFile(filepath.Join(dirB, f))
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between the unbroken and the resumed run", f)
		}
	}
	// One core gives the same files as all of them.
	dirC := t.TempDir()
	prev := runtime.GOMAXPROCS(1)
	_, err = runAndWrite(context.Background(), s, job.Options{Dir: dirC})
	runtime.GOMAXPROCS(prev)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"result.json", "history.csv"} {
		x, _ := os.ReadFile(filepath.Join(dirA, f))
		y, _ := os.ReadFile(filepath.Join(dirC, f))
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between GOMAXPROCS=%d and 1", f, prev)
		}
	}
	// Only the latest weights file is kept.
	ws, _ := filepath.Glob(filepath.Join(dirB, "supernet-*.weights"))
	if len(ws) != 1 {
		t.Errorf("weights files left: %v", ws)
	}
}

// TestSupernetBadSettings: settings a supernet search cannot run are
// refused before anything trains, naming the setting.
func TestSupernetBadSettings(t *testing.T) {
	data := idxtest.Quadrants(t, 20, 96, 16)
	for _, c := range []struct {
		edit    func(*job.Settings)
		setting string
		want    string
	}{
		{func(s *job.Settings) { s.Data = "" }, "data", "images"},
		{func(s *job.Settings) { s.Algo = "evolution" }, "algo", "stale"},
		{func(s *job.Settings) { s.ProxyWidth = 1.5 }, "proxy_width", "(0, 1]"},
		{func(s *job.Settings) { s.Batch = 1 }, "batch", "at least 2"},
		{func(s *job.Settings) { s.WeightsLR = -1 }, "weights_lr", "positive"},
		{func(s *job.Settings) { s.Budget = 2 }, "budget", "at least 4"},
		{func(s *job.Settings) { s.Space = "nb201"; s.Fleet = "nb201-mobile" }, "", "multihw"},
		{func(s *job.Settings) { s.Data = "idx:" + filepath.Join(data, "missing") }, "data", "does not exist"},
		{func(s *job.Settings) { s.Batch = 64 }, "data", "fewer than a batch"},
	} {
		s := supernetSettings(data)
		c.edit(&s)
		dir := filepath.Join(t.TempDir(), "run")
		_, err := job.Run(context.Background(), s, job.Options{Dir: dir})
		if err == nil || !strings.Contains(err.Error(), c.want) || (c.setting != "" && !isSetting(err, c.setting)) {
			t.Errorf("%+v: error %v, want one about %q that mentions %q", s, err, c.setting, c.want)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a search refused at opening left %s behind", dir)
		}
	}
}

// TestSupernetCorruptWeights: a weights file that does not match its
// checkpoint is refused on resume.
func TestSupernetCorruptWeights(t *testing.T) {
	data := idxtest.Quadrants(t, 20, 96, 16)
	s := supernetSettings(data)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := job.Run(ctx, s, job.Options{Dir: dir, Progress: &cancelAt{n: 8, cancel: cancel}}); err == nil {
		t.Fatal("expected an interruption")
	}
	ws, _ := filepath.Glob(filepath.Join(dir, "supernet-*.weights"))
	if len(ws) != 1 {
		t.Fatalf("weights files: %v", ws)
	}
	b, _ := os.ReadFile(ws[0])
	b[len(b)/2] ^= 1
	os.WriteFile(ws[0], b, 0o644)
	if _, err := job.Run(context.Background(), s, job.Options{Dir: dir, Resume: true}); err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("resume over a corrupt weights file: %v", err)
	}
}

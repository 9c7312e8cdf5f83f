package job

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// writeIDX writes a file in the IDX format of MNIST (unsigned bytes).
func writeIDX(t *testing.T, path string, dims []int, data []byte) {
	t.Helper()
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// quadrantData writes a small IDX data set to a new directory: gray
// images of side res whose class (0..3) is the quadrant holding a bright
// square on a noisy background.
func quadrantData(t *testing.T, res, train, test int) string {
	t.Helper()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	split := func(n int) ([]byte, []byte) {
		px, lb := make([]byte, n*res*res), make([]byte, n)
		half := res / 2
		for i := range n {
			y := i % 4
			lb[i] = byte(y)
			img := px[i*res*res : (i+1)*res*res]
			for j := range img {
				img[j] = byte(r.IntN(80))
			}
			oy, ox := (y/2)*half+r.IntN(2), (y%2)*half+r.IntN(2)
			for a := range half - 2 {
				for b := range half - 2 {
					img[(oy+a)*res+ox+b] = byte(180 + r.IntN(70))
				}
			}
		}
		return px, lb
	}
	px, lb := split(train)
	writeIDX(t, filepath.Join(dir, "train-images-idx3-ubyte"), []int{train, res, res}, px)
	writeIDX(t, filepath.Join(dir, "train-labels-idx1-ubyte"), []int{train}, lb)
	px, lb = split(test)
	writeIDX(t, filepath.Join(dir, "t10k-images-idx3-ubyte"), []int{test, res, res}, px)
	writeIDX(t, filepath.Join(dir, "t10k-labels-idx1-ubyte"), []int{test}, lb)
	return dir
}

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

func supernetSettings(data string) Settings {
	return Settings{Space: "multihw", Fleet: "ridgepoint", Accuracy: SupernetAccuracy, Metric: "avg", Target: 0.8,
		Beta: -0.5, Reward: "abs", Algo: "tunas", Budget: 24, Seed: 3, Data: "idx:" + data, Batch: 8,
		ProxyWidth: 0.25, WeightsLR: 0.05}
}

// TestSupernetSearch runs a small supernet search three times: straight
// through, interrupted at step 14 and resumed, and on one core; all write
// the same result.json and history.csv. The history has a record for each
// step after the warmup (a quarter of the budget), whose accuracy is a
// validation batch's and whose metric is that of the full-size network
// at the fleet's resolution, not of the proxy that trained.
func TestSupernetSearch(t *testing.T) {
	data := quadrantData(t, 20, 96, 16)
	s := supernetSettings(data)
	dirA, dirB := t.TempDir(), t.TempDir()
	a, err := Run(context.Background(), s, Options{Dir: dirA})
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
	// The metric is of the deployment network: price it independently.
	j, err := Open(s)
	if err != nil {
		t.Fatal(err)
	}
	c := a.Chosen
	want, err := j.price(c.Key, c.Choice)
	if err != nil {
		t.Fatal(err)
	}
	if want.Metric != c.Metric || want.Avg != c.Avg {
		t.Errorf("chosen metric %v, the full network at %d px has %v", c.Metric, j.fleet.Resolution, want.Metric)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = Run(ctx, s, Options{Dir: dirB, Progress: &cancelAt{n: 14, cancel: cancel}})
	if err == nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("interrupted run: %v", err)
	}
	if _, err := Run(context.Background(), s, Options{Dir: dirB}); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("rerun without --resume over an unfinished search: %v", err)
	}
	if _, err := Run(context.Background(), s, Options{Dir: dirB, Resume: true}); err != nil {
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
	_, err = Run(context.Background(), s, Options{Dir: dirC})
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
// refused before anything trains, naming the flag.
func TestSupernetBadSettings(t *testing.T) {
	data := quadrantData(t, 20, 96, 16)
	for _, c := range []struct {
		edit func(*Settings)
		want string
	}{
		{func(s *Settings) { s.Data = "" }, "--data"},
		{func(s *Settings) { s.Algo = "evolution" }, "--algo"},
		{func(s *Settings) { s.ProxyWidth = 1.5 }, "--proxy-width"},
		{func(s *Settings) { s.Batch = 1 }, "--batch"},
		{func(s *Settings) { s.Budget = 2 }, "--budget"},
		{func(s *Settings) { s.Space = "nb201"; s.Fleet = "nb201-mobile" }, "multihw"},
		{func(s *Settings) { s.Data = "idx:" + filepath.Join(data, "missing") }, "does not exist"},
		{func(s *Settings) { s.Batch = 64 }, "fewer than a batch"},
	} {
		s := supernetSettings(data)
		c.edit(&s)
		_, err := Run(context.Background(), s, Options{Dir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one that mentions %q", s, err, c.want)
		}
	}
}

// TestSupernetCorruptWeights: a weights file that does not match its
// checkpoint is refused on resume.
func TestSupernetCorruptWeights(t *testing.T) {
	data := quadrantData(t, 20, 96, 16)
	s := supernetSettings(data)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := Run(ctx, s, Options{Dir: dir, Progress: &cancelAt{n: 10, cancel: cancel}}); err == nil {
		t.Fatal("expected an interruption")
	}
	ws, _ := filepath.Glob(filepath.Join(dir, "supernet-*.weights"))
	if len(ws) != 1 {
		t.Fatalf("weights files: %v", ws)
	}
	b, _ := os.ReadFile(ws[0])
	b[len(b)/2] ^= 1
	os.WriteFile(ws[0], b, 0o644)
	if _, err := Run(context.Background(), s, Options{Dir: dir, Resume: true}); err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("resume over a corrupt weights file: %v", err)
	}
}

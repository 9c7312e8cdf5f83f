package ort_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/internal/orttest"
	"github.com/fleetnas/fleetnas/onnx"
	"github.com/fleetnas/fleetnas/ort"
)

// TestSummarize checks the statistics against NumPy's on 1..10 ms:
// np.median = 5.5, np.percentile(x, 10) = 1.9, np.percentile(x, 90) = 9.1,
// np.std(x, ddof=1) / np.mean(x) = 3.02765 / 5.5.
func TestSummarize(t *testing.T) {
	var d []time.Duration
	for _, ms := range []int{7, 3, 10, 1, 5, 9, 2, 8, 4, 6} {
		d = append(d, time.Duration(ms)*time.Millisecond)
	}
	s, err := ort.Summarize(d)
	if err != nil {
		t.Fatal(err)
	}
	near := func(name string, got, want float64) {
		if math.Abs(got-want) > 1e-4 {
			t.Errorf("%s = %g, want %g", name, got, want)
		}
	}
	near("median", s.MedianMs, 5.5)
	near("p10", s.P10Ms, 1.9)
	near("p90", s.P90Ms, 9.1)
	near("mean", s.MeanMs, 5.5)
	near("cv", s.CV, 3.0276503540974917/5.5)
	if !s.Noisy() {
		t.Error("a 55% CV is not flagged noisy")
	}
	if _, err := ort.Summarize(nil); err == nil {
		t.Error("no runs: no error")
	}
}

func TestFindLibrary(t *testing.T) {
	dir := t.TempDir()
	_, err := ort.FindLibrary(filepath.Join(dir, "nope.so"))
	if !errors.Is(err, ort.ErrNotFound) || !strings.Contains(err.Error(), "npm pack onnxruntime-node@1.30.0") {
		t.Errorf("missing explicit library: %v", err)
	}
	if _, err := ort.FindLibrary(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
	lib := filepath.Join(dir, ort.LibraryName)
	if err := os.WriteFile(lib, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(ort.EnvLibrary, lib)
	if got, err := ort.FindLibrary(""); err != nil || got != lib {
		t.Errorf("from $%s: %q, %v", ort.EnvLibrary, got, err)
	}
	t.Setenv(ort.EnvLibrary, filepath.Join(dir, "gone.so"))
	if _, err := ort.FindLibrary(""); !errors.Is(err, ort.ErrNotFound) || !strings.Contains(err.Error(), "$"+ort.EnvLibrary) {
		t.Errorf("missing $%s library: %v", ort.EnvLibrary, err)
	}
}

// TestSessionRunsAndTimes runs a one-conv model whose output is known
// without any runtime: a 1x1 conv with weight 2 and no batch norm doubles
// its input.
func TestSessionRunsAndTimes(t *testing.T) {
	orttest.Runtime(t)
	net := &arch.Network{Format: arch.Format, Resolution: 4, InputChannels: 1, Blocks: []arch.Block{
		{Type: arch.Conv, Kernel: 1, Filters: 1, Activation: arch.Identity, BN: arch.Bool(false)},
	}}
	g, err := net.Lower(0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := onnx.Marshal(g, &onnx.Weights{Params: map[string][]float32{"0.conv.w": {2}}})
	if err != nil {
		t.Fatal(err)
	}
	in, out := onnx.Shapes(g)
	s, err := ort.NewSession(b, onnx.InputName, in, onnx.OutputName, out, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range s.Input() {
		s.Input()[i] = float32(i)
	}
	y, err := s.Run()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range y {
		if v != 2*float32(i) {
			t.Fatalf("output %d = %g, want %d", i, v, 2*i)
		}
	}
	tm, err := s.Time(2, 5)
	if err != nil {
		t.Fatal(err)
	}
	if tm.Runs != 5 || len(tm.Samples) != 5 || !(tm.MedianMs > 0) {
		t.Errorf("timing %+v", tm.Summary)
	}
	calls := 0
	cpu, err := s.TimeWith(ort.ThreadCPU, 0, 5, func() { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	if !(cpu.MedianMs > 0) || calls != 5 {
		t.Errorf("thread CPU timing %+v, %d calls before runs", cpu.Summary, calls)
	}
	if _, err := s.Time(0, 0); err == nil {
		t.Error("0 runs: no error")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(); err == nil {
		t.Error("run after close: no error")
	}
	if _, err := ort.NewSession([]byte("not onnx"), onnx.InputName, in, onnx.OutputName, out, ort.Options{}); err == nil {
		t.Error("garbage model: no error")
	}
}

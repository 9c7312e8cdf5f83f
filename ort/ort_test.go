package ort_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/internal/orttest"
	"github.com/fleetnas/fleetnas/onnx"
	"github.com/fleetnas/fleetnas/ort"
	"github.com/fleetnas/fleetnas/setting"
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
	// An explicit path is the caller's setting "library"; the error names
	// that, never a flag.
	var se *setting.Error
	_, err := ort.FindLibrary(filepath.Join(dir, "nope.so"))
	if !errors.Is(err, ort.ErrNotFound) || !strings.Contains(err.Error(), "npm pack onnxruntime-node@1.30.0") ||
		!errors.As(err, &se) || se.Name != "library" || strings.Contains(err.Error(), "--") {
		t.Errorf("missing explicit library: %v", err)
	}
	if _, err := ort.FindLibrary(dir); !errors.Is(err, ort.ErrNotFound) || !strings.Contains(err.Error(), "is a directory") ||
		!errors.As(err, &se) || se.Name != "library" {
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

// TestReadProfile reads a trace in the format ONNX Runtime writes: node
// events are assigned to the model run they fall in, other events are
// left out.
func TestReadProfile(t *testing.T) {
	trace := `[
{"cat":"Session","pid":1,"tid":1,"dur":500,"ts":10,"ph":"X","name":"model_loading_array","args":{}},
{"cat":"Session","pid":1,"tid":1,"dur":100,"ts":1000,"ph":"X","name":"model_run","args":{}},
{"cat":"Node","pid":1,"tid":1,"dur":40,"ts":1010,"ph":"X","name":"0.conv/Conv_0_kernel_time","args":{"op_name":"Conv"}},
{"cat":"Node","pid":1,"tid":1,"dur":3,"ts":1010,"ph":"X","name":"0.conv/Conv_0_fence_before","args":{"op_name":"Conv"}},
{"cat":"Node","pid":1,"tid":1,"dur":20,"ts":1060,"ph":"X","name":"t3_nchwc_kernel_time","args":{"op_name":"ReorderOutput"}},
{"cat":"Session","pid":1,"tid":1,"dur":90,"ts":2000,"ph":"X","name":"model_run","args":{}},
{"cat":"Node","pid":1,"tid":1,"dur":35,"ts":2005,"ph":"X","name":"0.conv/Conv_0_kernel_time","args":{"op_name":"Conv"}}
]`
	path := filepath.Join(t.TempDir(), "p_2026.json")
	if err := os.WriteFile(path, []byte(trace), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ort.ReadProfile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []ort.NodeTime{{"0.conv/Conv_0", "Conv", 0, 40}, {"t3_nchwc", "ReorderOutput", 0, 20}, {"0.conv/Conv_0", "Conv", 1, 35}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"not":"a trace"}`), 0o644)
	if _, err := ort.ReadProfile(bad); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("an object instead of a trace: %v", err)
	}
	stray := filepath.Join(t.TempDir(), "stray.json")
	os.WriteFile(stray, []byte(`[{"cat":"Node","dur":1,"ts":5,"name":"x_kernel_time"}]`), 0o644)
	if _, err := ort.ReadProfile(stray); err == nil || !strings.Contains(err.Error(), "outside every model run") {
		t.Errorf("a node outside runs: %v", err)
	}
}

// TestSessionProfile runs a model with ONNX Runtime's profiler on and
// finds fleetnas's layer names in the node times it wrote.
func TestSessionProfile(t *testing.T) {
	orttest.Runtime(t)
	net := &arch.Network{Format: arch.Format, Resolution: 8, InputChannels: 8, Blocks: []arch.Block{
		{Type: arch.Conv, Kernel: 3, Filters: 16, Activation: arch.ReLU},
		{Type: arch.Conv, Kernel: 1, Filters: 8, Activation: arch.ReLU},
	}}
	g, err := net.Lower(0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := onnx.Marshal(g, onnx.GraphWeights(g, 1))
	if err != nil {
		t.Fatal(err)
	}
	in, out := onnx.Shapes(g)
	s, err := ort.NewSession(b, onnx.InputName, in, onnx.OutputName, out, ort.Options{Threads: 1, ProfilePrefix: filepath.Join(t.TempDir(), "prof")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Time(1, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	nodes, err := ort.ReadProfile(s.ProfileFile())
	if err != nil {
		t.Fatal(err)
	}
	// Nodes keep fleetnas's names, "layer/Op_index"; those converted to
	// NCHWc are named after their output tensor, "layer_nchwc".
	runs, layers := map[int]bool{}, map[string]bool{}
	for _, n := range nodes {
		runs[n.Run] = true
		for _, l := range g.Layers {
			if strings.HasPrefix(n.Node, l.Name+"/") || n.Node == l.Name+"_nchwc" {
				layers[l.Name] = true
			}
		}
	}
	if len(runs) != 4 || len(layers) == 0 {
		t.Errorf("%d runs (want 4: 1 warm-up, 3 timed), layers %v in %+v", len(runs), layers, nodes)
	}
}

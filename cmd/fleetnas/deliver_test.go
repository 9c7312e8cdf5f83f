package main

import (
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/cost"
	"github.com/fleetnas/fleetnas/internal/orttest"
	"github.com/fleetnas/fleetnas/nn"
	"github.com/fleetnas/fleetnas/onnx"
	"github.com/fleetnas/fleetnas/ort"
	"github.com/fleetnas/fleetnas/train"
)

// writeFolder writes an image folder data set: 32x32 RGB PNGs of 5
// classes, class k a bright square of colour k in one of the corners or
// the centre, on noise.
func writeFolder(t *testing.T, dir string, perClass map[string]int) {
	t.Helper()
	r := rand.New(rand.NewPCG(4, 4))
	colours := []color.RGBA{{220, 40, 40, 255}, {40, 220, 40, 255}, {40, 40, 220, 255}, {220, 220, 40, 255}, {220, 40, 220, 255}}
	corners := [][2]int{{2, 2}, {18, 2}, {2, 18}, {18, 18}, {10, 10}}
	for split, n := range perClass {
		for k := range 5 {
			d := filepath.Join(dir, split, "class"+string(rune('a'+k)))
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			for i := range n {
				img := image.NewRGBA(image.Rect(0, 0, 32, 32))
				for p := range img.Pix {
					img.Pix[p] = uint8(r.IntN(60))
				}
				for y := range 12 {
					for x := range 12 {
						img.Set(corners[k][0]+x, corners[k][1]+y, colours[k])
					}
				}
				f, err := os.Create(filepath.Join(d, string(rune('a'+i%26))+string(rune('a'+i/26))+".png"))
				if err != nil {
					t.Fatal(err)
				}
				if err := png.Encode(f, img); err != nil {
					t.Fatal(err)
				}
				f.Close()
			}
		}
	}
}

// TestSearchShipsThePricedNetwork is the deliverable end to end: a
// supernet search on an image folder (3 channels, 5 classes, 32 px) with
// --train-epochs 1 leaves model.onnx in its directory, which takes
// [1,3,32,32], gives 5 outputs, runs in ONNX Runtime as the Go engine
// runs the trained checkpoint, and is the very network result.json
// priced (same MACs and parameters). It trains for about 7 s, ten times
// that under the race detector, so it skips there; CI runs it in a plain
// `go test` step (the race detector covers the loop, the supernet and
// stand-alone training in their own packages).
func TestSearchShipsThePricedNetwork(t *testing.T) {
	if raceEnabled {
		t.Skip("trains a supernet and a network: run without -race")
	}
	data := t.TempDir()
	writeFolder(t, data, map[string]int{"train": 24, "test": 4})
	out := filepath.Join(t.TempDir(), "run")
	stdout, _, err := run(t, "search", "--space", "multihw", "--fleet", "mnv4", "--metric", "avg", "--target", "0.05",
		"--accuracy", "supernet", "--data", "folder:"+data, "--budget", "12", "--batch", "8", "--train-epochs", "1", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"deployment: 32x32x3, 5 classes", "stand-alone test accuracy", "model.onnx"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the summary does not say %q:\n%s", want, stdout)
		}
	}
	var res struct {
		Deployment struct{ Resolution, Channels, Classes int }
		Chosen     struct{ Network json.RawMessage }
	}
	b, err := os.ReadFile(filepath.Join(out, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if d := res.Deployment; d.Resolution != 32 || d.Channels != 3 || d.Classes != 5 {
		t.Errorf("deployment %+v, want 32 px, 3 channels, 5 classes", d)
	}
	priced, err := arch.Decode(res.Chosen.Network, "result.json")
	if err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(out, "standalone", "checkpoint.json")
	shipped, w, err := onnx.LoadCheckpoint(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	a, err := cost.Network(priced, 0, cost.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cost.Network(shipped, 0, cost.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.MACs != c.MACs || a.Params != c.Params {
		t.Errorf("priced %d MACs %d params, shipped %d MACs %d params", a.MACs, a.Params, c.MACs, c.Params)
	}
	g, err := shipped.Lower(0)
	if err != nil {
		t.Fatal(err)
	}
	in, o := onnx.Shapes(g)
	if want := []int64{1, 3, 32, 32}; !slices.Equal(in, want) || !slices.Equal(o, []int64{1, 5}) {
		t.Errorf("model.onnx takes %v and gives %v", in, o)
	}
	model, err := os.ReadFile(filepath.Join(out, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if exported, err := onnx.Marshal(g, w); err != nil || string(exported) != string(model) {
		t.Errorf("model.onnx is not the export of the trained checkpoint (%v)", err)
	}
	// The ONNX checker accepts it.
	py := orttest.Python(t)
	if out, err := exec.Command(py, "-c", "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)", filepath.Join(out, "model.onnx")).CombinedOutput(); err != nil {
		t.Errorf("onnx checker: %v\n%s", err, out)
	}
	// ONNX Runtime against the Go engine on the same input.
	orttest.Runtime(t)
	s, err := ort.NewSession(model, onnx.InputName, in, onnx.OutputName, o, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m, _, err := train.Load(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	x := nn.NewTensor(1, 32, 32, 3)
	r := rand.New(rand.NewPCG(5, 5))
	for i := range x.Data {
		x.Data[i] = float32(r.Float64())
	}
	nchw := s.Input()
	for h := range 32 {
		for w := range 32 {
			for ch := range 3 {
				nchw[(ch*32+h)*32+w] = x.Data[(h*32+w)*3+ch]
			}
		}
	}
	got, err := s.Run()
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Forward(x, false)
	if err != nil {
		t.Fatal(err)
	}
	var diff, scale float64
	for i, v := range want.Data {
		diff = math.Max(diff, math.Abs(float64(got[i]-v)))
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	if diff > 1e-4*math.Max(1, scale) {
		t.Errorf("ONNX Runtime and the Go engine differ by %g (outputs up to %g)", diff, scale)
	}
}

// TestLatencyTakesTheTarget: latency prices a space member at the
// classes and channels asked, like a search's deployment target; fewer
// classes mean a smaller classifier and less latency on every device.
func TestLatencyTakesTheTarget(t *testing.T) {
	price := func(extra ...string) []float64 {
		t.Helper()
		args := append([]string{"latency", "--fleet", "ridgepoint", "--space", "multihw", "--choice",
			"32:skip/32:k3e3,k3e2,skip,skip/64:k5e5,k3e3,k3e2,k3e3/128:k5e6,k3e3,k3e3,k3e3/160:k3e6,k3e4,skip,skip/192:k3e6,k5e4,k5e4,k5e4", "--json"}, extra...)
		out, _, err := run(t, args...)
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Devices []struct {
				LatencyMS float64 `json:"latency_ms"`
			}
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		var ms []float64
		for _, d := range r.Devices {
			ms = append(ms, d.LatencyMS)
		}
		return ms
	}
	full, five := price(), price("--classes", "5")
	for i := range full {
		if !(five[i] < full[i]) {
			t.Errorf("device %d: %v ms with 5 classes, %v with 1000", i, five[i], full[i])
		}
	}
}

// TestFailedRunsBlockNothing: the two failing searches of issue 12 (no
// accuracy source for multihw; an impossible resolution) write nothing,
// and the corrected command then runs in the same directory.
func TestFailedRunsBlockNothing(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"search", "--space", "multihw", "--fleet", "mnv4"}, "--accuracy: table:cifar100 holds the networks of space nb201"},
		{[]string{"search", "--resolution", "100000"}, "--resolution:"},
	} {
		_, _, err := run(t, append(c.args, "--out", out)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Fatalf("%v left %s behind", c.args, out)
		}
	}
	if _, _, err := run(t, "search", "--budget", "50", "--out", out); err != nil {
		t.Errorf("the corrected search: %v", err)
	}
}

// TestRequireFeasible: a search whose chosen network misses the target
// says so, and with --require-feasible fails after writing its files.
func TestRequireFeasible(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	stdout, _, err := run(t, "search", "--reward", "hard", "--target", "0.2", "--budget", "50", "--out", out)
	if err != nil || !strings.Contains(stdout, "target missed: MAX") {
		t.Fatalf("%v\n%s", err, stdout)
	}
	_, _, err = run(t, "search", "--reward", "hard", "--target", "0.2", "--budget", "50", "--out", out, "--require-feasible")
	if err == nil || !strings.Contains(err.Error(), "--require-feasible: target missed") {
		t.Errorf("--require-feasible: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "result.json")); err != nil {
		t.Error(err)
	}
	if _, _, err := run(t, "search", "--reward", "hard", "--target", "10", "--budget", "50", "--out", filepath.Join(t.TempDir(), "r"), "--require-feasible"); err != nil {
		t.Errorf("a target every network meets: %v", err)
	}
}

// TestSearchMeasuresHere: with a device profiled on this machine in the
// fleet (a per-op table of the fbnet space at the deployment target:
// 32 px, 3 channels, 5 classes), a search with --train-epochs measures
// its model.onnx here and sets the measurement next to the device's
// prediction, in the summary, standalone.json and the report. Like
// TestSearchShipsThePricedNetwork it trains, so it skips under -race.
func TestSearchMeasuresHere(t *testing.T) {
	if raceEnabled {
		t.Skip("trains a network: run without -race")
	}
	orttest.Runtime(t)
	dir := t.TempDir()
	fast := []string{"--runs", "3", "--warmup", "1", "--min-time-ms", "0", "--quiet", "0", "--flush-mb", "0", "--check-samples", "0"}
	table := filepath.Join(dir, "local.csv")
	if _, _, err := run(t, append([]string{"profile", "--space", "fbnet", "--resolution", "32", "--classes", "5", "--out", table}, fast...)...); err != nil {
		t.Fatal(err)
	}
	fleetFile := filepath.Join(dir, "fleet.yaml")
	os.WriteFile(fleetFile, []byte(`name: here
resolution: 32
devices:
  - name: local
    kind: lut
    table: local.csv
    reference: {target_ms: 1}
`), 0o644)
	data := filepath.Join(dir, "images")
	writeFolder(t, data, map[string]int{"train": 16, "test": 4})
	acc := filepath.Join(dir, "acc.sh")
	os.WriteFile(acc, []byte("#!/bin/sh\nprintf '%s' \"$FLEETNAS_CHOICE\" | cksum | awk '{print ($1 % 5000) / 100 + 40}'\n"), 0o755)
	out := filepath.Join(dir, "run")
	stdout, _, err := run(t, "search", "--space", "fbnet", "--fleet", fleetFile, "--metric", "max", "--target", "1",
		"--accuracy", "command:"+acc, "--data", "folder:"+data, "--budget", "5", "--train-epochs", "1", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "measured here for local:") {
		t.Errorf("no measurement here in the summary:\n%s", stdout)
	}
	var sa struct {
		Here []struct {
			Device      string
			PredictedMS float64 `json:"predicted_ms"`
			MeasuredMS  float64 `json:"measured_ms"`
		} `json:"measured_here"`
	}
	b, err := os.ReadFile(filepath.Join(out, "standalone.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sa); err != nil || len(sa.Here) != 1 || sa.Here[0].Device != "local" || !(sa.Here[0].PredictedMS > 0) || !(sa.Here[0].MeasuredMS > 0) {
		t.Errorf("standalone.json: %s (%v)", b, err)
	}
	page, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil || !strings.Contains(string(page), "measured here (local)") {
		t.Errorf("the report does not show the measurement (%v)", err)
	}
}

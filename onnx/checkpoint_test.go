package onnx_test

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/dataset"
	"github.com/fleetnas/fleetnas/internal/orttest"
	"github.com/fleetnas/fleetnas/onnx"
	"github.com/fleetnas/fleetnas/train"
	"github.com/fleetnas/fleetnas/zoo"
)

// everyKind uses every block kind and activation the exporter writes
// (all but mhsa), with grouped and biased convs, both SE gates, a
// channel shuffle, layer scale, NAS-Bench-201 pools and zero edges, and a
// classifier with an activation followed by another.
func everyKind() *arch.Network {
	return &arch.Network{Format: arch.Format, Name: "every-kind", Resolution: 16, Blocks: []arch.Block{
		{Type: arch.Conv, Kernel: 3, Stride: 2, Filters: 16, Activation: arch.HSwish},
		{Type: arch.Conv, Kernel: 3, Filters: 16, Groups: 2, Activation: arch.ReLU6, Bias: arch.Bool(true)},
		{Type: arch.Conv, Kernel: 1, Filters: 16, Activation: arch.GELU, BN: arch.Bool(false), Bias: arch.Bool(true)},
		{Type: arch.DWSep, Kernel: 3, Filters: 16, Activation: arch.ReLU, Residual: arch.Bool(true)},
		{Type: arch.IBN, Kernel: 5, Filters: 16, Expansion: 3, SERatio: 0.25, Activation: arch.HSwish},
		{Type: arch.IBN, Kernel: 3, Filters: 16, Expansion: 1, ExpandAlways: true, Groups: 2, Activation: arch.ReLU},
		{Type: arch.FusedIBN, Kernel: 3, Stride: 2, Filters: 24, Expansion: 2, SERatio: 0.25, SEGate: arch.Sigmoid, Activation: arch.Swish},
		{Type: arch.Tucker, Kernel: 3, Filters: 24, InputRatio: 0.25, OutputRatio: 0.75, Activation: arch.ReLU},
		{Type: arch.UIB, Filters: 24, Expansion: 2, StartDW: 3, MiddleDW: 5, EndDW: 3, LayerScale: true, Activation: arch.ReLU},
		{Type: arch.UIB, Stride: 2, Filters: 32, Expansion: 2, StartDW: 3, StartDWDownsample: true, Activation: arch.ReLU6},
		{Type: arch.Cell, Ops: []string{"nor_conv_3x3", "avg_pool_3x3", "skip_connect", "nor_conv_1x1", "none", "avg_pool_3x3"}},
		{Type: arch.ResBasic, Stride: 2, Filters: 32},
		{Type: arch.BatchNorm, Activation: arch.ReLU},
		{Type: arch.GlobalPool},
		{Type: arch.FC, Filters: 16, Activation: arch.ReLU},
		{Type: arch.FC, Filters: 4},
	}}
}

// synthetic is a learnable 4-class data set: the class brightens one
// quadrant of the image.
func synthetic(res, n int, seed uint64) *dataset.Dataset {
	r := rand.New(rand.NewPCG(seed, 2))
	split := func(n int) *dataset.Split {
		s := &dataset.Split{H: res, W: res, C: 3, Pixels: make([]uint8, n*res*res*3), Labels: make([]int, n)}
		for i := range n {
			c := r.IntN(4)
			s.Labels[i] = c
			for y := range res {
				for x := range res {
					for ch := range 3 {
						v := 60 + r.IntN(80)
						if (y*2/res)*2+x*2/res == c {
							v += 100
						}
						s.Pixels[((i*res+y)*res+x)*3+ch] = uint8(v)
					}
				}
			}
		}
		return s
	}
	return &dataset.Dataset{Name: "synthetic", Classes: []string{"a", "b", "c", "d"}, Train: split(n), Test: split(8), H: res, W: res, C: 3}
}

// trainedCheckpoint trains net briefly and returns the checkpoint path.
// Small batches and a small learning rate give the batch norms ~30
// updates of their moving statistics (momentum 0.9) on stable weights, so
// that the statistics match the activations and the evaluation forward
// pass stays well scaled, as in a trained network.
func trainedCheckpoint(t *testing.T, net *arch.Network, res, images, batch int) string {
	t.Helper()
	if res == 0 {
		res = net.Resolution
	}
	m, err := train.Build(net, res, 3)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := train.Config{Epochs: 2, Batch: batch, LR: 1e-3, Optimizer: "sgd", Seed: 3}
	if _, err := train.Run(context.Background(), m, synthetic(res, images, 5), cfg, dir, train.Hooks{}); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "checkpoint.json")
}

// checkCheckpoint exports a checkpoint and compares ONNX Runtime with the
// engine's evaluation forward pass of the same checkpoint.
func checkCheckpoint(t *testing.T, path string, abs, rel float64) {
	t.Helper()
	net, w, err := onnx.LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := train.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	g, err := net.Lower(0)
	if err != nil {
		t.Fatal(err)
	}
	x := randomInput(rand.New(rand.NewPCG(9, 9)), g.Tensors[0])
	want, err := m.Forward(x, false)
	if err != nil {
		t.Fatal(err)
	}
	got := runORT(t, g, w, x)
	d, s := compare(t, got, want.Data)
	t.Logf("%s: max |ORT - Go| = %.3g (max |output| %.3g)", net.Name, d, s)
	if tol := math.Max(abs, rel*s); !(d <= tol) {
		t.Errorf("max |ORT - Go| = %g, want <= %g", d, tol)
	}
}

func TestCheckpointParityEveryKind(t *testing.T) {
	orttest.Runtime(t)
	checkCheckpoint(t, trainedCheckpoint(t, everyKind(), 0, 32, 2), 1e-4, 0)
}

// TestCheckpointParityZoo trains every exportable zoo model briefly at
// 64 px and checks the trained export to 1e-4. It takes about 100 s (half
// of it MobileNetV4ConvLarge), far more under the race detector, so it
// skips there and in -short mode; CI runs it in a plain `go test` step.
func TestCheckpointParityZoo(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("trains every zoo model: run without -race and -short")
	}
	orttest.Runtime(t)
	z, err := zoo.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range z.Names() {
		net, err := z.Build(name, zoo.Options{Resolution: 64, Classes: 4})
		if err != nil {
			t.Fatal(err)
		}
		if hasAttention(net) {
			continue
		}
		t.Run(name, func(t *testing.T) { checkCheckpoint(t, trainedCheckpoint(t, net, 0, 48, 8), 1e-4, 0) })
	}
}

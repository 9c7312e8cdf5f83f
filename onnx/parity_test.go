package onnx_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/internal/orttest"
	"github.com/fleetnas/fleetnas/nn"
	"github.com/fleetnas/fleetnas/onnx"
	"github.com/fleetnas/fleetnas/ort"
	"github.com/fleetnas/fleetnas/train"
	"github.com/fleetnas/fleetnas/zoo"
)

// randomInput draws an NHWC batch-1 input.
func randomInput(r *rand.Rand, s arch.Shape) *nn.Tensor {
	x := nn.NewTensor(1, s.H, s.W, s.C)
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	return x
}

// runORT exports g with w, runs it in ONNX Runtime on x (NHWC) and
// returns the output in the engine's NHWC order.
func runORT(t *testing.T, g *arch.Graph, w *onnx.Weights, x *nn.Tensor) []float32 {
	t.Helper()
	b, err := onnx.Marshal(g, w)
	if err != nil {
		t.Fatal(err)
	}
	inShape, outShape := onnx.Shapes(g)
	s, err := ort.NewSession(b, onnx.InputName, inShape, onnx.OutputName, outShape, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in := s.Input()
	H, W, C := x.H, x.W, x.C
	for h := range H {
		for w := range W {
			for c := range C {
				in[(c*H+h)*W+w] = x.Data[(h*W+w)*C+c]
			}
		}
	}
	out, err := s.Run()
	if err != nil {
		t.Fatal(err)
	}
	o := g.Output()
	res := make([]float32, len(out))
	for h := range o.H {
		for w := range o.W {
			for c := range o.C {
				res[(h*o.W+w)*o.C+c] = out[(c*o.H+h)*o.W+w]
			}
		}
	}
	return res
}

// compare returns the largest absolute difference and the largest
// absolute value of want.
func compare(t *testing.T, got, want []float32) (maxDiff, scale float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("output has %d values, the engine's %d", len(got), len(want))
	}
	for i := range got {
		maxDiff = math.Max(maxDiff, math.Abs(float64(got[i]-want[i])))
		scale = math.Max(scale, math.Abs(float64(want[i])))
	}
	return maxDiff, scale
}

// perturbBN gives every batch norm and layer scale a non-trivial scale and
// shift, so that folding them into the convolutions is really tested.
func perturbBN(m *train.Model, r *rand.Rand) {
	for _, p := range m.Params() {
		switch {
		case strings.HasSuffix(p.Name, ".bn.gamma"), strings.HasSuffix(p.Name, "layer_scale.gamma"):
			for i := range p.Data {
				p.Data[i] = float32(0.5 + r.Float64())
			}
		case strings.HasSuffix(p.Name, ".bn.beta"), strings.HasSuffix(p.Name, ".b"):
			for i := range p.Data {
				p.Data[i] = float32(0.2 * r.NormFloat64())
			}
		}
	}
}

// TestZooParity exports every zoo model with random weights and checks
// ONNX Runtime's output against the Go engine's evaluation forward pass.
// 96 px keeps the engine's forward passes short; every layer is the same
// at any resolution. It skips under the race detector (no concurrency
// here, four times slower there); CI runs it in a plain `go test` step.
func TestZooParity(t *testing.T) {
	if raceEnabled {
		t.Skip("slow under -race; run without it")
	}
	orttest.Runtime(t)
	z, err := zoo.New()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(6, 1))
	for _, name := range z.Names() {
		t.Run(name, func(t *testing.T) {
			net, err := z.Build(name, zoo.Options{Resolution: 96})
			if err != nil {
				t.Fatal(err)
			}
			g, err := net.Lower(0)
			if err != nil {
				t.Fatal(err)
			}
			if hasAttention(net) {
				// The engine cannot run attention: check that ONNX Runtime
				// runs the export to a finite output (attention itself is
				// checked against NumPy in TestAttentionAgainstNumPy).
				w, err := onnx.RandomWeights(net, 0, 7)
				if err != nil {
					t.Fatal(err)
				}
				out := runORT(t, g, w, randomInput(r, g.Tensors[0]))
				for i, v := range out {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						t.Fatalf("output %d is %g", i, v)
					}
				}
				return
			}
			m, err := train.Build(net, 0, 7)
			if err != nil {
				t.Fatal(err)
			}
			perturbBN(m, r)
			x := randomInput(r, g.Tensors[0])
			want, err := m.Forward(x, false)
			if err != nil {
				t.Fatal(err)
			}
			got := runORT(t, g, onnx.ModelWeights(m), x)
			d, s := compare(t, got, want.Data)
			t.Logf("%s: max |ORT - Go| = %.3g (max |output| %.3g)", name, d, s)
			if d > 1e-4*math.Max(1, s) {
				t.Errorf("max |ORT - Go| = %g over outputs up to %g", d, s)
			}
		})
	}
}

func hasAttention(n *arch.Network) bool {
	for _, b := range n.Blocks {
		if b.Type == arch.MHSA {
			return true
		}
	}
	return false
}

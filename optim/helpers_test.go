package optim

import (
	"math"
	"testing"

	"github.com/fleetnas/fleetnas/nn"
)

// twoParams is the tiny problem of the hand-computed tests:
//
//	L(a, b) = a*a/2 + b*b,  dL/da = a,  dL/db = 2b,  a0 = 1, b0 = -2
//
// a and b are separate Params so each has its own slots, and the two
// curvatures keep b from being a scaled copy of a.
func twoParams() []*nn.Param {
	return []*nn.Param{
		{Name: "a", Data: []float32{1}, Grad: []float32{0}},
		{Name: "b", Data: []float32{-2}, Grad: []float32{0}},
	}
}

// twoParamsGrad fills the gradients of L at the current values.
func twoParamsGrad(ps []*nn.Param) {
	ps[0].Grad[0] = ps[0].Data[0]
	ps[1].Grad[0] = 2 * ps[1].Data[0]
}

// near reports whether got is within a float32-sized tolerance of want.
func near(got float32, want float64) bool {
	return math.Abs(float64(got)-want) <= 2e-6*math.Max(1, math.Abs(want))
}

// checkSteps runs the hand-computed trajectory: want[k] = {a, b} after
// step k+1, at learning rate lr.
func checkSteps(t *testing.T, o Optimizer, lr float64, want [][2]float64) {
	t.Helper()
	ps := twoParams()
	for k, w := range want {
		twoParamsGrad(ps)
		if err := o.Step(ps, lr); err != nil {
			t.Fatalf("step %d: %v", k+1, err)
		}
		if !near(ps[0].Data[0], w[0]) || !near(ps[1].Data[0], w[1]) {
			t.Fatalf("%s step %d: (a, b) = (%.9g, %.9g), want (%.9g, %.9g)",
				o.Name(), k+1, ps[0].Data[0], ps[1].Data[0], w[0], w[1])
		}
	}
}

func mustSGD(t testing.TB, c SGDConfig) *SGD {
	t.Helper()
	o, err := NewSGD(c)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func mustRMSProp(t testing.TB, c RMSPropConfig) *RMSProp {
	t.Helper()
	o, err := NewRMSProp(c)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func mustAdam(t testing.TB, c AdamConfig) *Adam {
	t.Helper()
	o, err := NewAdam(c)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

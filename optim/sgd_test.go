package optim

import (
	"testing"

	"github.com/fleetnas/fleetnas/nn"
)

// Keras momentum, lr 0.1, momentum 0.9, on L = a²/2 + b² from (1, -2):
//
//	a: g=1      v = -0.1*1              = -0.1    a = 0.9
//	   g=0.9    v = 0.9*-0.1 - 0.09     = -0.18   a = 0.72
//	   g=0.72   v = 0.9*-0.18 - 0.072   = -0.234  a = 0.486
//	b: g=-4     v = 0.4                           b = -1.6
//	   g=-3.2   v = 0.9*0.4 + 0.32      = 0.68    b = -0.92
//	   g=-1.84  v = 0.9*0.68 + 0.184    = 0.796   b = -0.124
func TestSGDMomentumFirstSteps(t *testing.T) {
	o := mustSGD(t, SGDConfig{Momentum: 0.9})
	checkSteps(t, o, 0.1, [][2]float64{{0.9, -1.6}, {0.72, -0.92}, {0.486, -0.124}})
}

// Keras Nesterov: v = m*v - lr*g; w += m*v - lr*g (new v).
//
//	a: g=1       v = -0.1                          a = 1 - 0.09 - 0.1          = 0.81
//	   g=0.81    v = -0.09 - 0.081     = -0.171    a = 0.81 - 0.1539 - 0.081   = 0.5751
//	   g=0.5751  v = -0.1539 - 0.05751 = -0.21141  a = 0.5751 - 0.190269 - 0.05751 = 0.327321
//	b: g=-4      v = 0.4                           b = -2 + 0.36 + 0.4         = -1.24
//	   g=-2.48   v = 0.36 + 0.248      = 0.608     b = -1.24 + 0.5472 + 0.248  = -0.4448
//	   g=-0.8896 v = 0.5472 + 0.08896  = 0.63616   b = -0.4448 + 0.572544 + 0.08896 = 0.216704
func TestSGDNesterovFirstSteps(t *testing.T) {
	o := mustSGD(t, SGDConfig{Momentum: 0.9, Nesterov: true})
	checkSteps(t, o, 0.1, [][2]float64{{0.81, -1.24}, {0.5751, -0.4448}, {0.327321, 0.216704}})
}

// Without momentum SGD is w -= lr*g: a = 1 - 0.1 = 0.9, 0.81, 0.729;
// b = -2 + 0.4 = -1.6, -1.6 + 0.32 = -1.28, -1.28 + 0.256 = -1.024.
func TestSGDPlainFirstSteps(t *testing.T) {
	o := mustSGD(t, SGDConfig{})
	checkSteps(t, o, 0.1, [][2]float64{{0.9, -1.6}, {0.81, -1.28}, {0.729, -1.024}})
}

// The convention matters when lr changes. Constant gradient 1, momentum
// 0.9, lr 0.1 then 0.05, from w = 1:
//
//	Keras:   v = -0.1, w = 0.9;  v = -0.09 - 0.05 = -0.14, w = 0.76
//	PyTorch: buf = 1, w = 0.9;   buf = 1.9, w = 0.9 - 0.05*1.9 = 0.805
func TestSGDLearningRateChangeFollowsKeras(t *testing.T) {
	o := mustSGD(t, SGDConfig{Momentum: 0.9})
	p := &nn.Param{Name: "w", Data: []float32{1}, Grad: []float32{1}}
	for _, lr := range []float64{0.1, 0.05} {
		if err := o.Step([]*nn.Param{p}, lr); err != nil {
			t.Fatal(err)
		}
	}
	if !near(p.Data[0], 0.76) {
		t.Fatalf("w = %.9g, want 0.76 (0.805 would be the PyTorch convention)", p.Data[0])
	}
}

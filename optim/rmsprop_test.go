package optim

import (
	"math"
	"testing"

	"github.com/fleetnas/fleetnas/nn"
)

// TF RMSProp, lr 0.1, decay 0.9, momentum 0.9, epsilon 1 (MobileNet), ms
// starting at 1, on L = a²/2 + b² from (1, -2). ms += (g² - ms)*0.1;
// mom = 0.9*mom + 0.1*g/sqrt(ms + 1); w -= mom.
//
//	a step 1: g = 1, ms = 1, mom = 0.1/sqrt(2) = 0.0707106781, a = 0.929289322
//	  step 2: g = 0.929289322, g² = 0.863578644, ms = 1 - 0.0136421356 = 0.986357864,
//	          sqrt(1.986357864) = 1.40938208, 0.0929289322/1.40938209 = 0.0659359397,
//	          mom = 0.0636396103 + 0.0659359397 = 0.129575550, a = 0.799713772
//	  step 3: g = 0.799713772, g² = 0.639542117, ms = 0.986357864 - 0.0346815747 = 0.951676290,
//	          sqrt(1.95167629) = 1.39702408, 0.0799713772/1.39702408 = 0.0572440935,
//	          mom = 0.116617995 + 0.0572440935 = 0.173862088, a = 0.625851684
//	b step 1: g = -4, ms = 1 + 1.5 = 2.5, mom = -0.4/sqrt(3.5) = -0.213808994, b = -1.78619101
//	  step 2: g = -3.57238201, g² = 12.7619132, ms = 2.5 + 1.02619132 = 3.52619132,
//	          sqrt(4.52619132) = 2.12748474, -0.357238201/2.12748474 = -0.167915753,
//	          mom = -0.192428094 - 0.167915753 = -0.360343847, b = -1.42584716
//	  step 3: g = -2.85169432, g² = 8.13216049, ms = 3.52619132 + 0.460596917 = 3.98678824,
//	          sqrt(4.98678824) = 2.23311179, -0.285169432/2.23311179 = -0.127700473,
//	          mom = -0.324309462 - 0.127700473 = -0.452009935, b = -0.973837224
//
// With epsilon outside the root (PyTorch) step 1 of a would be 0.1/(1+1)
// = 0.05, not 0.0707; with ms starting at 0 it would be 0.1/sqrt(1.1).
func TestRMSPropFirstSteps(t *testing.T) {
	o := mustRMSProp(t, RMSPropConfig{Decay: 0.9, Momentum: 0.9, Epsilon: 1})
	checkSteps(t, o, 0.1, [][2]float64{
		{0.929289322, -1.78619101},
		{0.799713772, -1.42584716},
		{0.625851684, -0.973837224},
	})
}

// With TF1's default epsilon (1e-10) the first step shows the mean-square
// initialisation directly. g = 1, lr 0.1, no momentum:
//
//	ms0 = 1 (TF): ms = 0.9*1 + 0.1*1 = 1,   step = 0.1/sqrt(1)   = 0.1,       w = 0.9
//	ms0 = 0:      ms = 0.1,                 step = 0.1/sqrt(0.1) = 0.316228,  w = 0.683772
func TestRMSPropMeanSquareStartsAtOne(t *testing.T) {
	o := mustRMSProp(t, RMSPropConfig{Decay: 0.9, Epsilon: 1e-10})
	p := &nn.Param{Name: "w", Data: []float32{1}, Grad: []float32{1}}
	if err := o.Step([]*nn.Param{p}, 0.1); err != nil {
		t.Fatal(err)
	}
	if !near(p.Data[0], 0.9) {
		t.Fatalf("w = %.9g after one step, want 0.9 (0.683772 means ms started at 0)", p.Data[0])
	}
}

// A zero gradient with ms starting at 1 must not produce NaN even after
// the mean square has decayed for a long time.
func TestRMSPropZeroGradientStaysFinite(t *testing.T) {
	o := mustRMSProp(t, RMSPropConfig{Decay: 0.5, Momentum: 0.9, Epsilon: 1e-10})
	p := &nn.Param{Name: "w", Data: []float32{1}, Grad: []float32{0}}
	for range 500 { // 0.5^500 underflows float32
		if err := o.Step([]*nn.Param{p}, 0.1); err != nil {
			t.Fatal(err)
		}
	}
	if v := float64(p.Data[0]); math.IsNaN(v) || v != 1 {
		t.Fatalf("w = %v, want 1", v)
	}
}

func TestMobileNetRMSPropIsValid(t *testing.T) {
	c := MobileNetRMSProp()
	if c.Decay != 0.9 || c.Momentum != 0.9 || c.Epsilon != 1 || c.WeightDecay != 4e-5 || c.DecayMode != L2 {
		t.Fatalf("MobileNetRMSProp() = %+v", c)
	}
	mustRMSProp(t, c)
}

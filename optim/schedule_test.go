package optim

import (
	"math"
	"testing"
)

func approx(got, want float64) bool { return math.Abs(got-want) <= 1e-12*math.Max(1, math.Abs(want)) }

// Base 0.1, Min 0.001, 10 warmup steps, Total 110 (100 decay steps):
//
//	LR(0)   = 0                                  warmup start
//	LR(5)   = 0.1*5/10 = 0.05                    halfway through warmup
//	LR(10)  = 0.1                                warmup end, cos(0) = 1
//	LR(60)  = 0.001 + 0.099*(1+cos(pi/2))/2 = 0.0505   cosine midpoint
//	LR(35)  = 0.001 + 0.099*(1+cos(pi/4))/2 = 0.001 + 0.099*0.853553391 = 0.0855017857
//	LR(110) = LR(500) = 0.001                    end and after
func TestCosine(t *testing.T) {
	c := Cosine{Base: 0.1, Min: 0.001, Warmup: 10, Total: 110}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		step int
		want float64
	}{
		{-3, 0}, {0, 0}, {5, 0.05}, {10, 0.1}, {35, 0.0855017857}, {60, 0.0505}, {110, 0.001}, {500, 0.001},
	} {
		got := c.LR(tc.step)
		tol := 1e-12
		if tc.step == 35 {
			tol = 1e-10 // hand value has 9 significant digits
		}
		if math.Abs(got-tc.want) > tol {
			t.Errorf("LR(%d) = %.12g, want %.12g", tc.step, got, tc.want)
		}
	}
}

// WarmupFrom 0.2 with Base 1 and 4 warmup steps: 0.2, 0.4, 0.6, 0.8, then 1.
// No warmup starts at Base.
func TestCosineWarmupFromAndNoWarmup(t *testing.T) {
	c := Cosine{Base: 1, Warmup: 4, Total: 8, WarmupFrom: 0.2}
	for s, want := range []float64{0.2, 0.4, 0.6, 0.8, 1} {
		if got := c.LR(s); !approx(got, want) {
			t.Errorf("LR(%d) = %v, want %v", s, got, want)
		}
	}
	nw := Cosine{Base: 0.5, Total: 4}
	// 0.5*(1+cos(pi*s/4))/2: 0.5, 0.426776695, 0.25, 0.0732233047, 0
	for s, want := range []float64{0.5, 0.426776695, 0.25, 0.0732233047, 0} {
		if got := nw.LR(s); math.Abs(got-want) > 1e-9 {
			t.Errorf("no warmup LR(%d) = %v, want %v", s, got, want)
		}
	}
}

func TestCosineValidate(t *testing.T) {
	for name, c := range map[string]Cosine{
		"negative base":       {Base: -0.1, Total: 10},
		"NaN base":            {Base: math.NaN(), Total: 10},
		"min above base":      {Base: 0.1, Min: 0.2, Total: 10},
		"negative warmup":     {Base: 0.1, Warmup: -1, Total: 10},
		"total before warmup": {Base: 0.1, Warmup: 10, Total: 5},
		"warmup from above 1": {Base: 0.1, Total: 10, WarmupFrom: 1.5},
		"NaN warmup from":     {Base: 0.1, Total: 10, WarmupFrom: math.NaN()},
	} {
		if c.Validate() == nil {
			t.Errorf("%s: Validate accepted %+v", name, c)
		}
		_ = c.LR(3) // must not panic on an invalid schedule
	}
	// Warmup == Total: warmup, then Min straight away.
	c := Cosine{Base: 1, Min: 0.1, Warmup: 2, Total: 2}
	if err := c.Validate(); err != nil || c.LR(1) != 0.5 || c.LR(2) != 0.1 {
		t.Errorf("Warmup == Total: err %v, LR(1) %v, LR(2) %v", err, c.LR(1), c.LR(2))
	}
}

// Staircase, Base 1, Factor 0.5, DecaySteps 2.5: floor(s/2.5) = 0,0,0,1,1,2
// for s = 0..5, so 1, 1, 1, 0.5, 0.5, 0.25. Continuous at s = 5: 0.5^2 =
// 0.25; at s = 1: 0.5^0.4 = 0.757858283. Min 0.3 floors the staircase at 0.3.
func TestExponential(t *testing.T) {
	st := Exponential{Base: 1, Factor: 0.5, DecaySteps: 2.5, Staircase: true}
	if err := st.Validate(); err != nil {
		t.Fatal(err)
	}
	for s, want := range []float64{1, 1, 1, 0.5, 0.5, 0.25} {
		if got := st.LR(s); !approx(got, want) {
			t.Errorf("staircase LR(%d) = %v, want %v", s, got, want)
		}
	}
	co := st
	co.Staircase = false
	if got := co.LR(5); !approx(got, 0.25) {
		t.Errorf("continuous LR(5) = %v, want 0.25", got)
	}
	if got := co.LR(1); math.Abs(got-0.757858283) > 1e-9 {
		t.Errorf("continuous LR(1) = %v, want 0.757858283", got)
	}
	fl := st
	fl.Min = 0.3
	if got := fl.LR(5); got != 0.3 {
		t.Errorf("floored LR(5) = %v, want 0.3", got)
	}
}

// MobileNetV2 with 1000 steps per epoch: 0.045 for the first 2500 steps,
// then 0.045*0.98 = 0.0441, and 0.045*0.98^4 = 0.0415065...
// (0.98^4 = 0.92236816) from step 10000.
func TestMobileNetExponential(t *testing.T) {
	e := MobileNetExponential(1000)
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		step int
		want float64
	}{{0, 0.045}, {2499, 0.045}, {2500, 0.0441}, {10000, 0.045 * 0.92236816}} {
		if got := e.LR(tc.step); !approx(got, tc.want) {
			t.Errorf("LR(%d) = %v, want %v", tc.step, got, tc.want)
		}
	}
}

func TestExponentialValidate(t *testing.T) {
	for name, e := range map[string]Exponential{
		"zero factor":      {Base: 1, Factor: 0, DecaySteps: 1},
		"factor above 1":   {Base: 1, Factor: 1.1, DecaySteps: 1},
		"zero decay steps": {Base: 1, Factor: 0.9},
		"NaN decay steps":  {Base: 1, Factor: 0.9, DecaySteps: math.NaN()},
		"negative base":    {Base: -1, Factor: 0.9, DecaySteps: 1},
		"min above base":   {Base: 1, Factor: 0.9, DecaySteps: 1, Min: 2},
	} {
		if e.Validate() == nil {
			t.Errorf("%s: Validate accepted %+v", name, e)
		}
		_ = e.LR(3) // must not panic on an invalid schedule
	}
}

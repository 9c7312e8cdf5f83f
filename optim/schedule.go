package optim

import (
	"fmt"
	"math"
)

// Schedule gives the learning rate for a step (0-based count of updates
// already applied). A schedule is a pure function of the step, so resuming
// from a checkpoint only needs the step number.
type Schedule interface {
	LR(step int) float64
}

// Constant is a fixed learning rate.
type Constant float64

// LR returns c for every step.
func (c Constant) LR(int) float64 { return float64(c) }

// Cosine is linear warmup followed by half-cosine decay (Loshchilov and
// Hutter, "SGDR", 2017, without restarts; warmup as in Goyal et al.,
// "Accurate, Large Minibatch SGD", 2017):
//
//	step < Warmup:          start + (Base-start) * step/Warmup,  start = WarmupFrom*Base
//	Warmup <= step < Total: Min + (Base-Min) * (1 + cos(pi*(step-Warmup)/(Total-Warmup))) / 2
//	step >= Total:          Min
//
// so LR(0) = WarmupFrom*Base (0 by default), LR(Warmup) = Base, the
// midpoint of the decay is (Base+Min)/2, and LR(Total) = Min. Negative
// steps count as 0. Call Validate once when building the schedule; LR
// never panics or divides by zero even on an invalid one.
type Cosine struct {
	// Base is the peak rate, reached at the end of warmup.
	Base float64
	// Min is the floor the cosine decays to, in [0, Base].
	Min float64
	// Warmup is the number of warmup steps (0 starts at Base).
	Warmup int
	// Total is the step at which the decay reaches Min; Total >= Warmup.
	Total int
	// WarmupFrom in [0, 1] is the fraction of Base warmup starts from, so
	// the first update need not have a zero rate.
	WarmupFrom float64
}

// Validate reports a configuration LR cannot honour.
func (c Cosine) Validate() error {
	if err := checkNonNeg("cosine Base", c.Base); err != nil {
		return err
	}
	if err := checkNonNeg("cosine Min", c.Min); err != nil {
		return err
	}
	if c.Min > c.Base {
		return fmt.Errorf("optim: cosine Min %v exceeds Base %v", c.Min, c.Base)
	}
	if c.Warmup < 0 {
		return fmt.Errorf("optim: cosine Warmup must be >= 0, got %d", c.Warmup)
	}
	if c.Total < c.Warmup {
		return fmt.Errorf("optim: cosine Total %d is before the end of warmup %d", c.Total, c.Warmup)
	}
	if err := checkNonNeg("cosine WarmupFrom", c.WarmupFrom); err != nil {
		return err
	}
	if c.WarmupFrom > 1 {
		return fmt.Errorf("optim: cosine WarmupFrom must be <= 1, got %v", c.WarmupFrom)
	}
	return nil
}

// LR returns the rate for step.
func (c Cosine) LR(step int) float64 {
	step = max(step, 0)
	if step < c.Warmup {
		start := c.WarmupFrom * c.Base
		return start + (c.Base-start)*float64(step)/float64(c.Warmup)
	}
	if step >= c.Total {
		return c.Min
	}
	// Here Warmup <= step < Total, so the span is positive.
	progress := float64(step-c.Warmup) / float64(c.Total-c.Warmup)
	return c.Min + (c.Base-c.Min)*(1+math.Cos(math.Pi*progress))/2
}

// Exponential is tf.compat.v1.train.exponential_decay:
//
//	Base * Factor^(step/DecaySteps)          (continuous)
//	Base * Factor^floor(step/DecaySteps)     (Staircase)
//
// floored at Min. MobileNet training used it with staircase steps; see
// MobileNetExponential. Negative steps count as 0.
type Exponential struct {
	// Base is the rate at step 0.
	Base float64
	// Factor in (0, 1] multiplies the rate every DecaySteps steps.
	Factor float64
	// DecaySteps > 0; fractional values are allowed, e.g. 2.5 epochs'
	// worth of steps.
	DecaySteps float64
	// Staircase decays in whole multiples of DecaySteps.
	Staircase bool
	// Min >= 0 is a floor (0 for none).
	Min float64
}

// MobileNetExponential is the MobileNetV2 README's schedule for the
// TF-Slim trainer: 0.045 decayed by 0.98 every 2.5 epochs, staircase
// (train_image_classifier.py computes decay_steps as an int and passes
// staircase=True). stepsPerEpoch is training examples / batch size.
func MobileNetExponential(stepsPerEpoch float64) Exponential {
	return Exponential{Base: 0.045, Factor: 0.98, DecaySteps: math.Trunc(2.5 * stepsPerEpoch), Staircase: true}
}

// Validate reports a configuration LR cannot honour.
func (e Exponential) Validate() error {
	if err := checkNonNeg("exponential Base", e.Base); err != nil {
		return err
	}
	if err := checkPositive("exponential Factor", e.Factor); err != nil {
		return err
	}
	if e.Factor > 1 {
		return fmt.Errorf("optim: exponential Factor must be <= 1, got %v", e.Factor)
	}
	if err := checkPositive("exponential DecaySteps", e.DecaySteps); err != nil {
		return err
	}
	if err := checkNonNeg("exponential Min", e.Min); err != nil {
		return err
	}
	if e.Min > e.Base {
		return fmt.Errorf("optim: exponential Min %v exceeds Base %v", e.Min, e.Base)
	}
	return nil
}

// LR returns the rate for step.
func (e Exponential) LR(step int) float64 {
	if !(e.DecaySteps > 0) {
		return e.Base // invalid; Validate reports it
	}
	p := float64(max(step, 0)) / e.DecaySteps
	if e.Staircase {
		p = math.Floor(p)
	}
	return max(e.Base*math.Pow(e.Factor, p), e.Min)
}

package optim

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/nn"
)

// Each optimizer minimises 0.5*(x-3)² from x = 0 to within 1e-4 in a fixed
// number of steps.
func TestConvergesOnQuadratic(t *testing.T) {
	const steps = 400
	cases := []struct {
		name string
		opt  Optimizer
		lr   Schedule
	}{
		{"sgd", mustSGD(t, SGDConfig{Momentum: 0.9}), Constant(0.1)},
		{"sgd-nesterov", mustSGD(t, SGDConfig{Momentum: 0.9, Nesterov: true}), Constant(0.1)},
		{"rmsprop", mustRMSProp(t, RMSPropConfig{Decay: 0.9, Momentum: 0.9, Epsilon: 1}), Constant(0.1)},
		// Adam's step is about lr whatever the gradient, so it needs the
		// rate to decay to settle.
		{"adam", mustAdam(t, DefaultAdam()), Cosine{Base: 0.5, Warmup: 10, Total: steps}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &nn.Param{Name: "x", Data: []float32{0}, Grad: []float32{0}}
			for s := range steps {
				p.Grad[0] = p.Data[0] - 3
				if err := c.opt.Step([]*nn.Param{p}, c.lr.LR(s)); err != nil {
					t.Fatal(err)
				}
			}
			if d := math.Abs(float64(p.Data[0]) - 3); d > 1e-4 {
				t.Fatalf("x = %.7g after %d steps, |x-3| = %.3g > 1e-4", p.Data[0], steps, d)
			}
		})
	}
}

// With zero loss gradient only weight decay moves a parameter, so a
// (decayed) must move by the hand-computed amount and b (NoDecay) must not
// move at all. lr 0.1, a = b = 2:
//
//	SGD L2, wd 0.5, momentum 0.9:  g = 0.5*2 = 1, v = -0.1, a = 1.9
//	SGD decoupled, wd 0.5:         a = 2*(1 - 0.1*0.5) = 1.9, then g = 0
//	RMSProp L2, wd 0.5, eps 1:     g = 1, ms = 1, mom = 0.1/sqrt(2), a = 1.929289322
//	RMSProp decoupled, wd 0.5:     a = 1.9, then g = 0 gives mom = 0
//	Adam L2, wd 0.1:               g = 0.2, m̂ = 0.2, v̂ = 0.04, step = 0.1*0.2/0.2 = 0.1, a = 1.9
//	AdamW (decoupled), wd 0.1:     a = 2*(1 - 0.1*0.1) = 1.98, then m = 0 gives no step
func TestWeightDecaySkipsNoDecay(t *testing.T) {
	cases := []struct {
		name  string
		opt   Optimizer
		wantA float64
	}{
		{"sgd-l2", mustSGD(t, SGDConfig{Momentum: 0.9, WeightDecay: 0.5}), 1.9},
		{"sgd-decoupled", mustSGD(t, SGDConfig{Momentum: 0.9, WeightDecay: 0.5, DecayMode: Decoupled}), 1.9},
		{"rmsprop-l2", mustRMSProp(t, RMSPropConfig{Decay: 0.9, Momentum: 0.9, Epsilon: 1, WeightDecay: 0.5}), 1.929289322},
		{"rmsprop-decoupled", mustRMSProp(t, RMSPropConfig{Decay: 0.9, Momentum: 0.9, Epsilon: 1, WeightDecay: 0.5, DecayMode: Decoupled}), 1.9},
		{"adam-l2", mustAdam(t, AdamConfig{Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8, WeightDecay: 0.1}), 1.9},
		{"adamw", mustAdam(t, AdamConfig{Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8, WeightDecay: 0.1, DecayMode: Decoupled}), 1.98},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := &nn.Param{Name: "a", Data: []float32{2}, Grad: []float32{0}}
			b := &nn.Param{Name: "b", Data: []float32{2}, Grad: []float32{0}, NoDecay: true}
			if err := c.opt.Step([]*nn.Param{a, b}, 0.1); err != nil {
				t.Fatal(err)
			}
			if !near(a.Data[0], c.wantA) {
				t.Errorf("decayed a = %.9g, want %.9g", a.Data[0], c.wantA)
			}
			if b.Data[0] != 2 {
				t.Errorf("NoDecay b = %.9g, want 2 (unchanged)", b.Data[0])
			}
		})
	}
}

func TestStepKeepsGradientsAndZeroGradClears(t *testing.T) {
	o := mustSGD(t, SGDConfig{Momentum: 0.9})
	ps := twoParams()
	twoParamsGrad(ps)
	if err := o.Step(ps, 0.1); err != nil {
		t.Fatal(err)
	}
	if ps[0].Grad[0] != 1 || ps[1].Grad[0] != -4 {
		t.Fatalf("Step changed gradients to %v, %v", ps[0].Grad, ps[1].Grad)
	}
	ZeroGrad(append(ps, nil))
	if ps[0].Grad[0] != 0 || ps[1].Grad[0] != 0 {
		t.Fatalf("ZeroGrad left %v, %v", ps[0].Grad, ps[1].Grad)
	}
}

func allOptimizers(t testing.TB) []Optimizer {
	return []Optimizer{
		mustSGD(t, SGDConfig{Momentum: 0.9, Nesterov: true, WeightDecay: 1e-3}),
		mustRMSProp(t, MobileNetRMSProp()),
		mustAdam(t, AdamConfig{Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8, WeightDecay: 1e-2, DecayMode: Decoupled}),
	}
}

func TestStepRejectsBadInputUnchanged(t *testing.T) {
	good := func() []*nn.Param { ps := twoParams(); twoParamsGrad(ps); return ps }
	cases := []struct {
		name   string
		params func() []*nn.Param
		lr     float64
		want   string
	}{
		{"negative lr", good, -0.1, "learning rate"},
		{"NaN lr", good, math.NaN(), "learning rate"},
		{"infinite lr", good, math.Inf(1), "learning rate"},
		{"nil param", func() []*nn.Param { return append(good(), nil) }, 0.1, "nil"},
		{"no name", func() []*nn.Param {
			return append(good(), &nn.Param{Data: []float32{1}, Grad: []float32{1}})
		}, 0.1, "no name"},
		{"duplicate name", func() []*nn.Param { ps := good(); ps[1].Name = "a"; return ps }, 0.1, "twice"},
		{"grad length", func() []*nn.Param { ps := good(); ps[1].Grad = nil; return ps }, 0.1, "gradients"},
	}
	for _, o := range allOptimizers(t) {
		for _, c := range cases {
			t.Run(o.Name()+"/"+c.name, func(t *testing.T) {
				ps := c.params()
				before := [2]float32{ps[0].Data[0], ps[1].Data[0]}
				err := o.Step(ps, c.lr)
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("Step error = %v, want one mentioning %q", err, c.want)
				}
				if ps[0].Data[0] != before[0] || ps[1].Data[0] != before[1] {
					t.Fatalf("failed Step changed the parameters")
				}
			})
		}
	}
	// A size change between steps is a mismatch with the slots.
	for _, o := range allOptimizers(t) {
		ps := good()
		if err := o.Step(ps, 0.1); err != nil {
			t.Fatal(err)
		}
		ps[1].Data, ps[1].Grad = []float32{1, 2}, []float32{1, 2}
		if err := o.Step(ps, 0.1); err == nil || !strings.Contains(err.Error(), "optimizer state has 1") {
			t.Errorf("%s: resized parameter: error = %v", o.Name(), err)
		}
	}
}

func TestConstructorsRejectBadHyperparameters(t *testing.T) {
	nan := math.NaN()
	rms := MobileNetRMSProp()
	adam := DefaultAdam()
	cases := []struct {
		name string
		err  error
	}{
		{"sgd negative momentum", errOf(NewSGD(SGDConfig{Momentum: -0.1}))},
		{"sgd momentum 1", errOf(NewSGD(SGDConfig{Momentum: 1}))},
		{"sgd NaN momentum", errOf(NewSGD(SGDConfig{Momentum: nan}))},
		{"sgd negative decay", errOf(NewSGD(SGDConfig{WeightDecay: -1e-4}))},
		{"sgd infinite decay", errOf(NewSGD(SGDConfig{WeightDecay: math.Inf(1)}))},
		{"sgd unknown decay mode", errOf(NewSGD(SGDConfig{DecayMode: 7}))},
		{"rmsprop decay 1", errOf(NewRMSProp(with(rms, func(c *RMSPropConfig) { c.Decay = 1 })))},
		{"rmsprop negative decay", errOf(NewRMSProp(with(rms, func(c *RMSPropConfig) { c.Decay = -0.5 })))},
		{"rmsprop momentum 1.5", errOf(NewRMSProp(with(rms, func(c *RMSPropConfig) { c.Momentum = 1.5 })))},
		{"rmsprop zero epsilon", errOf(NewRMSProp(with(rms, func(c *RMSPropConfig) { c.Epsilon = 0 })))},
		{"rmsprop NaN epsilon", errOf(NewRMSProp(with(rms, func(c *RMSPropConfig) { c.Epsilon = nan })))},
		{"rmsprop negative weight decay", errOf(NewRMSProp(with(rms, func(c *RMSPropConfig) { c.WeightDecay = -1 })))},
		{"adam beta1 1", errOf(NewAdam(with(adam, func(c *AdamConfig) { c.Beta1 = 1 })))},
		{"adam beta2 1", errOf(NewAdam(with(adam, func(c *AdamConfig) { c.Beta2 = 1 })))},
		{"adam beta2 above 1", errOf(NewAdam(with(adam, func(c *AdamConfig) { c.Beta2 = 1.001 })))},
		{"adam NaN beta1", errOf(NewAdam(with(adam, func(c *AdamConfig) { c.Beta1 = nan })))},
		{"adam zero epsilon", errOf(NewAdam(with(adam, func(c *AdamConfig) { c.Epsilon = 0 })))},
		{"adam negative epsilon", errOf(NewAdam(with(adam, func(c *AdamConfig) { c.Epsilon = -1e-8 })))},
		{"adam NaN weight decay", errOf(NewAdam(with(adam, func(c *AdamConfig) { c.WeightDecay = nan })))},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	// The documented starting points are valid.
	for _, err := range []error{errOf(NewSGD(SGDConfig{})), errOf(NewRMSProp(rms)), errOf(NewAdam(adam))} {
		if err != nil {
			t.Error(err)
		}
	}
}

func errOf[T any](_ T, err error) error { return err }

func with[C any](c C, f func(*C)) C { f(&c); return c }

// run takes steps [from, to) of L = a²/2 + b² on ps with a cosine rate,
// so the rate changes every step.
func run(t *testing.T, o Optimizer, ps []*nn.Param, from, to int) {
	t.Helper()
	lr := Cosine{Base: 0.05, Warmup: 3, Total: 12, WarmupFrom: 0.1}
	for s := from; s < to; s++ {
		twoParamsGrad(ps)
		if err := o.Step(ps, lr.LR(s)); err != nil {
			t.Fatal(err)
		}
	}
}

func fresh(t *testing.T, name string) Optimizer {
	for _, o := range allOptimizers(t) {
		if o.Name() == name {
			return o
		}
	}
	t.Fatalf("no optimizer %q", name)
	return nil
}

func bits(ps []*nn.Param) []uint32 {
	var out []uint32
	for _, p := range ps {
		for _, v := range p.Data {
			out = append(out, math.Float32bits(v))
		}
	}
	return out
}

// Stopping after 5 steps, checkpointing and resuming in a new optimizer
// gives bit-for-bit the parameters and state of an uninterrupted run.
func TestStateRoundTripContinuesBitIdentical(t *testing.T) {
	for _, ref := range allOptimizers(t) {
		t.Run(ref.Name(), func(t *testing.T) {
			want := twoParams()
			run(t, ref, want, 0, 10)
			wantState, err := ref.State()
			if err != nil {
				t.Fatal(err)
			}

			first := fresh(t, ref.Name())
			got := twoParams()
			run(t, first, got, 0, 5)
			ckpt, err := first.State()
			if err != nil {
				t.Fatal(err)
			}
			again, _ := first.State()
			if !bytes.Equal(ckpt, again) {
				t.Fatal("State is not deterministic")
			}

			resumed := fresh(t, ref.Name())
			if err := resumed.SetState(ckpt); err != nil {
				t.Fatal(err)
			}
			run(t, resumed, got, 5, 10)
			if g, w := bits(got), bits(want); !slices.Equal(g, w) {
				t.Fatalf("resumed parameters %x, uninterrupted %x", g, w)
			}
			gotState, err := resumed.State()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(gotState, wantState) {
				t.Fatal("resumed optimizer state differs from the uninterrupted one")
			}
		})
	}
}

func TestSetStateRejectsMismatches(t *testing.T) {
	sgd := mustSGD(t, SGDConfig{Momentum: 0.9})
	run(t, sgd, twoParams(), 0, 2)
	sgdState, err := sgd.State()
	if err != nil {
		t.Fatal(err)
	}
	adam := mustAdam(t, DefaultAdam())
	if err := adam.SetState(sgdState); err == nil || !strings.Contains(err.Error(), `"sgd"`) {
		t.Errorf("adam.SetState(sgd state) error = %v", err)
	}
	for _, bad := range [][]byte{nil, []byte("not a checkpoint"), sgdState[:len(sgdState)/2]} {
		if err := mustSGD(t, SGDConfig{}).SetState(bad); err == nil {
			t.Errorf("SetState(%q) accepted", bad)
		}
	}

	// The first Step after SetState must present the checkpoint's names
	// and sizes exactly; a rejected Step leaves the restored state usable.
	o := mustSGD(t, SGDConfig{Momentum: 0.9})
	if err := o.SetState(sgdState); err != nil {
		t.Fatal(err)
	}
	missing := twoParams()[:1]
	extra := append(twoParams(), &nn.Param{Name: "c", Data: []float32{1}, Grad: []float32{1}})
	resized := twoParams()
	resized[0].Data, resized[0].Grad = []float32{1, 1}, []float32{0, 0}
	for name, ps := range map[string][]*nn.Param{"missing": missing, "extra": extra, "resized": resized} {
		if err := o.Step(ps, 0.1); err == nil {
			t.Errorf("%s parameters accepted after SetState", name)
		}
	}
	if err := o.Step(twoParams(), 0.1); err != nil {
		t.Errorf("matching parameters after SetState: %v", err)
	}
	// Once resumed, new parameters get fresh slots as usual.
	if err := o.Step(extra, 0.1); err != nil {
		t.Errorf("new parameter after the resumed step: %v", err)
	}
}

// FuzzSetState checks that no checkpoint bytes make SetState, or a
// following State and Step, panic.
func FuzzSetState(f *testing.F) {
	for _, o := range allOptimizers(f) {
		ps := twoParams()
		twoParamsGrad(ps)
		if err := o.Step(ps, 0.1); err != nil {
			f.Fatal(err)
		}
		s, err := o.State()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, o := range allOptimizers(t) {
			if o.SetState(data) != nil {
				continue
			}
			if _, err := o.State(); err != nil {
				t.Fatalf("State after accepted SetState: %v", err)
			}
			ps := twoParams()
			twoParamsGrad(ps)
			_ = o.Step(ps, 0.1)
		}
	})
}

// TestAdoptAllowsSubsets: after Adopt, a restored state steps subsets of
// the parameters (as a supernet does) and continues bit-identically to an
// optimizer that was never checkpointed; Adopt refuses a state that does
// not fit the parameter set.
func TestAdoptAllowsSubsets(t *testing.T) {
	for _, ref := range allOptimizers(t) {
		t.Run(ref.Name(), func(t *testing.T) {
			want := twoParams()
			step := func(o Optimizer, ps []*nn.Param, k int) {
				twoParamsGrad(ps)
				// Steps alternate between the first parameter alone and both.
				sub := ps
				if k%2 == 0 {
					sub = ps[:1]
				}
				if err := o.Step(sub, 0.1); err != nil {
					t.Fatal(err)
				}
			}
			for k := range 6 {
				step(ref, want, k)
			}
			first := fresh(t, ref.Name())
			got := twoParams()
			for k := range 3 {
				step(first, got, k)
			}
			ckpt, err := first.State()
			if err != nil {
				t.Fatal(err)
			}
			resumed := fresh(t, ref.Name())
			if err := resumed.SetState(ckpt); err != nil {
				t.Fatal(err)
			}
			if err := resumed.(interface{ Adopt([]*nn.Param) error }).Adopt(got); err != nil {
				t.Fatal(err)
			}
			for k := 3; k < 6; k++ {
				step(resumed, got, k)
			}
			if g, w := bits(got), bits(want); !slices.Equal(g, w) {
				t.Fatalf("resumed parameters %x, uninterrupted %x", g, w)
			}
			other := fresh(t, ref.Name())
			if err := other.SetState(ckpt); err != nil {
				t.Fatal(err)
			}
			if err := other.(interface{ Adopt([]*nn.Param) error }).Adopt(got[:1]); err == nil || !strings.Contains(err.Error(), `"b"`) {
				t.Errorf("Adopt with a parameter missing: %v", err)
			}
		})
	}
}

package roofline

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/fleetnas/fleetnas/latency"
)

// Sample is one measurement: a network and its latency on the device.
type Sample struct {
	// Name identifies the network in errors and reports.
	Name      string
	Net       *latency.Net
	LatencyMS float64
}

// Knob names a parameter that calibration may move. Positive quantities
// move in log space and efficiencies in logit space, so that every value
// the optimiser tries is a valid parameter and the prior is symmetric in
// ratios ("twice as fast" weighs the same as "half as fast").
type Knob string

// The knobs. Overhead scales LayerOverheadMS and ElementwiseOverheadMS
// together, keeping the prior's ratio: a handful of measurements cannot
// tell the two apart.
const (
	KnobPeak             Knob = "peak"
	KnobBandwidth        Knob = "bandwidth"
	KnobConv1x1          Knob = "eff_conv1x1"
	KnobConvKxK          Knob = "eff_convkxk"
	KnobDepthwise        Knob = "eff_depthwise"
	KnobFC               Knob = "eff_fc"
	KnobMatMul           Knob = "eff_matmul"
	KnobElementwise      Knob = "eff_elementwise"
	KnobOverhead         Knob = "overhead"
	KnobNetworkOverhead  Knob = "network_overhead"
	KnobPenaltyHSwish    Knob = "penalty_hswish"
	KnobPenaltySwish     Knob = "penalty_swish"
	KnobPenaltyGELU      Knob = "penalty_gelu"
	KnobPenaltySE        Knob = "penalty_se"
	KnobPenaltyAttention Knob = "penalty_attention"
	KnobPenaltyBigKernel Knob = "penalty_big_kernel"
)

// knobSpec says how a knob maps to Params.
type knobSpec struct {
	logit bool // efficiency in (0, 1): logit transform; otherwise log
	sigma float64
	get   func(p *Params) float64
	set   func(p *Params, v float64)
}

var knobs = map[Knob]knobSpec{
	KnobPeak:      {sigma: 1, get: func(p *Params) float64 { return p.PeakGMACs }, set: func(p *Params, v float64) { p.PeakGMACs = v }},
	KnobBandwidth: {sigma: 1, get: func(p *Params) float64 { return p.BandwidthGBs }, set: func(p *Params, v float64) { p.BandwidthGBs = v }},
	KnobConv1x1: {logit: true, sigma: 1, get: func(p *Params) float64 { return p.Efficiency.Conv1x1 },
		set: func(p *Params, v float64) { p.Efficiency.Conv1x1 = v }},
	KnobConvKxK: {logit: true, sigma: 1, get: func(p *Params) float64 { return p.Efficiency.ConvKxK },
		set: func(p *Params, v float64) { p.Efficiency.ConvKxK = v }},
	KnobDepthwise: {logit: true, sigma: 1, get: func(p *Params) float64 { return p.Efficiency.Depthwise },
		set: func(p *Params, v float64) { p.Efficiency.Depthwise = v }},
	KnobFC: {logit: true, sigma: 1, get: func(p *Params) float64 { return p.Efficiency.FC },
		set: func(p *Params, v float64) { p.Efficiency.FC = v }},
	KnobMatMul: {logit: true, sigma: 1, get: func(p *Params) float64 { return p.Efficiency.MatMul },
		set: func(p *Params, v float64) { p.Efficiency.MatMul = v }},
	KnobElementwise: {logit: true, sigma: 1, get: func(p *Params) float64 { return p.Efficiency.Elementwise },
		set: func(p *Params, v float64) { p.Efficiency.Elementwise = v }},
	KnobOverhead: {sigma: 1, get: func(p *Params) float64 { return p.LayerOverheadMS },
		set: func(p *Params, v float64) {
			if p.LayerOverheadMS > 0 {
				p.ElementwiseOverheadMS *= v / p.LayerOverheadMS
			}
			p.LayerOverheadMS = v
		}},
	KnobNetworkOverhead: {sigma: 1, get: func(p *Params) float64 { return p.NetworkOverheadMS },
		set: func(p *Params, v float64) { p.NetworkOverheadMS = v }},
	KnobPenaltyHSwish: {sigma: 0.5, get: func(p *Params) float64 { return factor(p.Penalty.HSwish) },
		set: func(p *Params, v float64) { p.Penalty.HSwish = v }},
	KnobPenaltySwish: {sigma: 0.5, get: func(p *Params) float64 { return factor(p.Penalty.Swish) },
		set: func(p *Params, v float64) { p.Penalty.Swish = v }},
	KnobPenaltyGELU: {sigma: 0.5, get: func(p *Params) float64 { return factor(p.Penalty.GELU) },
		set: func(p *Params, v float64) { p.Penalty.GELU = v }},
	KnobPenaltySE: {sigma: 0.5, get: func(p *Params) float64 { return factor(p.Penalty.SE) },
		set: func(p *Params, v float64) { p.Penalty.SE = v }},
	KnobPenaltyAttention: {sigma: 0.5, get: func(p *Params) float64 { return factor(p.Penalty.Attention) },
		set: func(p *Params, v float64) { p.Penalty.Attention = v }},
	KnobPenaltyBigKernel: {sigma: 0.5, get: func(p *Params) float64 { return factor(p.Penalty.BigKernel) },
		set: func(p *Params, v float64) { p.Penalty.BigKernel = v }},
}

func (s knobSpec) toInternal(v float64) float64 {
	if s.logit {
		return math.Log(v / (1 - v))
	}
	return math.Log(v)
}

func (s knobSpec) fromInternal(z float64) float64 {
	if s.logit {
		// Keep efficiencies strictly inside (0, 1]: the logistic of a
		// large z rounds to 1, of a very negative z to 0.
		return min(1, max(1e-9, 1/(1+math.Exp(-z))))
	}
	return math.Exp(z)
}

// Loss is the robust loss applied to log-latency residuals.
type Loss string

// The losses. SoftL1 and Huber grow linearly beyond LossScale, so that one
// network the model cannot express (a runtime's special case) does not
// drag the fit away from the others.
const (
	SoftL1  Loss = "soft_l1"
	Huber   Loss = "huber"
	Squares Loss = "l2"
)

// FitOptions control calibration.
type FitOptions struct {
	// Free are the knobs to fit; the others keep the prior's values.
	// Empty means peak, bandwidth and overhead.
	Free []Knob
	// PriorSigma overrides a knob's prior width, in log (or logit) units:
	// the fit pays ((z - z_prior) / sigma)^2 for moving it. Defaults: 1 (a
	// factor e either way is cheap) for rates, efficiencies and overheads,
	// 0.5 for penalties.
	PriorSigma map[Knob]float64
	// Loss on log residuals (default SoftL1) and its scale (default 0.1,
	// i.e. 10%: smaller residuals count quadratically).
	Loss      Loss
	LossScale float64
	// MaxEvaluations bounds the objective evaluations of one fit
	// (default 20000).
	MaxEvaluations int
}

func (o FitOptions) withDefaults() (FitOptions, error) {
	if len(o.Free) == 0 {
		o.Free = []Knob{KnobPeak, KnobBandwidth, KnobOverhead}
	}
	seen := map[Knob]bool{}
	for _, k := range o.Free {
		if _, ok := knobs[k]; !ok {
			return o, fmt.Errorf("unknown knob %q", k)
		}
		if seen[k] {
			return o, fmt.Errorf("knob %q listed twice", k)
		}
		seen[k] = true
	}
	for k, s := range o.PriorSigma {
		if _, ok := knobs[k]; !ok {
			return o, fmt.Errorf("prior sigma for unknown knob %q", k)
		}
		if !finitePositive(s) {
			return o, fmt.Errorf("prior sigma of %s must be a positive finite number, got %g", k, s)
		}
	}
	switch o.Loss {
	case "":
		o.Loss = SoftL1
	case SoftL1, Huber, Squares:
	default:
		return o, fmt.Errorf("unknown loss %q (soft_l1, huber or l2)", o.Loss)
	}
	if o.LossScale == 0 {
		o.LossScale = 0.1
	}
	if !finitePositive(o.LossScale) {
		return o, fmt.Errorf("loss scale must be a positive finite number, got %g", o.LossScale)
	}
	if o.MaxEvaluations == 0 {
		o.MaxEvaluations = 20000
	}
	if o.MaxEvaluations < 0 {
		return o, fmt.Errorf("max evaluations must be positive, got %d", o.MaxEvaluations)
	}
	return o, nil
}

func (o FitOptions) sigma(k Knob) float64 {
	if s, ok := o.PriorSigma[k]; ok {
		return s
	}
	return knobs[k].sigma
}

// rho is the robust loss of a residual z in units of the loss scale.
func (l Loss) rho(z float64) float64 {
	switch l {
	case Huber:
		if a := math.Abs(z); a > 1 {
			return 2*a - 1
		}
		return z * z
	case Squares:
		return z * z
	}
	return 2 * (math.Sqrt(1+z*z) - 1)
}

// Fitted is a calibrated device.
type Fitted struct {
	Model *Model
	// Free are the fitted knobs and Values their fitted values in natural
	// units (GMAC/s, GB/s, efficiency, ms, factor).
	Free   []Knob
	Values []float64
	// Objective is the final robust loss plus prior penalty.
	Objective float64
	// LogResiduals are log(predicted / measured) of the training samples.
	LogResiduals []float64
	// Evaluations counts objective evaluations.
	Evaluations int
}

// compiled is a training set priced once into layer features.
type compiled struct {
	f    [][]feature
	logy []float64
}

func compileSamples(samples []Sample, prior *Params) (*compiled, error) {
	if len(samples) == 0 {
		return nil, errors.New("no samples to fit")
	}
	c := &compiled{f: make([][]feature, len(samples)), logy: make([]float64, len(samples))}
	for i, s := range samples {
		if !finitePositive(s.LatencyMS) {
			return nil, fmt.Errorf("sample %d (%s): latency must be a positive finite number of ms, got %g", i, s.Name, s.LatencyMS)
		}
		f, err := compile(s.Net, prior)
		if err != nil {
			return nil, fmt.Errorf("sample %d (%s): %w", i, s.Name, err)
		}
		c.f[i], c.logy[i] = f, math.Log(s.LatencyMS)
	}
	return c, nil
}

// Fit calibrates the free knobs of prior to the samples by minimising
// sum_i rho(log(pred_i/meas_i) / scale) + sum_k ((z_k - z_k,prior) /
// sigma_k)^2 with Nelder-Mead (derivative-free, because the max() of the
// roofline makes the objective kinked) and restarts until it stops
// improving. The prior term is a ridge toward the prior in log space: with
// a dozen measurements and several knobs, it keeps knobs the data cannot
// identify at their prior values instead of letting them drift. The fit is
// deterministic.
func Fit(samples []Sample, prior Params, opt FitOptions) (*Fitted, error) {
	if err := prior.Validate(); err != nil {
		return nil, fmt.Errorf("prior: %w", err)
	}
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	c, err := compileSamples(samples, &prior)
	if err != nil {
		return nil, err
	}
	return fitCompiled(c, prior.clone(), opt)
}

func fitCompiled(c *compiled, prior Params, opt FitOptions) (*Fitted, error) {
	k := len(opt.Free)
	z0 := make([]float64, k)
	sig := make([]float64, k)
	for i, kn := range opt.Free {
		spec := knobs[kn]
		v := spec.get(&prior)
		if !finitePositive(v) || (spec.logit && v >= 1) {
			if spec.logit && v == 1 {
				v = 0.999 // efficiency 1 is valid but has no logit; start just below
			} else {
				return nil, fmt.Errorf("knob %s needs a positive prior value to move in log space, got %g", kn, v)
			}
		}
		z0[i] = spec.toInternal(v)
		sig[i] = opt.sigma(kn)
	}
	p := prior.clone()
	apply := func(z []float64) {
		for i, kn := range opt.Free {
			knobs[kn].set(&p, knobs[kn].fromInternal(z[i]))
		}
	}
	evals := 0
	obj := func(z []float64) float64 {
		evals++
		var s float64
		for i := range z {
			d := (z[i] - z0[i]) / sig[i]
			s += d * d
		}
		p = prior.clone()
		apply(z)
		for i, f := range c.f {
			pred := eval(&p, f)
			if !(pred > 0) || math.IsInf(pred, 0) {
				return math.MaxFloat64
			}
			s += opt.Loss.rho((math.Log(pred) - c.logy[i]) / opt.LossScale)
		}
		return s
	}
	best := append([]float64(nil), z0...)
	bestF := obj(best)
	if k > 0 {
		// Restart from the best point with a smaller simplex until a
		// restart no longer improves: one Nelder-Mead run can stall on a
		// kink of the roofline's max().
		size := 0.5
		for round := 0; round < 8 && evals < opt.MaxEvaluations; round++ {
			x, fx, _ := nelderMead(obj, best, size, opt.MaxEvaluations-evals, 1e-10)
			improved := bestF - fx
			if fx < bestF {
				bestF = fx
				copy(best, x)
			}
			if improved < 1e-8 && round > 0 {
				break
			}
			size = max(size/2, 0.05)
		}
	}
	p = prior.clone()
	apply(best)
	m, err := New(p)
	if err != nil {
		return nil, fmt.Errorf("calibration produced invalid parameters: %w", err)
	}
	fit := &Fitted{Model: m, Free: append([]Knob(nil), opt.Free...), Values: make([]float64, k),
		Objective: bestF, LogResiduals: make([]float64, len(c.f)), Evaluations: evals}
	for i, kn := range opt.Free {
		fit.Values[i] = knobs[kn].get(&p)
	}
	for i, f := range c.f {
		fit.LogResiduals[i] = math.Log(eval(&p, f)) - c.logy[i]
	}
	return fit, nil
}

// HeldOut predicts every sample with a model fitted without its fold
// (latency.Folds(len(samples), folds, seed); folds <= 1 means
// leave-one-out). Folds are fitted in parallel; each fit is deterministic
// and writes its own slots, so the result does not depend on the core
// count.
func HeldOut(samples []Sample, prior Params, opt FitOptions, folds int, seed uint64) ([]float64, error) {
	if err := prior.Validate(); err != nil {
		return nil, fmt.Errorf("prior: %w", err)
	}
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(samples) < 2 {
		return nil, fmt.Errorf("cross-validation needs at least 2 samples, got %d", len(samples))
	}
	c, err := compileSamples(samples, &prior)
	if err != nil {
		return nil, err
	}
	fold := latency.Folds(len(samples), folds, seed)
	nf := 0
	for _, f := range fold {
		nf = max(nf, f+1)
	}
	pred := make([]float64, len(samples))
	errs := make([]error, nf)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for f := 0; f < nf; f++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(f int) {
			defer wg.Done()
			defer func() { <-sem }()
			train := &compiled{}
			var test []int
			for i := range fold {
				if fold[i] == f {
					test = append(test, i)
				} else {
					train.f = append(train.f, c.f[i])
					train.logy = append(train.logy, c.logy[i])
				}
			}
			fit, err := fitCompiled(train, prior.clone(), opt)
			if err != nil {
				errs[f] = fmt.Errorf("fold %d: %w", f, err)
				return
			}
			for _, i := range test {
				pred[i] = eval(&fit.Model.p, c.f[i])
			}
		}(f)
	}
	wg.Wait()
	for _, e := range errs {
		if e != nil {
			return nil, e
		}
	}
	return pred, nil
}

// CrossValidate is the held-out Accuracy of calibrating prior on samples:
// k-fold, or leave-one-out when folds <= 1 (or >= the number of samples),
// each held-out sample predicted by a fit that never saw it.
func CrossValidate(samples []Sample, prior Params, opt FitOptions, folds int, seed uint64) (latency.Accuracy, error) {
	pred, err := HeldOut(samples, prior, opt, folds, seed)
	if err != nil {
		return latency.Accuracy{}, err
	}
	meas := make([]float64, len(samples))
	for i, s := range samples {
		meas[i] = s.LatencyMS
	}
	method := fmt.Sprintf("%d-fold cross-validation of a calibrated roofline (seed %d)", folds, seed)
	if folds <= 1 || folds >= len(samples) {
		method = "leave-one-out: each network predicted by a calibrated roofline fitted without it"
	}
	return latency.Score(method, pred, meas)
}

// Package linear learns a device's latency from measured networks of a
// search space: TuNAS's linear cost model (one indicator per (decision,
// choice), fit by least squares to a few thousand measured networks) and
// its variants, with the cross-validation, train/test split and JSON form
// that let a fitted device join a fleet with its error attached.
//
// The variants differ in two independent ways. The feature map (Kind)
// says what the model can express: Additive is a per-op table, Pairwise
// adds a table per pair of adjacent layers. The fit (Options.Log,
// Options.Loss) says what error it minimises: squared milliseconds (TuNAS),
// squared log latency (relative error, which is what MAPE and ±10% judge),
// or Huber's loss on either (so that a burst of disturbed measurements,
// common on phones, does not drag the whole table). On the 5,000 real
// FBNet phone measurements of HELP the fit matters far more than the
// feature map: see Robust.
package linear

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/space"
)

// Loss names the per-network loss a fit minimises.
type Loss string

const (
	// Squared is least squares, TuNAS's choice: the mean prediction.
	Squared Loss = "squared"
	// Huber is squared for residuals up to HuberK robust standard
	// deviations and linear beyond, fit by iteratively reweighted least
	// squares. Phone measurements come with bursts of disturbed runs
	// (thermal throttling, background work) that are far off in one
	// direction; Huber predicts the undisturbed latency instead of
	// averaging the disturbance into every op's weight.
	Huber Loss = "huber"
)

// DefaultHuberK is Huber's classic tuning constant (95% efficiency under
// Gaussian noise), in units of the residuals' robust standard deviation.
const DefaultHuberK = 1.345

// Options choose the model a Fit produces. The zero value is TuNAS's
// model exactly: Additive features, plain least squares on milliseconds,
// no penalty.
type Options struct {
	// Kind is the feature map; "" means Additive.
	Kind Kind `json:"kind"`
	// Log fits log latency, so that residuals are relative errors and a
	// prediction is exp(bias + sum of weights): a product of per-op
	// factors instead of a sum of per-op milliseconds.
	Log bool `json:"log,omitempty"`
	// Loss is the per-network loss; "" means Squared.
	Loss Loss `json:"loss,omitempty"`
	// HuberK is the Huber threshold in robust standard deviations of the
	// residuals; 0 means DefaultHuberK. Only for Loss Huber.
	HuberK float64 `json:"huber_k,omitempty"`
	// Ridge is the L2 penalty on the per-(decision, choice) weights. It
	// acts like that many pseudo-measurements at the reference choice's
	// cost, so 1 is negligible with thousands of measurements but keeps
	// the fit defined when a choice was never measured, or when there are
	// fewer measurements than weights.
	Ridge float64 `json:"ridge,omitempty"`
	// PairRidge is the L2 penalty on the adjacent-pair weights (Pairwise
	// only). An FBNet pair table has 64 cells per pair of layers, each
	// seen by about 1/81 of the measurements, so unpenalised it fits the
	// noise; 100 or more is needed on the phone measurements.
	PairRidge float64 `json:"pair_ridge,omitempty"`
}

// TuNAS is the additive model as TuNAS fits it, with a negligible ridge
// so that a choice missing from the measurements does not make the fit
// fail: least squares in milliseconds.
func TuNAS() Options { return Options{Kind: Additive, Loss: Squared, Ridge: 1e-6} }

// Robust is the better learned model on the FBNet phones: the same
// additive features, fit on log latency with Huber's loss. Under 5-fold
// cross-validation on the 5,000 HELP measurements it cuts the Samsung S7
// MAPE from about 10.4% to 7.8% and lifts the share within ±10% on both
// phones; adjacent-pair features, with any penalty, did not beat it.
func Robust() Options {
	return Options{Kind: Additive, Log: true, Loss: Huber, HuberK: DefaultHuberK, Ridge: 1}
}

// normalized fills the defaults of o and rejects bad settings.
func (o Options) normalized() (Options, error) {
	if o.Kind == "" {
		o.Kind = Additive
	}
	if o.Loss == "" {
		o.Loss = Squared
	}
	if !slices.Contains(Kinds(), o.Kind) {
		return o, fmt.Errorf("linear: unknown model kind %q; one of %v", o.Kind, Kinds())
	}
	if o.Loss != Squared && o.Loss != Huber {
		return o, fmt.Errorf("linear: unknown loss %q; one of %s, %s", o.Loss, Squared, Huber)
	}
	if o.Loss == Huber && o.HuberK == 0 {
		o.HuberK = DefaultHuberK
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"huber_k", o.HuberK}, {"ridge", o.Ridge}, {"pair_ridge", o.PairRidge}} {
		if p.v < 0 || math.IsNaN(p.v) || math.IsInf(p.v, 0) {
			return o, fmt.Errorf("linear: %s must be a finite number >= 0, got %g", p.name, p.v)
		}
	}
	if o.Loss == Huber && o.HuberK <= 0 {
		return o, fmt.Errorf("linear: huber_k must be positive")
	}
	if o.Kind != Pairwise && o.PairRidge != 0 {
		return o, fmt.Errorf("linear: pair_ridge applies to the %s kind only, not %s", Pairwise, o.Kind)
	}
	return o, nil
}

// Model is a fitted linear latency model of one device over one search
// space. It implements latency.Model and is safe for concurrent use.
type Model struct {
	spaceName   string
	fingerprint string
	feat        *Features
	opt         Options
	bias        float64
	w           []float64
	nTrain      int
	// Accuracy is the model's error on measurements it was not fit on, as
	// measured by whoever fitted it (CrossValidate, or Evaluate on a
	// held-out split); it travels with the model through Save and Load so
	// that a fleet shows how far to trust the device. Fit leaves it zero
	// (unknown).
	Accuracy latency.Accuracy
}

// Fit learns a model of one device from measured networks of a space:
// choices[i] is a choice vector over decisions (the space's Decisions)
// and latencyMS[i] its measured latency. spaceName is what Latency checks
// a network's Space against.
func Fit(spaceName string, decisions []space.Decision, choices [][]int, latencyMS []float64, opt Options) (*Model, error) {
	opt, err := opt.normalized()
	if err != nil {
		return nil, err
	}
	if spaceName == "" {
		return nil, fmt.Errorf("linear: a model needs the name of its space")
	}
	feat, err := NewFeatures(opt.Kind, decisions)
	if err != nil {
		return nil, err
	}
	rows, y, err := design(feat, choices, latencyMS, opt.Log)
	if err != nil {
		return nil, err
	}
	bias, w, err := fitRows(feat, rows, y, opt)
	if err != nil {
		return nil, err
	}
	return &Model{
		spaceName:   spaceName,
		fingerprint: Fingerprint(spaceName, decisions),
		feat:        feat,
		opt:         opt,
		bias:        bias,
		w:           w,
		nTrain:      len(rows),
	}, nil
}

// design checks the measurements and turns them into sparse rows and
// targets.
func design(feat *Features, choices [][]int, latencyMS []float64, logTarget bool) ([][]int, []float64, error) {
	if len(choices) != len(latencyMS) {
		return nil, nil, fmt.Errorf("linear: %d choice vectors for %d latencies", len(choices), len(latencyMS))
	}
	if len(choices) == 0 {
		return nil, nil, fmt.Errorf("linear: no measurements to fit")
	}
	rows := make([][]int, len(choices))
	y := make([]float64, len(choices))
	for i, c := range choices {
		r, err := feat.Active(c, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("measurement %d: %w", i, err)
		}
		v := latencyMS[i]
		if !(v > 0) || math.IsInf(v, 0) {
			return nil, nil, fmt.Errorf("linear: measurement %d: latency %g ms is not a positive finite number", i, v)
		}
		if logTarget {
			v = math.Log(v)
		}
		rows[i], y[i] = r, v
	}
	return rows, y, nil
}

// Huber's iterations stop when no weight moves by more than huberTol (in
// target units) or after huberMaxIter refits; the fit converges in a
// dozen or so on the FBNet phones.
const (
	huberMaxIter = 50
	huberTol     = 1e-9
)

// fitRows solves for the weights under opt's loss.
func fitRows(feat *Features, rows [][]int, y []float64, opt Options) (float64, []float64, error) {
	pen := make([]float64, feat.Dim())
	for j := range pen {
		if j < feat.MainEffects() {
			pen[j] = opt.Ridge
		} else {
			pen[j] = opt.PairRidge
		}
	}
	u := make([]float64, len(rows))
	for i := range u {
		u[i] = 1
	}
	bias, w, err := ridgeFit(feat.Dim(), rows, y, u, pen)
	if err != nil || opt.Loss == Squared {
		return bias, w, err
	}
	res := make([]float64, len(rows))
	abs := make([]float64, len(rows))
	for range huberMaxIter {
		for i, r := range rows {
			p := bias
			for _, j := range r {
				p += w[j]
			}
			res[i] = y[i] - p
			abs[i] = math.Abs(res[i])
		}
		sort.Float64s(abs)
		// The median absolute deviation, scaled to a Gaussian standard
		// deviation, estimates the noise without the outliers.
		scale := abs[len(abs)/2] / 0.6744897501960817
		if scale == 0 {
			break // more than half the data fit exactly: nothing to downweight
		}
		cut := opt.HuberK * scale
		for i := range u {
			if a := math.Abs(res[i]); a > cut {
				u[i] = cut / a
			} else {
				u[i] = 1
			}
		}
		nb, nw, err := ridgeFit(feat.Dim(), rows, y, u, pen)
		if err != nil {
			return 0, nil, err
		}
		moved := math.Abs(nb - bias)
		for j := range nw {
			moved = max(moved, math.Abs(nw[j]-w[j]))
		}
		bias, w = nb, nw
		if moved <= huberTol {
			break
		}
	}
	return bias, w, nil
}

// Space is the name of the space the model was fit for.
func (m *Model) Space() string { return m.spaceName }

// Options are the settings the model was fit with, defaults filled in.
func (m *Model) Options() Options { return m.opt }

// Features is the model's feature map, for the names of its weights.
func (m *Model) Features() *Features { return m.feat }

// Weights returns the bias and a copy of the weights in Features order
// (in log-milliseconds when the model was fit on log latency).
func (m *Model) Weights() (bias float64, w []float64) {
	return m.bias, slices.Clone(m.w)
}

// Measurements is the number of networks the model was fit on.
func (m *Model) Measurements() int { return m.nTrain }

// Latency predicts the latency in ms of a network of the model's space.
// A network of another space, or not from a space at all, cannot be
// priced: the error wraps latency.ErrUnsupported.
func (m *Model) Latency(n *latency.Net) (float64, error) {
	if n == nil {
		return 0, fmt.Errorf("linear model of space %s: no network", m.spaceName)
	}
	if n.Space != m.spaceName {
		what := fmt.Sprintf("a network of space %q", n.Space)
		if n.Space == "" {
			what = fmt.Sprintf("network %q, which is not from a search space", n.Key)
		}
		return 0, fmt.Errorf("linear model fit for space %s cannot price %s: %w", m.spaceName, what, latency.ErrUnsupported)
	}
	if err := m.feat.Check(n.Choice); err != nil {
		return 0, fmt.Errorf("linear model fit for space %s: network %q: %v: %w", m.spaceName, n.Key, err, latency.ErrUnsupported)
	}
	return m.predict(n.Choice), nil
}

// Predict is Latency for a bare choice vector of the model's space.
func (m *Model) Predict(choice []int) (float64, error) {
	if err := m.feat.Check(choice); err != nil {
		return 0, fmt.Errorf("linear model fit for space %s: %w", m.spaceName, err)
	}
	return m.predict(choice), nil
}

// predict is Predict without the check.
func (m *Model) predict(choice []int) float64 {
	s := m.feat.sum(m.bias, m.w, choice)
	if m.opt.Log {
		return math.Exp(s)
	}
	return s
}

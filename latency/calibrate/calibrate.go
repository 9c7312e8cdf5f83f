// Package calibrate fits a model of a new device from a user's measured
// networks and says, by cross-validation, how far to trust it. It is what
// `fleetnas calibrate` runs: the user measures a few hundred networks of a
// search space on their device, and gets back a device model to put in a
// fleet file, with its held-out MAPE, RMSE, rank correlations and the
// share of networks within ±5% and ±10% (nn-Meter's headline figure).
package calibrate

import (
	"fmt"
	"io"
	"strings"

	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/latency/linear"
	"github.com/fleetnas/fleetnas/latency/roofline"
	"github.com/fleetnas/fleetnas/space"
)

// Kinds are the device model kinds calibration can fit.
var kinds = []string{"linear", "lut", "roofline"}

// Kinds lists the kinds calibration can fit.
func Kinds() []string { return append([]string(nil), kinds...) }

// Options tune a calibration.
type Options struct {
	// Kind of model: linear (default), lut or roofline.
	Kind string
	// Folds of cross-validation (default 5); 1 means leave-one-out.
	Folds int
	// Seed of the fold assignment.
	Seed uint64
	// Resolution at which the measured networks ran (0: the space's
	// default). Only lut and roofline models look at shapes.
	Resolution int
	// Linear selects the linear model: "robust" (default: log latency,
	// Huber loss) or "additive" (TuNAS's least squares in ms).
	Linear string
	// Prior is the roofline to start from (nil: a generic mobile CPU).
	Prior *roofline.Params
	// Name of the device, stored in saved files.
	Name string
}

// Result is a fitted device model and its cross-validated error.
type Result struct {
	Kind     string
	Space    string
	N        int
	Accuracy latency.Accuracy
	Model    latency.Model
	save     func(io.Writer) error
}

// Save writes the fitted model in the file format its kind's fleet entry
// reads (linear: model_file; roofline: params_file; lut: table).
func (r *Result) Save(w io.Writer) error { return r.save(w) }

// GenericCPU is the roofline prior used when none is given: an int8
// mobile CPU in the range of MobileNetV4's Table 6 phones.
func GenericCPU() roofline.Params {
	p, _, err := roofline.MNV4Prior("pixel6_cpu")
	if err != nil {
		panic(err) // the built-in device table is part of the binary
	}
	return p
}

// Run fits a model of kind opt.Kind to the measurements and
// cross-validates it.
func Run(sp space.Space, m *latency.Measurements, opt Options) (*Result, error) {
	if opt.Kind == "" {
		opt.Kind = "linear"
	}
	if opt.Folds == 0 {
		opt.Folds = 5
	}
	if opt.Folds < 1 || opt.Folds > len(m.MS) {
		return nil, fmt.Errorf("folds must be in 1..%d (1 = leave-one-out), got %d", len(m.MS), opt.Folds)
	}
	if len(m.MS) < 2 {
		return nil, fmt.Errorf("need at least 2 measured networks, got %d", len(m.MS))
	}
	if opt.Name == "" {
		opt.Name = "device"
	}
	folds := opt.Folds
	if folds == 1 {
		folds = len(m.MS)
	}
	method := fmt.Sprintf("%d-fold CV on %d measured networks", folds, len(m.MS))
	if folds == len(m.MS) {
		method = fmt.Sprintf("leave-one-out on %d measured networks", len(m.MS))
	}
	res := &Result{Kind: opt.Kind, Space: sp.Name(), N: len(m.MS)}
	switch opt.Kind {
	case "linear":
		lo := linear.Robust()
		switch opt.Linear {
		case "", "robust":
		case "additive":
			lo = linear.TuNAS()
		default:
			return nil, fmt.Errorf("linear model %q: one of robust, additive", opt.Linear)
		}
		acc, err := linear.CrossValidate(sp.Name(), sp.Decisions(), m.Choices, m.MS, lo, folds, opt.Seed)
		if err != nil {
			return nil, err
		}
		acc.Method = method
		lm, err := linear.Fit(sp.Name(), sp.Decisions(), m.Choices, m.MS, lo)
		if err != nil {
			return nil, err
		}
		lm.Accuracy = acc
		res.Accuracy, res.Model, res.save = acc, lm, lm.Save
	case "roofline":
		samples, err := samplesOf(sp, m, opt.Resolution)
		if err != nil {
			return nil, err
		}
		prior := GenericCPU()
		if opt.Prior != nil {
			prior = *opt.Prior
		}
		fo := roofline.FitOptions{Free: []roofline.Knob{roofline.KnobPeak, roofline.KnobBandwidth, roofline.KnobDepthwise,
			roofline.KnobElementwise, roofline.KnobOverhead, roofline.KnobNetworkOverhead}}
		acc, err := roofline.CrossValidate(samples, prior, fo, folds, opt.Seed)
		if err != nil {
			return nil, err
		}
		acc.Method = method
		fit, err := roofline.Fit(samples, prior, fo)
		if err != nil {
			return nil, err
		}
		dev := roofline.Device{Name: opt.Name, Model: fit.Model, Accuracy: acc, Samples: len(samples)}
		res.Accuracy, res.Model = acc, fit.Model
		res.save = func(w io.Writer) error { return roofline.WriteJSON(w, dev) }
	case "lut":
		return runLUT(sp, m, opt, folds, method, res)
	default:
		return nil, fmt.Errorf("unknown model kind %q; one of %s", opt.Kind, strings.Join(kinds, ", "))
	}
	return res, nil
}

// samplesOf builds every measured network at the measurement resolution.
func samplesOf(sp space.Space, m *latency.Measurements, resolution int) ([]roofline.Sample, error) {
	out := make([]roofline.Sample, len(m.MS))
	for i, c := range m.Choices {
		n, err := latency.FromSpace(sp, c, resolution)
		if err != nil {
			return nil, fmt.Errorf("network %s: %w", m.Keys[i], err)
		}
		out[i] = roofline.Sample{Name: m.Keys[i], Net: n, LatencyMS: m.MS[i]}
	}
	return out, nil
}

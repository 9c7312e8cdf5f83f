package profile

import (
	"errors"
	"fmt"
	"math"

	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/latency/lut"
	"github.com/fleetnas/fleetnas/ort"
	"github.com/fleetnas/fleetnas/setting"
	"github.com/fleetnas/fleetnas/space"
)

// Row is one validated network.
type Row struct {
	Network     string  `json:"network"`
	PredictedMs float64 `json:"predicted_ms"`
	ort.Summary
	// Slowdown and Slowed are the quiet gate's view of the measurement
	// (see Timing).
	Slowdown float64 `json:"slowdown,omitempty"`
	Slowed   bool    `json:"slowed,omitempty"`
}

// Correction is a linear map of a table's predictions, measured ≈
// Scale·predicted + OffsetMs, fitted by least squares on relative errors
// (each network weighted by 1/measured², so that small and large networks
// count alike, as MAPE does).
type Correction struct {
	Scale    float64 `json:"scale"`
	OffsetMs float64 `json:"offset_ms"`
}

// Apply corrects a prediction.
func (c Correction) Apply(ms float64) float64 { return c.Scale*ms + c.OffsetMs }

// Table returns a copy of t with the correction folded in: every entry
// times Scale, the constant times Scale plus OffsetMs. It needs a
// positive Scale (entries stay >= 0).
func (c Correction) Table(t *lut.Table, name string) (*lut.Table, error) {
	if !(c.Scale > 0) {
		return nil, fmt.Errorf("a correction with scale %g cannot be folded into a table", c.Scale)
	}
	out := lut.New(name, fmt.Sprintf("%s; corrected x%.4f %+.4f ms by fleetnas validate", t.Source, c.Scale, c.OffsetMs), c.Scale*t.Constant+c.OffsetMs)
	for _, e := range t.Entries() {
		if err := out.Set(e.Signature, c.Scale*e.Ms); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ValidateReport compares a table with whole-network measurements.
type ValidateReport struct {
	Space      string `json:"space"`
	Resolution int    `json:"resolution"`
	Threads    int    `json:"threads"`
	Clock      string `json:"clock"`
	// Raw scores the table as it is on all networks.
	Raw latency.Accuracy `json:"raw"`
	// BiasPct is the mean signed relative error of the raw table (%):
	// positive when it over-predicts (an additive table counts per-run
	// overhead and layout conversions once per block; fused layers and
	// warm caches make a whole network faster than its parts).
	BiasPct float64 `json:"bias_pct"`
	// Fit is the correction fitted on the first half of the networks
	// (even positions); HeldOutRaw and HeldOutCorrected score the raw and
	// corrected table on the other half, which the fit never saw.
	Fit              Correction       `json:"fit"`
	HeldOutRaw       latency.Accuracy `json:"held_out_raw"`
	HeldOutCorrected latency.Accuracy `json:"held_out_corrected"`
	// FitAll is the correction fitted on every network: the one to apply
	// from now on (Correction.Table).
	FitAll Correction `json:"fit_all"`
	// Noisy counts networks whose runs varied more than ort.NoisyCV;
	// Slowed those measured while the quiet gate saw the machine slowed
	// by other work, even after waiting and measuring again; LoadBefore
	// and LoadAfter are the 1-minute load averages.
	Noisy      int `json:"noisy_networks"`
	Slowed     int `json:"slowed_networks"`
	Remeasured int `json:"remeasured"`
	// WaitSeconds is the time spent waiting for a quiet machine.
	WaitSeconds float64 `json:"wait_seconds"`
	LoadBefore  float64 `json:"load_before"`
	LoadAfter   float64 `json:"load_after"`
	Rows        []Row   `json:"networks"`
}

// NoisyMachine reports whether so many networks had unstable timings
// (more than a tenth) that the scores say more about the machine's other
// work than about the table.
func (r *ValidateReport) NoisyMachine() bool { return (r.Noisy+r.Slowed)*10 > len(r.Rows) }

// BiasThresholdPct is the mean relative error above which a table is
// called biased and its correction recommended.
const BiasThresholdPct = 3

// Biased reports whether the raw table is off on average by more than
// BiasThresholdPct.
func (r *ValidateReport) Biased() bool { return math.Abs(r.BiasPct) > BiasThresholdPct }

// Validate predicts n random networks of sp (drawn from seed) at
// resolution res with table t, measures them whole with ONNX Runtime, and
// scores the table raw and with a correction fitted on half of them
// (DefaultValidateSamples is the usual n; fewer than 4 is an error about
// the setting "samples"). progress, if not nil, is called after each
// network.
//
// The networks are built at target (zero fields take the space's default
// resolution and classes and 3 channels), which should be the target the
// table was profiled for.
func Validate(t *lut.Table, sp space.Space, target space.Options, n int, seed uint64, opt Options, progress func(done, total int)) (*ValidateReport, error) {
	if n < 4 {
		return nil, setting.Errorf("samples", "validate needs at least 4 networks (2 to fit a correction, 2 to test it), got %d", n)
	}
	opt = opt.withDefaults()
	if target.Resolution == 0 {
		target.Resolution = sp.DefaultResolution()
	}
	res := target.Resolution
	rep := &ValidateReport{Space: sp.Name(), Resolution: res, Threads: opt.Threads, Clock: opt.Clock.String(), LoadBefore: LoadAverage()}
	tm, err := newTimer(opt)
	if err != nil {
		return nil, err
	}
	defer tm.Close()
	pred, meas := make([]float64, n), make([]float64, n)
	nets := make([]*latency.Net, n)
	jobs := make([]job, n)
	for i, c := range space.Sample(sp, n, seed) {
		net, err := latency.FromSpaceAt(sp, c, target)
		if err != nil {
			return nil, err
		}
		if pred[i], err = t.Latency(net); err != nil {
			return nil, fmt.Errorf("table %s cannot price %s: %w", t.Name, net.Key, err)
		}
		nets[i] = net
		jobs[i] = job{what: "measuring " + net.Key, g: net.Graph, opt: opt}
	}
	if rep.Remeasured, err = tm.measureAll(jobs, progress); err != nil {
		return nil, err
	}
	for i, j := range jobs {
		m := j.t
		if m.Noisy() {
			rep.Noisy++
		}
		if m.Slowed {
			rep.Slowed++
		}
		meas[i] = m.MedianMs
		rep.Rows = append(rep.Rows, Row{Network: nets[i].Key, PredictedMs: pred[i], Summary: m.Summary, Slowdown: m.Slowdown, Slowed: m.Slowed})
	}
	if tm.gate != nil {
		rep.WaitSeconds = tm.gate.Waited.Seconds()
	}
	rep.LoadAfter = LoadAverage()
	method := fmt.Sprintf("%d random %s networks at %d px, ONNX Runtime %d thread(s), %s clock", n, sp.Name(), res, opt.Threads, opt.Clock)
	if rep.Raw, err = latency.Score(method, pred, meas); err != nil {
		return nil, err
	}
	for i := range pred {
		rep.BiasPct += 100 * (pred[i] - meas[i]) / meas[i] / float64(n)
	}
	var fitP, fitM, testP, testM []float64
	for i := range pred {
		if i%2 == 0 {
			fitP, fitM = append(fitP, pred[i]), append(fitM, meas[i])
		} else {
			testP, testM = append(testP, pred[i]), append(testM, meas[i])
		}
	}
	if rep.Fit, err = FitCorrection(fitP, fitM); err != nil {
		return nil, err
	}
	if rep.FitAll, err = FitCorrection(pred, meas); err != nil {
		return nil, err
	}
	corrected := make([]float64, len(testP))
	for i, p := range testP {
		corrected[i] = rep.Fit.Apply(p)
	}
	half := fmt.Sprintf("held-out half (%d of %s)", len(testP), method)
	if rep.HeldOutRaw, err = latency.Score(half+", raw", testP, testM); err != nil {
		return nil, err
	}
	if rep.HeldOutCorrected, err = latency.Score(half+", corrected on the other half", corrected, testM); err != nil {
		return nil, err
	}
	return rep, nil
}

// FitCorrection fits measured ≈ a·predicted + b minimising the squared
// relative errors Σ((a·p+b-m)/m)² (closed-form weighted least squares).
func FitCorrection(pred, meas []float64) (Correction, error) {
	if len(pred) != len(meas) || len(pred) < 2 {
		return Correction{}, fmt.Errorf("a correction needs at least 2 networks with a prediction each, got %d and %d", len(pred), len(meas))
	}
	var sw, sp, sm, spp, spm float64
	for i, p := range pred {
		m := meas[i]
		if !(m > 0) {
			return Correction{}, fmt.Errorf("measurement %d is %g ms", i, m)
		}
		w := 1 / (m * m)
		sw += w
		sp += w * p
		sm += w * m
		spp += w * p * p
		spm += w * p * m
	}
	det := sw*spp - sp*sp
	if math.Abs(det) <= 1e-12*sw*spp {
		return Correction{}, errors.New("the predictions are all equal: no correction can be fitted")
	}
	a := (sw*spm - sp*sm) / det
	return Correction{Scale: a, OffsetMs: (sm - a*sp) / sw}, nil
}

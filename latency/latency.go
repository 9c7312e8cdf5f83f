// Package latency defines how fleetnas predicts a network's latency on a
// device: one Model interface implemented by several kinds (per-op lookup
// tables, roofline models, calibrated rooflines, per-network tables,
// learned linear models; see the sub-packages), the Net that every model
// reads, and the error statistics that travel with every model so that a
// user sees how far to trust its numbers.
//
// Measurements win over predictions: a model that holds measurements of
// whole networks implements Measured and returns the measurement for
// those networks from Latency too, so every caller sees it; Of tells a
// report whether a latency was measured. Networks are identified by
// structure (FingerprintOf, SameStructure, Lookup), not by name, so a
// search-space member identical to a measured model gets its measurement.
// Accuracy reports, next to a model's held-out latency error, the
// held-out error of the latency ratio to a reference (WithRatios), which
// is what a search optimises.
package latency

import (
	"errors"
	"fmt"
	"math"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/space"
)

// Net is a network as device models see it: its lowered graph at the
// deployment resolution and, when it comes from a search space, the space,
// choice vector and canonical string (what tabular and learned models key
// on).
type Net struct {
	Space  string
	Choice []int
	Key    string
	Graph  *arch.Graph
}

// FromNetwork lowers a network at a resolution (0 = its own).
func FromNetwork(n *arch.Network, resolution int) (*Net, error) {
	g, err := n.Lower(resolution)
	if err != nil {
		return nil, err
	}
	return &Net{Graph: g, Key: n.Name}, nil
}

// FromSpace builds the network of a choice vector at a resolution (0 = the
// space's default) and keeps its identity in the space.
func FromSpace(sp space.Space, choice []int, resolution int) (*Net, error) {
	return FromSpaceAt(sp, choice, space.Options{Resolution: resolution})
}

// FromSpaceAt builds the network of a choice vector at a deployment
// target (resolution, input channels, classes; zero fields take the
// space's defaults) and keeps its identity in the space.
func FromSpaceAt(sp space.Space, choice []int, opt space.Options) (*Net, error) {
	key, err := sp.Format(choice)
	if err != nil {
		return nil, err
	}
	n, err := sp.Network(choice, opt)
	if err != nil {
		return nil, err
	}
	g, err := n.Lower(0)
	if err != nil {
		return nil, err
	}
	return &Net{Space: sp.Name(), Choice: append([]int(nil), choice...), Key: key, Graph: g}, nil
}

// Model predicts latency in milliseconds. Implementations are safe for
// concurrent use once built.
type Model interface {
	Latency(n *Net) (float64, error)
}

// ErrUnsupported is wrapped by models that cannot price a network at all
// (a table device asked about a network of another space, a lookup table
// asked about an op it never measured).
var ErrUnsupported = errors.New("network not supported by this device model")

// Accuracy is a model's error on measurements it did not see (or "exact"
// for tables that are the measurements).
type Accuracy struct {
	// Method says how the figures were obtained, e.g. "5-fold CV on 5000
	// measured networks", "leave-one-model-out", "exact: measured table".
	Method string `json:"method"`
	N      int    `json:"n"`
	// MAPE and MedianAPE in percent; RMSE in ms.
	MAPE      float64 `json:"mape_pct"`
	MedianAPE float64 `json:"median_ape_pct"`
	RMSE      float64 `json:"rmse_ms"`
	Spearman  float64 `json:"spearman"`
	Kendall   float64 `json:"kendall"`
	// Within5 and Within10 are the shares (0..1) of networks predicted
	// within ±5% and ±10% (nn-Meter's headline figure).
	Within5  float64 `json:"within_5pct"`
	Within10 float64 `json:"within_10pct"`
	// RatioN, RatioMAPE (percent) and RatioWithin10 (share 0..1) are the
	// held-out error of the latency ratio a search optimises, predicted
	// latency / reference latency, against the measured ratio, over the
	// same held-out predictions as the figures above (without the
	// reference network itself; see WithRatios). A device's absolute
	// error says little about its ratio error when the reference is
	// predicted too: both errors can add up or cancel. RatioN is 0 when
	// the ratio error is not known (no held-out predictions, or a
	// reference that was not measured on the device).
	RatioN        int     `json:"ratio_n,omitempty"`
	RatioMAPE     float64 `json:"ratio_mape_pct,omitempty"`
	RatioWithin10 float64 `json:"ratio_within_10pct,omitempty"`
}

// Exact is the Accuracy of a device that is its own measurements.
func Exact(method string, n int) Accuracy {
	return Accuracy{Method: method, N: n, Spearman: 1, Kendall: 1, Within5: 1, Within10: 1}
}

// String is a one-line summary for tables.
func (a Accuracy) String() string {
	if a.N == 0 {
		if a.Method != "" {
			return "not compared with measurements: " + a.Method
		}
		return "unknown error (no held-out measurements)"
	}
	if a.MAPE == 0 && a.Within10 == 1 && a.Kendall == 1 {
		return fmt.Sprintf("exact (%s)", a.Method)
	}
	s := fmt.Sprintf("MAPE %.1f%%, %.0f%% within ±10%%, Kendall %.2f", a.MAPE, 100*a.Within10, a.Kendall)
	if a.RatioN == 0 {
		return s + fmt.Sprintf(" (%s, n=%d)", a.Method, a.N)
	}
	s += fmt.Sprintf("; ratio MAPE %.1f%%, %.0f%% within ±10%% (%s, n=%d", a.RatioMAPE, 100*a.RatioWithin10, a.Method, a.N)
	if a.RatioN != a.N {
		s += fmt.Sprintf(", ratio n=%d", a.RatioN)
	}
	return s + ")"
}

// Score compares predictions with measurements. Both must have the same
// length, at least 2, and positive finite measurements.
func Score(method string, pred, meas []float64) (Accuracy, error) {
	if len(pred) != len(meas) {
		return Accuracy{}, fmt.Errorf("%d predictions for %d measurements", len(pred), len(meas))
	}
	if len(pred) < 2 {
		return Accuracy{}, fmt.Errorf("need at least 2 measurements to score a model, got %d", len(pred))
	}
	a := Accuracy{Method: method, N: len(pred)}
	apes := make([]float64, len(pred))
	var se float64
	for i := range pred {
		m, p := meas[i], pred[i]
		if !(m > 0) || math.IsInf(m, 0) || math.IsNaN(p) || math.IsInf(p, 0) {
			return Accuracy{}, fmt.Errorf("measurement %d: latency %g / prediction %g is not a positive finite number", i, m, p)
		}
		ape := math.Abs(p-m) / m
		apes[i] = 100 * ape
		a.MAPE += 100 * ape
		se += (p - m) * (p - m)
		if ape <= 0.05+1e-12 {
			a.Within5++
		}
		if ape <= 0.10+1e-12 {
			a.Within10++
		}
	}
	n := float64(len(pred))
	a.MAPE /= n
	a.RMSE = math.Sqrt(se / n)
	a.Within5 /= n
	a.Within10 /= n
	a.MedianAPE = median(apes)
	a.Spearman = Spearman(pred, meas)
	a.Kendall = Kendall(pred, meas)
	return a, nil
}

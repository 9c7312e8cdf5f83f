// Package metric turns per-device latencies into the multi-hardware metrics
// of Chu et al. (2020) and into search rewards. Each device's latency L_d is
// normalised by its reference R_d (a target in ms, or a reference model's
// latency on that device): r_d = L_d / R_d. AVG is the weighted mean of the
// ratios (the average case over the fleet), MAX the largest ratio (the
// worst device).
package metric

import (
	"fmt"
	"math"
	"strings"
)

// Ratios returns L_d / R_d. References must be positive.
func Ratios(lat, ref []float64) ([]float64, error) {
	if len(lat) != len(ref) {
		return nil, fmt.Errorf("%d latencies for %d references", len(lat), len(ref))
	}
	r := make([]float64, len(lat))
	for i := range lat {
		if !(ref[i] > 0) || math.IsInf(ref[i], 0) {
			return nil, fmt.Errorf("device %d: reference %g ms is not a positive number", i, ref[i])
		}
		r[i] = lat[i] / ref[i]
	}
	return r, nil
}

// Avg is the weighted mean of the ratios; nil weights mean equal weights.
func Avg(r, w []float64) float64 {
	if w == nil {
		var s float64
		for _, x := range r {
			s += x
		}
		return s / float64(len(r))
	}
	var s, sw float64
	for i, x := range r {
		s += w[i] * x
		sw += w[i]
	}
	return s / sw
}

// Max is the worst (largest) ratio.
func Max(r []float64) float64 {
	m := math.Inf(-1)
	for _, x := range r {
		m = math.Max(m, x)
	}
	return m
}

// Kind selects the metric a search optimises.
type Kind struct {
	// Name is "avg", "max" or "device".
	Name string
	// Device is the device of a "device" metric.
	Device string
}

// ParseKind reads "avg", "max" or "device:NAME".
func ParseKind(s string) (Kind, error) {
	switch {
	case s == "avg" || s == "max":
		return Kind{Name: s}, nil
	case strings.HasPrefix(s, "device:") && len(s) > len("device:"):
		return Kind{Name: "device", Device: strings.TrimPrefix(s, "device:")}, nil
	}
	return Kind{}, fmt.Errorf("unknown metric %q: one of avg, max, device:NAME", s)
}

func (k Kind) String() string {
	if k.Name == "device" {
		return "device:" + k.Device
	}
	return k.Name
}

// Reward is how accuracy and a latency metric combine into the search's
// objective.
type Reward struct {
	// Kind is "abs" (TuNAS), "mnas" (MnasNet soft) or "hard".
	Kind string
	// Target T0 of the metric (a ratio for avg/max, ms for a device's raw
	// latency when the fleet's references are 1 ms).
	Target float64
	// Beta (< 0) weighs the latency term.
	Beta float64
}

// ParseReward checks the settings of a reward.
func ParseReward(kind string, target, beta float64) (Reward, error) {
	switch kind {
	case "abs", "mnas", "hard":
	default:
		return Reward{}, fmt.Errorf("unknown reward %q: one of abs (TuNAS), mnas (MnasNet soft), hard", kind)
	}
	if !(target > 0) || math.IsInf(target, 0) {
		return Reward{}, fmt.Errorf("target must be a positive number, got %g", target)
	}
	if kind != "hard" && !(beta < 0) {
		return Reward{}, fmt.Errorf("beta must be negative (it penalises missing the target), got %g", beta)
	}
	return Reward{Kind: kind, Target: target, Beta: beta}, nil
}

// Of returns the reward of accuracy q (0..1 or %; any scale) at metric m.
//   - abs:  q + beta*|m/T0 - 1| (TuNAS's absolute reward: it pushes the
//     metric onto the target from both sides, so the search cannot win by
//     being needlessly fast);
//   - mnas: q * (m/T0)^beta (MnasNet's soft constraint, alpha = beta);
//   - hard: q while m <= T0, else q * (m/T0)^-1 (MnasNet's hard setting,
//     alpha = 0, beta = -1), so over-target networks always lose to an
//     equally accurate one on target.
func (r Reward) Of(q, m float64) float64 {
	x := m / r.Target
	switch r.Kind {
	case "abs":
		return q + r.Beta*math.Abs(x-1)
	case "mnas":
		return q * math.Pow(x, r.Beta)
	default:
		if x <= 1 {
			return q
		}
		return q / x
	}
}

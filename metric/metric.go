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
	"slices"
	"strings"

	"github.com/fleetnas/fleetnas/setting"
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

// Kind is the kind of fleet metric a search optimises.
type Kind int

// The fleet metrics of Chu et al. (2020), and one device's ratio alone
// (the paper's single-device searches).
const (
	// KindAvg is the weighted mean of the ratios.
	KindAvg Kind = iota + 1
	// KindMax is the largest ratio.
	KindMax
	// KindDevice is one device's ratio.
	KindDevice
)

// Metric names what a search optimises: AVG, MAX or one device's ratio.
// Its text form ("avg", "max", "device:NAME") is what settings files,
// result.json and the command line use.
type Metric struct {
	Kind Kind
	// Device is the device of a KindDevice metric.
	Device string
}

// Parse reads "avg", "max" or "device:NAME".
func Parse(s string) (Metric, error) {
	switch {
	case s == "avg":
		return Metric{Kind: KindAvg}, nil
	case s == "max":
		return Metric{Kind: KindMax}, nil
	case strings.HasPrefix(s, "device:") && len(s) > len("device:"):
		return Metric{Kind: KindDevice, Device: strings.TrimPrefix(s, "device:")}, nil
	}
	return Metric{}, fmt.Errorf("unknown metric %q: one of avg, max, device:NAME", s)
}

// String is the text form Parse reads ("" for the zero Metric).
func (m Metric) String() string {
	switch m.Kind {
	case KindAvg:
		return "avg"
	case KindMax:
		return "max"
	case KindDevice:
		return "device:" + m.Device
	}
	return ""
}

// MarshalText writes the text form, so that JSON and YAML hold "max".
func (m Metric) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads the text form; an empty text is the zero Metric
// (no metric chosen yet).
func (m *Metric) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*m = Metric{}
		return nil
	}
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Scope is a metric over the devices of a fleet: their weights, and
// which of them the metric covers. Held-out devices are priced and
// reported but never optimised (the paper's generalisation experiment),
// so AVG and MAX leave them out; AllAvg and AllMax include them. This is
// the one place where ratios become fleet metrics for a search.
type Scope struct {
	metric  Metric
	devices []string
	weights []float64
	in      []bool
	device  int // index of a KindDevice metric's device
}

// Values are a network's fleet metrics.
type Values struct {
	// Avg (weighted) and Max are over the devices the metric covers.
	Avg, Max float64
	// AllAvg (weighted) and AllMax are over every device, held out or not.
	AllAvg, AllMax float64
	// Metric is the value the search optimises: Avg, Max or the device's
	// ratio.
	Metric float64
}

// NewScope returns metric m over devices (in fleet order) with their
// weights, leaving out the devices named in heldOut. Errors name the
// setting at fault: "metric" or "holdout".
func NewScope(m Metric, devices []string, weights []float64, heldOut []string) (*Scope, error) {
	if len(weights) != len(devices) {
		return nil, fmt.Errorf("metric: %d weights for %d devices", len(weights), len(devices))
	}
	index := make(map[string]int, len(devices))
	for i, d := range devices {
		index[d] = i
		if w := weights[i]; !(w > 0) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("metric: device %s: weight %g is not a positive number", d, w)
		}
	}
	s := &Scope{metric: m, devices: slices.Clone(devices), weights: slices.Clone(weights), in: make([]bool, len(devices)), device: -1}
	for i := range s.in {
		s.in[i] = true
	}
	for _, h := range heldOut {
		i, ok := index[h]
		if !ok {
			return nil, setting.Errorf("holdout", "no device %q in the fleet; devices: %v", h, devices)
		}
		s.in[i] = false
	}
	if !slices.Contains(s.in, true) {
		return nil, setting.Errorf("holdout", "leaves no device to search on")
	}
	switch m.Kind {
	case KindAvg, KindMax:
	case KindDevice:
		i, ok := index[m.Device]
		if !ok {
			return nil, setting.Errorf("metric", "no device %q in the fleet; devices: %v", m.Device, devices)
		}
		if !s.in[i] {
			return nil, setting.Errorf("metric", "device:%s is held out", m.Device)
		}
		s.device = i
	default:
		return nil, setting.Errorf("metric", "no metric given: one of avg, max, device:NAME")
	}
	return s, nil
}

// Metric is the metric the scope computes.
func (s *Scope) Metric() Metric { return s.metric }

// HeldOut reports, in fleet order, which devices the metric leaves out.
func (s *Scope) HeldOut() []bool {
	out := make([]bool, len(s.in))
	for i, in := range s.in {
		out[i] = !in
	}
	return out
}

// Of computes the fleet metrics of a network from its ratios (in fleet
// order, one per device).
func (s *Scope) Of(ratios []float64) Values {
	var v Values
	var sum, sw, all, allW float64
	v.Max, v.AllMax = math.Inf(-1), math.Inf(-1)
	for i, r := range ratios {
		w := s.weights[i]
		all += w * r
		allW += w
		v.AllMax = math.Max(v.AllMax, r)
		if s.in[i] {
			sum += w * r
			sw += w
			v.Max = math.Max(v.Max, r)
		}
	}
	v.Avg, v.AllAvg = sum/sw, all/allW
	switch s.metric.Kind {
	case KindAvg:
		v.Metric = v.Avg
	case KindMax:
		v.Metric = v.Max
	default:
		v.Metric = ratios[s.device]
	}
	return v
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

// ParseReward checks the settings of a reward. Errors name the setting
// at fault: "reward", "target" or "beta".
func ParseReward(kind string, target, beta float64) (Reward, error) {
	switch kind {
	case "abs", "mnas", "hard":
	default:
		return Reward{}, setting.Errorf("reward", "unknown reward %q: one of abs (TuNAS), mnas (MnasNet soft), hard", kind)
	}
	if !(target > 0) || math.IsInf(target, 0) {
		return Reward{}, setting.Errorf("target", "must be a positive number, got %g", target)
	}
	if kind != "hard" && !(beta < 0) {
		return Reward{}, setting.Errorf("beta", "must be negative (it penalises missing the target), got %g", beta)
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

// Feasibility says whether a network meets the target of the metric a
// search optimised: MAX <= T for max, AVG <= T for avg, the device's
// ratio <= T for device:NAME.
type Feasibility struct {
	// Met is set when the metric is at or below the target.
	Met bool `json:"met"`
	// Metric names the metric; Value is the network's and Target the
	// target.
	Metric string  `json:"metric"`
	Value  float64 `json:"value"`
	Target float64 `json:"target"`
	// Miss is Value/Target - 1 when the target is missed (0 when met).
	Miss float64 `json:"miss,omitempty"`
	// Over lists the devices searched on whose own ratio exceeds the
	// target: with max, the devices that miss it; with avg, the devices
	// the average hides.
	Over []string `json:"devices_over_target,omitempty"`
}

// Feasibility judges a network's ratios (in fleet order) against target.
func (s *Scope) Feasibility(ratios []float64, target float64) Feasibility {
	v := s.Of(ratios)
	f := Feasibility{Metric: s.metric.String(), Value: v.Metric, Target: target, Met: v.Metric <= target}
	if !f.Met {
		f.Miss = v.Metric/target - 1
	}
	for i, r := range ratios {
		if s.in[i] && r > target && (s.metric.Kind != KindDevice || i == s.device) {
			f.Over = append(f.Over, s.devices[i])
		}
	}
	return f
}

// String says in a line whether the target is met, by how much it is
// missed and where.
func (f Feasibility) String() string {
	name := strings.ToUpper(f.Metric)
	if strings.HasPrefix(f.Metric, "device:") {
		name = strings.TrimPrefix(f.Metric, "device:") + "'s ratio"
	}
	if f.Met {
		s := fmt.Sprintf("target met: %s %.3f <= %g", name, f.Value, f.Target)
		if len(f.Over) > 0 {
			s += fmt.Sprintf(" (over it alone: %s)", strings.Join(f.Over, ", "))
		}
		return s
	}
	s := fmt.Sprintf("target missed: %s %.3f > %g, by %.1f%%", name, f.Value, f.Target, 100*f.Miss)
	if len(f.Over) > 0 {
		s += fmt.Sprintf(" (over: %s)", strings.Join(f.Over, ", "))
	}
	return s
}

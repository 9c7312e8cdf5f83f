package bench

import (
	"context"

	"github.com/fleetnas/fleetnas/job"
	"github.com/fleetnas/fleetnas/metric"
	"github.com/fleetnas/fleetnas/price"
)

// MultiHWRow is one search of the multi-hardware experiment: the metric
// it optimised and the network it found, priced on every device.
type MultiHWRow struct {
	Objective string    `json:"objective"`
	Chosen    string    `json:"chosen"`
	Accuracy  float64   `json:"accuracy"`
	Ratio     []float64 `json:"ratio"`
	// Avg and Max are over the devices searched on; AllAvg and AllMax
	// include the held-out ones (both averages weighted by the fleet's
	// device weights).
	Avg    float64 `json:"avg"`
	Max    float64 `json:"max"`
	AllAvg float64 `json:"avg_all_devices"`
	AllMax float64 `json:"max_all_devices"`
	Reward float64 `json:"reward"`
}

// MultiHW runs the paper's central experiment: one search per device not
// held out (metric device:D), one with AVG and one with MAX, all with the
// same target, reward, algorithm, budget and seed, each by the one search
// loop; held-out devices are priced but never searched on. With algorithm
// "exhaustive", one enumeration prices every network and each objective
// takes its exact optimum. It returns the fleet's devices, which of them
// are held out, and a row per objective.
func MultiHW(ctx context.Context, base job.Settings) (devices []string, held []bool, rows []MultiHWRow, err error) {
	base = base.Defaults()
	base.Metric = metric.Metric{Kind: metric.KindAvg}
	p, err := price.Open(base.Pricing())
	if err != nil {
		return nil, nil, nil, err
	}
	devices, held = p.Devices(), p.Scope().HeldOut()
	var objectives []metric.Metric
	for i, d := range devices {
		if !held[i] {
			objectives = append(objectives, metric.Metric{Kind: metric.KindDevice, Device: d})
		}
	}
	objectives = append(objectives, metric.Metric{Kind: metric.KindAvg}, metric.Metric{Kind: metric.KindMax})
	var exact *Exact
	if base.Algo == "exhaustive" {
		if exact, err = enumerate(ctx, base, p); err != nil {
			return nil, nil, nil, err
		}
	}
	for _, m := range objectives {
		q, err := p.WithMetric(m)
		if err != nil {
			return nil, nil, nil, err
		}
		s := base
		s.Metric = m
		var best *job.Record
		if exact != nil {
			if best, err = exact.optimum(s, q); err != nil {
				return nil, nil, nil, err
			}
		} else {
			src, err := job.OpenSource(s, q.Space(), nil)
			if err != nil {
				return nil, nil, nil, err
			}
			j, err := job.New(s, q, src)
			if err != nil {
				return nil, nil, nil, err
			}
			o, err := j.Run(ctx, job.Options{})
			if err != nil {
				return nil, nil, nil, err
			}
			best = o.Chosen
		}
		v := q.Scope().Of(best.Ratio)
		rows = append(rows, MultiHWRow{Objective: m.String(), Chosen: best.Key, Accuracy: best.Accuracy, Ratio: best.Ratio,
			Avg: best.Avg, Max: best.Max, AllAvg: v.AllAvg, AllMax: v.AllMax, Reward: best.Reward})
	}
	return devices, held, rows, nil
}

// optimum is the exact table's best network under the settings' metric
// and reward (the earliest in enumeration order of ties), without
// searching: the table already holds every network's ratios and
// accuracy.
func (e *Exact) optimum(s job.Settings, q *price.Pricer) (*job.Record, error) {
	reward, err := metric.ParseReward(s.Reward, s.Target, s.Beta)
	if err != nil {
		return nil, err
	}
	var best *job.Record
	for _, r := range e.Order {
		v := q.Scope().Of(r.Ratio)
		c := *r
		c.Avg, c.Max, c.Metric = v.Avg, v.Max, v.Metric
		c.Reward = reward.Of(c.Accuracy/100, c.Metric)
		if best == nil || c.Reward > best.Reward+1e-12 {
			best = &c
		}
	}
	return best, nil
}

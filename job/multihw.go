package job

import (
	"context"
	"fmt"
)

// MultiHWRow is one search of the multi-hardware experiment: the metric
// it optimised and the network it found, priced on every device.
type MultiHWRow struct {
	Objective string    `json:"objective"`
	Chosen    string    `json:"chosen"`
	Accuracy  float64   `json:"accuracy"`
	Ratio     []float64 `json:"ratio"`
	// Avg and Max are over the devices searched on; AllAvg and AllMax
	// include the held-out ones.
	Avg    float64 `json:"avg"`
	Max    float64 `json:"max"`
	AllAvg float64 `json:"avg_all_devices"`
	AllMax float64 `json:"max_all_devices"`
	Reward float64 `json:"reward"`
}

// MultiHW runs the paper's central experiment: one search per single
// device (metric device:D), one with AVG and one with MAX, all with the
// same target, reward and algorithm; held-out devices are priced but
// never searched on. With algo "exhaustive" every search finds its exact
// optimum.
func MultiHW(ctx context.Context, base Settings) (devices []string, held []bool, rows []MultiHWRow, err error) {
	probe, err := Open(withMetric(base, "avg"))
	if err != nil {
		return nil, nil, nil, err
	}
	devices = probe.Devices()
	held = make([]bool, len(devices))
	for i := range devices {
		held[i] = !probe.inMetric[i]
	}
	var objectives []string
	for i, d := range devices {
		if !held[i] {
			objectives = append(objectives, "device:"+d)
		}
	}
	objectives = append(objectives, "avg", "max")
	var exact *Exact
	if base.Algo == "exhaustive" {
		// One enumeration prices every network on every device; each
		// objective then only re-scores the records.
		if exact, err = Enumerate(ctx, probe); err != nil {
			return nil, nil, nil, err
		}
	}
	for _, obj := range objectives {
		j, err := Open(withMetric(base, obj))
		if err != nil {
			return nil, nil, nil, err
		}
		var best *Record
		if exact != nil {
			for _, r := range exact.Order {
				c := j.rescore(r)
				if best == nil || c.Reward > best.Reward+1e-12 {
					best = c
				}
			}
		} else {
			for i := 0; i < base.Budget; i++ {
				c, ok := j.ctrl.Propose()
				if !ok {
					break
				}
				r, err := j.Evaluate(ctx, c)
				if err != nil {
					return nil, nil, nil, err
				}
				if err := j.ctrl.Observe(c, r.Reward); err != nil {
					return nil, nil, nil, err
				}
			}
			if best, err = j.Evaluate(ctx, j.ctrl.Chosen()); err != nil {
				return nil, nil, nil, err
			}
		}
		row := MultiHWRow{Objective: obj, Chosen: best.Key, Accuracy: best.Accuracy, Ratio: best.Ratio,
			Avg: best.Avg, Max: best.Max, Reward: best.Reward}
		var sum float64
		for _, r := range best.Ratio {
			sum += r
			row.AllMax = max(row.AllMax, r)
		}
		row.AllAvg = sum / float64(len(best.Ratio))
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, nil, nil, fmt.Errorf("no objectives")
	}
	return devices, held, rows, nil
}

func withMetric(s Settings, m string) Settings {
	s.Metric = m
	return s
}

// rescore returns a copy of a record with this job's metric and reward.
func (j *Job) rescore(r *Record) *Record {
	c := *r
	switch j.kind.Name {
	case "avg":
		c.Metric = c.Avg
	case "max":
		c.Metric = c.Max
	default:
		c.Metric = c.Ratio[j.device]
	}
	c.Reward = j.reward.Of(c.Accuracy/100, c.Metric)
	return &c
}

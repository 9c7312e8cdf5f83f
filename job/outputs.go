package job

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strconv"

	"github.com/fleetnas/fleetnas/atomicfile"

	"github.com/fleetnas/fleetnas/report"
	"github.com/fleetnas/fleetnas/search"
	"github.com/fleetnas/fleetnas/space"
)

// DeviceResult is one device's part of a network's result.
type DeviceResult struct {
	Name      string  `json:"name"`
	LatencyMS float64 `json:"latency_ms"`
	Ratio     float64 `json:"ratio"`
	HeldOut   bool    `json:"held_out,omitempty"`
	ModelErr  string  `json:"model_error"`
}

// NetworkResult is a network's full evaluation as result.json shows it.
type NetworkResult struct {
	Choice   string          `json:"choice"`
	Step     int             `json:"step"`
	Network  json.RawMessage `json:"network"`
	Accuracy float64         `json:"accuracy"`
	Devices  []DeviceResult  `json:"devices"`
	Avg      float64         `json:"avg"`
	Max      float64         `json:"max"`
	Metric   float64         `json:"metric"`
	Reward   float64         `json:"reward"`
}

// Result is result.json: what the run chose and how it was run. It holds
// nothing that depends on timing, so a resumed run writes the same file
// as an unbroken one.
type Result struct {
	Format         string        `json:"format"`
	Chosen         NetworkResult `json:"chosen"`
	BestSeen       NetworkResult `json:"best_seen"`
	Settings       Settings      `json:"settings"`
	Evaluations    int           `json:"evaluations"`
	UniqueNetworks int           `json:"unique_networks"`
	ChosenBy       string        `json:"chosen_by"`
}

func (j *Job) networkResult(r *Record) (NetworkResult, error) {
	n, err := j.space.Network(r.Choice, space.Options{Resolution: j.fleet.Resolution})
	if err != nil {
		return NetworkResult{}, err
	}
	js, err := n.Encode()
	if err != nil {
		return NetworkResult{}, err
	}
	nr := NetworkResult{Choice: r.Key, Step: r.Step, Network: js, Accuracy: r.Accuracy,
		Avg: r.Avg, Max: r.Max, Metric: r.Metric, Reward: r.Reward}
	for i, d := range j.fleet.Devices {
		nr.Devices = append(nr.Devices, DeviceResult{Name: d.Name, LatencyMS: r.LatencyMS[i], Ratio: r.Ratio[i],
			HeldOut: !j.inMetric[i], ModelErr: d.Accuracy.String()})
	}
	return nr, nil
}

func writeOutputs(dir string, o *Outcome) error {
	j := o.Job
	chosen, err := j.networkResult(o.Chosen)
	if err != nil {
		return err
	}
	best, err := j.networkResult(o.BestSeen)
	if err != nil {
		return err
	}
	by := "the network with the best reward seen"
	if j.ctrl.Name() == "tunas" {
		by = "the most likely network of the trained controller (argmax of every decision), as TuNAS deploys"
	}
	res := Result{Format: "fleetnas.result/v1", Chosen: chosen, BestSeen: best, Settings: j.S,
		Evaluations: len(o.History), UniqueNetworks: len(j.cache), ChosenBy: by}
	if err := writeJSONAtomic(filepath.Join(dir, "result.json"), res); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, "history.csv"), j.historyCSV(o.History)); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, "pareto.csv"), j.paretoCSV(o.Archive)); err != nil {
		return err
	}
	return report.WriteFile(filepath.Join(dir, "report.html"), j.reportData(o))
}

func f64(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func (j *Job) historyCSV(h []*Record) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	head := []string{"step", "choice", "accuracy", "avg", "max", "metric", "reward", "entropy"}
	for _, d := range j.devices {
		head = append(head, d+"_ms", d+"_ratio")
	}
	w.Write(head)
	for _, r := range h {
		row := []string{strconv.Itoa(r.Step), r.Key, f64(r.Accuracy), f64(r.Avg), f64(r.Max), f64(r.Metric), f64(r.Reward), f64(r.Entropy)}
		for i := range j.devices {
			row = append(row, f64(r.LatencyMS[i]), f64(r.Ratio[i]))
		}
		w.Write(row)
	}
	w.Flush()
	return buf.Bytes()
}

func (j *Job) paretoCSV(a *search.Archive) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"objective", "step", "choice", "accuracy", "cost"})
	objectives := append([]string{"avg", "max"}, j.devices...)
	for k, name := range objectives {
		if k >= 2 {
			name += "_ms"
		}
		for _, p := range a.Front(k) {
			w.Write([]string{name, strconv.Itoa(p.Step), p.Key, f64(p.Accuracy), f64(p.Cost[k])})
		}
	}
	w.Flush()
	return buf.Bytes()
}

func point(r *Record) report.Point {
	return report.Point{Step: r.Step, Key: r.Key, Accuracy: r.Accuracy, Avg: r.Avg, Max: r.Max,
		LatencyMS: r.LatencyMS, Ratio: r.Ratio, Reward: r.Reward, Entropy: r.Entropy}
}

func (j *Job) reportData(o *Outcome) *report.Data {
	byKey := map[string]*Record{}
	for _, r := range o.History {
		if _, ok := byKey[r.Key]; !ok {
			byKey[r.Key] = r
		}
	}
	front := func(k int) []report.Point {
		var ps []report.Point
		for _, p := range o.Archive.Front(k) {
			ps = append(ps, point(byKey[p.Key]))
		}
		return ps
	}
	s := j.S
	d := &report.Data{
		Title: fmt.Sprintf("fleetnas search: %s on %s", s.Space, s.Fleet),
		Settings: [][2]string{
			{"space", s.Space}, {"fleet", s.Fleet}, {"accuracy", s.Accuracy}, {"metric", s.Metric},
			{"target", f64(s.Target)}, {"beta", f64(s.Beta)}, {"reward", s.Reward}, {"algorithm", s.Algo},
			{"budget", strconv.Itoa(s.Budget)}, {"seed", strconv.FormatUint(s.Seed, 10)},
			{"evaluations", strconv.Itoa(len(o.History))}, {"unique networks", strconv.Itoa(len(j.cache))},
		},
		Devices:   j.Devices(),
		Metric:    s.Metric,
		Target:    s.Target,
		Chosen:    point(o.Chosen),
		ParetoAVG: front(0),
		ParetoMAX: front(1),
	}
	if s.Accuracy == SupernetAccuracy {
		sn := supernetDefaults(s)
		d.Notes = append(d.Notes, fmt.Sprintf("Accuracy is the weight-sharing supernet's (proxy width %g, trained on %s): "+
			"of each evaluated network on one validation batch of %d images, of the chosen network on the whole validation split. "+
			"Train the chosen network stand-alone for its real accuracy.", sn.ProxyWidth, s.Data, sn.Batch))
	}
	if len(s.Holdout) > 0 {
		d.Notes = append(d.Notes, fmt.Sprintf("Held-out devices (priced, not searched on): %v", s.Holdout))
	}
	for k := range j.devices {
		d.ParetoDevice = append(d.ParetoDevice, front(2+k))
	}
	for _, r := range o.History {
		p := point(r)
		if math.IsNaN(p.Entropy) {
			p.Entropy = 0
		}
		d.History = append(d.History, p)
	}
	return d
}

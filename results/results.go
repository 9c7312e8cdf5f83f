// Package results writes a finished search's files into its directory:
// result.json (the chosen network, the best seen, the settings), history.csv
// (every evaluation), pareto.csv (the Pareto fronts of accuracy against AVG,
// MAX and each device's latency) and report.html (package report). Every
// file depends only on the search's settings and history, never on timing,
// so a resumed search writes the same bytes as an unbroken one.
package results

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/fleetnas/fleetnas/accuracy"
	"github.com/fleetnas/fleetnas/atomicfile"
	"github.com/fleetnas/fleetnas/job"
	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/metric"
	"github.com/fleetnas/fleetnas/report"
	"github.com/fleetnas/fleetnas/search"
	"github.com/fleetnas/fleetnas/standalone"
)

// Format is result.json's format version.
const Format = "fleetnas.result/v2"

// DeviceResult is one device's part of a network's result.
type DeviceResult struct {
	Name      string  `json:"name"`
	LatencyMS float64 `json:"latency_ms"`
	// Measured is set when the latency is the device's measurement of
	// this very network, not a model's prediction.
	Measured bool    `json:"measured,omitempty"`
	Ratio    float64 `json:"ratio"`
	HeldOut  bool    `json:"held_out,omitempty"`
	// Reference names the network (or target) the ratio divides by, at
	// the resolution it was priced at; ReferenceMS is its latency and
	// ReferenceMeasured says whether that latency was measured.
	Reference         string  `json:"reference"`
	ReferenceMS       float64 `json:"reference_ms"`
	ReferenceMeasured bool    `json:"reference_measured"`
	// ModelErr is the device model's held-out error: of the latency and,
	// where it can be computed, of the ratio.
	ModelErr string `json:"model_error"`
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

// Deployment is the deployment target of a search: the input and output
// of the network that was priced and that is trained and shipped, and,
// when the accuracy source trained a proxy of it (a supernet), the
// proxy's shape.
type Deployment struct {
	Resolution int `json:"resolution"`
	Channels   int `json:"channels"`
	Classes    int `json:"classes"`
	// Proxy is what the accuracy source trained instead, if anything.
	Proxy *accuracy.Proxy `json:"training_proxy,omitempty"`
}

// String reads "224x224x3, 1000 classes" (with the proxy if any).
func (d Deployment) String() string {
	s := fmt.Sprintf("%dx%dx%d, %d classes", d.Resolution, d.Resolution, d.Channels, d.Classes)
	if p := d.Proxy; p != nil {
		s += fmt.Sprintf(" (accuracy from a proxy at width %g, %dx%dx%d)", p.Width, p.Resolution, p.Resolution, p.Channels)
	}
	return s
}

// DeploymentOf is a search's deployment target.
func DeploymentOf(o *job.Outcome) Deployment {
	t := o.Job.Pricer().Target()
	d := Deployment{Resolution: t.Resolution, Channels: t.Channels, Classes: t.Classes}
	if p, ok := o.Job.Source().(accuracy.Proxied); ok {
		proxy := p.Proxy()
		d.Proxy = &proxy
	}
	return d
}

// Result is result.json: what the search chose and how it was run.
type Result struct {
	Format string `json:"format"`
	// Deployment is the target every network was priced at: the chosen
	// network's JSON below is the network to train and ship.
	Deployment Deployment    `json:"deployment"`
	Chosen     NetworkResult `json:"chosen"`
	BestSeen   NetworkResult `json:"best_seen"`
	Settings   job.Settings  `json:"settings"`
	// Evaluations is the number of scored proposals; UniqueNetworks the
	// number of distinct networks scored, the chosen one included.
	Evaluations    int    `json:"evaluations"`
	UniqueNetworks int    `json:"unique_networks"`
	ChosenBy       string `json:"chosen_by"`
	// Feasibility says whether the chosen network meets the target of
	// the metric, by how much it misses it and on which devices.
	Feasibility metric.Feasibility `json:"feasibility"`
}

// Write writes result.json, history.csv, pareto.csv and report.html of a
// finished search into dir. The report also shows a stand-alone training
// of the chosen network that dir holds (standalone.json); write again
// after one.
func Write(dir string, o *job.Outcome) error {
	res, err := NewResult(o)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, "result.json"), append(b, '\n')); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, "history.csv"), HistoryCSV(o)); err != nil {
		return err
	}
	a, err := Archive(o)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, "pareto.csv"), paretoCSV(o, a)); err != nil {
		return err
	}
	return report.WriteFile(filepath.Join(dir, "report.html"), reportData(o, a, readStandalone(dir, o.Chosen.Key)))
}

// readStandalone returns the stand-alone training in dir of the network
// key (package standalone writes it), or nil.
func readStandalone(dir, key string) *standalone.Result {
	b, err := os.ReadFile(filepath.Join(dir, standalone.File))
	if err != nil {
		return nil
	}
	var r standalone.Result
	if json.Unmarshal(b, &r) != nil || r.Choice != key {
		return nil
	}
	return &r
}

// NewResult is the content of result.json.
func NewResult(o *job.Outcome) (*Result, error) {
	chosen, err := networkResult(o, o.Chosen)
	if err != nil {
		return nil, err
	}
	best, err := networkResult(o, o.BestSeen)
	if err != nil {
		return nil, err
	}
	return &Result{Format: Format, Deployment: DeploymentOf(o), Chosen: chosen, BestSeen: best, Settings: o.Job.Settings(),
		Evaluations: len(o.History), UniqueNetworks: unique(o), ChosenBy: search.DescribeChosen(o.Job.Algorithm()),
		Feasibility: Feasibility(o)}, nil
}

// Feasibility judges the chosen network against the search's target.
func Feasibility(o *job.Outcome) metric.Feasibility {
	return o.Job.Pricer().Scope().Feasibility(o.Chosen.Ratio, o.Job.Settings().Target)
}

// unique counts the distinct networks scored: the history's and the
// chosen one's.
func unique(o *job.Outcome) int {
	seen := map[string]bool{o.Chosen.Key: true}
	for _, r := range o.History {
		seen[r.Key] = true
	}
	return len(seen)
}

func networkResult(o *job.Outcome, r *job.Record) (NetworkResult, error) {
	p := o.Job.Pricer()
	n, err := p.Arch(r.Choice)
	if err != nil {
		return NetworkResult{}, err
	}
	js, err := n.Encode()
	if err != nil {
		return NetworkResult{}, err
	}
	nr := NetworkResult{Choice: r.Key, Step: r.Step, Network: js, Accuracy: r.Accuracy,
		Avg: r.Avg, Max: r.Max, Metric: r.Metric, Reward: r.Reward}
	ln, err := p.Network(r.Choice)
	if err != nil {
		return NetworkResult{}, err
	}
	held := p.Scope().HeldOut()
	for i, d := range p.Fleet().Devices {
		ref := d.RefNetwork
		if ref == "" {
			ref = d.Ref.String()
		}
		nr.Devices = append(nr.Devices, DeviceResult{Name: d.Name, LatencyMS: r.LatencyMS[i], Measured: latency.IsMeasured(d.Model, ln),
			Ratio: r.Ratio[i], HeldOut: held[i], Reference: ref, ReferenceMS: d.RefMS, ReferenceMeasured: d.RefMeasured,
			ModelErr: d.Accuracy.String()})
	}
	return nr, nil
}

func f64(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// HistoryCSV is history.csv: one row per scored proposal.
func HistoryCSV(o *job.Outcome) []byte {
	devices := o.Job.Pricer().Devices()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	head := []string{"step", "choice", "accuracy", "avg", "max", "metric", "reward", "entropy"}
	for _, d := range devices {
		head = append(head, d+"_ms", d+"_ratio")
	}
	w.Write(head)
	for _, r := range o.History {
		row := []string{strconv.Itoa(r.Step), r.Key, f64(r.Accuracy), f64(r.Avg), f64(r.Max), f64(r.Metric), f64(r.Reward), f64(r.Entropy)}
		for i := range devices {
			row = append(row, f64(r.LatencyMS[i]), f64(r.Ratio[i]))
		}
		w.Write(row)
	}
	w.Flush()
	return buf.Bytes()
}

// Archive is the Pareto archive of the history: accuracy against AVG,
// MAX and each device's latency, in that order of objectives.
func Archive(o *job.Outcome) (*search.Archive, error) {
	objectives := append([]string{"avg", "max"}, o.Job.Pricer().Devices()...)
	a, err := search.NewArchive(objectives)
	if err != nil {
		return nil, err
	}
	for _, r := range o.History {
		cost := append([]float64{r.Avg, r.Max}, r.LatencyMS...)
		if _, err := a.Add(search.Point{Accuracy: r.Accuracy, Cost: cost, Key: r.Key, Step: r.Step}); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func paretoCSV(o *job.Outcome, a *search.Archive) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"objective", "step", "choice", "accuracy", "cost"})
	objectives := append([]string{"avg", "max"}, o.Job.Pricer().Devices()...)
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

func point(r *job.Record) report.Point {
	return report.Point{Step: r.Step, Key: r.Key, Accuracy: r.Accuracy, Avg: r.Avg, Max: r.Max,
		LatencyMS: r.LatencyMS, Ratio: r.Ratio, Reward: r.Reward, Entropy: r.Entropy}
}

func reportData(o *job.Outcome, a *search.Archive, sa *standalone.Result) *report.Data {
	byKey := map[string]*job.Record{}
	for _, r := range o.History {
		if _, ok := byKey[r.Key]; !ok {
			byKey[r.Key] = r
		}
	}
	front := func(k int) []report.Point {
		var ps []report.Point
		for _, p := range a.Front(k) {
			ps = append(ps, point(byKey[p.Key]))
		}
		return ps
	}
	s := o.Job.Settings()
	devices := o.Job.Pricer().Devices()
	d := &report.Data{
		Title: fmt.Sprintf("fleetnas search: %s on %s", s.Space, s.Fleet),
		Settings: [][2]string{
			{"space", s.Space}, {"fleet", s.Fleet}, {"accuracy", s.Accuracy}, {"metric", s.Metric.String()},
			{"target", f64(s.Target)}, {"beta", f64(s.Beta)}, {"reward", s.Reward}, {"algorithm", s.Algo},
			{"budget", strconv.Itoa(s.Budget)}, {"seed", strconv.FormatUint(s.Seed, 10)},
			{"evaluations", strconv.Itoa(len(o.History))}, {"unique networks", strconv.Itoa(unique(o))},
		},
		Devices:    devices,
		Metric:     s.Metric.String(),
		Target:     s.Target,
		Chosen:     point(o.Chosen),
		ParetoAVG:  front(0),
		ParetoMAX:  front(1),
		Notes:      o.Job.Source().Notes(),
		HeldOut:    o.Job.Pricer().Scope().HeldOut(),
		References: references(o),
		Summary: [][2]string{
			{"deployment target", DeploymentOf(o).String()},
			{"target", Feasibility(o).String()},
		},
	}
	if sa != nil {
		d.Summary = append(d.Summary, [2]string{"stand-alone test accuracy",
			fmt.Sprintf("%.2f%% on %s's test split, trained from scratch (model: %s)", sa.TestAccuracy, sa.Data, sa.Model)})
		for _, h := range sa.Here {
			d.Summary = append(d.Summary, [2]string{"measured here (" + h.Device + ")",
				fmt.Sprintf("%.3f ms, predicted %.3f ms (%s)", h.MeasuredMS, h.PredictedMS, h.Conditions)})
		}
	}
	if b, ok := o.Job.Source().(accuracy.FinalBasis); ok {
		d.ChosenLabel = "chosen (" + b.FinalBasis() + ")"
	}
	if len(s.Holdout) > 0 {
		d.Notes = append(d.Notes, fmt.Sprintf("Held-out devices (priced, not searched on): %v", s.Holdout))
	}
	for k := range devices {
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

// Package job is the search loop: one loop drives every search, whatever
// its space, fleet, accuracy source and controller. Each step
//
//	propose (package search) -> price (package price: space -> network ->
//	fleet -> metric) -> accuracy (package accuracy) -> reward (package
//	metric) -> observe -> checkpoint
//
// and then one finish step chooses the network to deploy, scores it as
// well as the accuracy source can, and saves the last checkpoint. The
// loop never asks what kind of accuracy source it drives: a source that
// trains during the search (the supernet of package oneshot) tells the
// loop how many warm-up steps it needs and checkpoints its own state
// through accuracy.Stateful.
//
// A resumed search continues to exactly the result of an unbroken one.
// Output files are package results'; benchmarks and experiments that run
// many searches are package bench's.
package job

import (
	"context"
	"fmt"
	"math"

	"github.com/fleetnas/fleetnas/accuracy"
	"github.com/fleetnas/fleetnas/dataset"
	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/metric"
	"github.com/fleetnas/fleetnas/price"
	"github.com/fleetnas/fleetnas/search"
	"github.com/fleetnas/fleetnas/setting"
	"github.com/fleetnas/fleetnas/space"
)

// Record is one evaluated network of a search's history.
type Record struct {
	Step      int       `json:"step"`
	Key       string    `json:"choice"`
	Choice    []int     `json:"vector"`
	Accuracy  float64   `json:"accuracy"`
	LatencyMS []float64 `json:"latency_ms"`
	Ratio     []float64 `json:"ratio"`
	Avg       float64   `json:"avg"`
	Max       float64   `json:"max"`
	Metric    float64   `json:"metric"`
	Reward    float64   `json:"reward"`
	Entropy   float64   `json:"entropy"`
}

// Job is an opened search: settings, pricer, accuracy source, reward and
// controller, ready to Run.
type Job struct {
	s      Settings
	pricer *price.Pricer
	src    accuracy.Stateful
	reward metric.Reward
	ctrl   search.Controller
}

// Open checks the settings and opens everything a search needs. What is
// cheap to check comes first, so that a mistake is reported before the
// data loads or a fleet calibrates (seconds for mnv4).
func Open(s Settings) (*Job, error) {
	s = s.Defaults()
	if s.Budget < 0 {
		return nil, setting.Errorf("budget", "must be a positive number of steps, got %d", s.Budget)
	}
	if err := checkSearch(s, describeSource(s.Accuracy).drifts, s.Accuracy); err != nil {
		return nil, err
	}
	sp, err := space.Get(s.Space)
	if err != nil {
		return nil, setting.Wrap("space", err)
	}
	if s, err = exhaustiveBudget(s, sp); err != nil {
		return nil, err
	}
	var ds *dataset.Dataset
	if s.Data != "" {
		if ds, err = dataset.Open(s.Data); err != nil {
			return nil, setting.Wrap("data", err)
		}
	}
	ps, err := s.Deployment(ds)
	if err != nil {
		return nil, err
	}
	src, err := OpenSource(s, sp, ds)
	if err != nil {
		return nil, err
	}
	p, err := price.Open(ps)
	if err != nil {
		return nil, err
	}
	return New(s, p, src)
}

// checkSearch checks the reward settings and that the algorithm can
// follow the rewards of an accuracy source that drifts.
func checkSearch(s Settings, drifts bool, source string) error {
	if _, err := metric.ParseReward(s.Reward, s.Target, s.Beta); err != nil {
		return err
	}
	if drifts && !search.CopesWithDrift(s.Algo) {
		return setting.Errorf("algo", "%q cannot search with accuracy %s, whose accuracy of a network changes as the search goes: its remembered rewards go stale (tunas or random can)", s.Algo, source)
	}
	return nil
}

// New assembles a search from an opened pricer and accuracy source; the
// reward and controller come from s. The pricer may be shared with other
// jobs (it is safe for concurrent use); the source belongs to this job.
func New(s Settings, p *price.Pricer, src accuracy.Source) (*Job, error) {
	s = s.Defaults()
	var err error
	if s, err = exhaustiveBudget(s, p.Space()); err != nil {
		return nil, err
	}
	if s.Budget <= 0 {
		return nil, setting.Errorf("budget", "must be a positive number of steps, got %d", s.Budget)
	}
	if name := p.Space().Name(); name != s.Space {
		return nil, fmt.Errorf("job: the pricer prices space %s, the settings name %s", name, s.Space)
	}
	j := &Job{s: s, pricer: p, src: accuracy.AsStateful(src)}
	if err := checkSearch(s, j.src.Drifts(), j.src.Name()); err != nil {
		return nil, err
	}
	j.reward, _ = metric.ParseReward(s.Reward, s.Target, s.Beta) // checked
	if j.ctrl, err = search.New(s.Algo, p.Space().Decisions(), s.Controller()); err != nil {
		return nil, err
	}
	return j, nil
}

// Settings are the job's settings, defaults filled in.
func (j *Job) Settings() Settings { return j.s }

// Pricer prices the job's networks.
func (j *Job) Pricer() *price.Pricer { return j.pricer }

// Source is the job's accuracy source.
func (j *Job) Source() accuracy.Stateful { return j.src }

// Algorithm is the controller's algorithm.
func (j *Job) Algorithm() string { return j.ctrl.Name() }

// evaluate prices a network and scores it at the current step: its
// accuracy from the source (without building the network when the source
// remembers it), its reward.
func (j *Job) evaluate(ctx context.Context, choice []int) (*Record, error) {
	key, err := j.pricer.Space().Format(choice)
	if err != nil {
		return nil, err
	}
	if acc, ok := j.src.Remembered(key); ok {
		p, err := j.pricer.Price(choice)
		if err != nil {
			return nil, err
		}
		return j.score(p, acc)
	}
	return j.measure(ctx, choice, j.src.Accuracy)
}

// final prices and scores the network chosen for deployment with the
// source's most careful accuracy.
func (j *Job) final(ctx context.Context, choice []int) (*Record, error) {
	return j.measure(ctx, choice, j.src.Final)
}

// measure builds the deployment network of choice once, prices it and
// asks acc for its accuracy.
func (j *Job) measure(ctx context.Context, choice []int, acc func(context.Context, space.Space, *latency.Net) (float64, error)) (*Record, error) {
	n, err := j.pricer.Network(choice)
	if err != nil {
		return nil, err
	}
	p, err := j.pricer.PriceNet(n)
	if err != nil {
		return nil, err
	}
	a, err := acc(ctx, j.pricer.Space(), n)
	if err != nil {
		return nil, err
	}
	return j.score(p, a)
}

// score makes the record of a priced network with its accuracy (in
// percent) and reward.
func (j *Job) score(p price.Price, acc float64) (*Record, error) {
	r := &Record{Key: p.Key, Choice: p.Choice, Accuracy: acc, LatencyMS: p.LatencyMS, Ratio: p.Ratio,
		Avg: p.Avg, Max: p.Max, Metric: p.Metric}
	r.Reward = j.reward.Of(acc/100, r.Metric)
	if math.IsNaN(r.Reward) || math.IsInf(r.Reward, 0) {
		return nil, fmt.Errorf("network %s: reward %g (accuracy %g, metric %g) is not a number", r.Key, r.Reward, acc, r.Metric)
	}
	return r, nil
}

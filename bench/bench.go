// Package bench runs many searches to judge the search itself: searches
// against the exact optimum of a tabular space (Exact, BenchSearch) and
// the multi-hardware experiment of Chu et al. (2020), one search per
// device against AVG and MAX (MultiHW). Every search is the one search
// loop of package job; this package only sets searches up and scores
// them.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"

	"github.com/fleetnas/fleetnas/accuracy"
	"github.com/fleetnas/fleetnas/job"
	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/price"
	"github.com/fleetnas/fleetnas/search"
	"github.com/fleetnas/fleetnas/setting"
	"github.com/fleetnas/fleetnas/space"
)

// Exact is a whole space priced and scored exhaustively: the ground truth
// that benchmarks score searches against.
type Exact struct {
	// Settings are the benchmark's (algorithm, budget and seed aside).
	Settings job.Settings
	// Records holds every network by canonical string; Order lists them
	// in enumeration order.
	Records map[string]*job.Record
	Order   []*job.Record
	// Optimum is the best attainable reward and Best the networks that
	// attain it (ties are possible in tabular benchmarks).
	Optimum float64
	Best    []string
	// Front is the true Pareto front of accuracy vs the searched metric.
	Front []search.Point
	// Ref is the hypervolume reference point: the worst accuracy and the
	// worst metric in the space.
	Ref search.Ref

	pricer *price.Pricer
	source string
}

// Enumerate prices and scores every network of the space the settings
// name (at most search.MaxExhaustive): an exhaustive search by the one
// loop. The settings' algorithm, budget and seed are ignored.
func Enumerate(ctx context.Context, s job.Settings) (*Exact, error) {
	p, err := price.Open(s.Pricing())
	if err != nil {
		return nil, err
	}
	return enumerate(ctx, s, p)
}

func enumerate(ctx context.Context, s job.Settings, p *price.Pricer) (*Exact, error) {
	size := 1
	for _, d := range p.Space().Decisions() {
		size *= len(d.Choices)
		if size > search.MaxExhaustive {
			return nil, fmt.Errorf("space %s has more than %d networks: too many to price exhaustively", p.Space().Name(), search.MaxExhaustive)
		}
	}
	s.Algo, s.Budget, s.Seed = "exhaustive", size, 1
	src, err := job.OpenSource(s, p.Space(), nil)
	if err != nil {
		return nil, err
	}
	if src.Drifts() {
		return nil, setting.Errorf("accuracy", "%s changes as a search goes; an exact benchmark needs a fixed accuracy (a table)", src.Name())
	}
	j, err := job.New(s, p, src)
	if err != nil {
		return nil, err
	}
	o, err := j.Run(ctx, job.Options{})
	if err != nil {
		return nil, err
	}
	e := &Exact{Settings: j.Settings(), Records: map[string]*job.Record{}, Optimum: math.Inf(-1), pricer: p, source: src.Name()}
	worstAcc, worstM := math.Inf(1), math.Inf(-1)
	arch, err := search.NewArchive([]string{"metric"})
	if err != nil {
		return nil, err
	}
	for _, r := range o.History {
		e.Records[r.Key] = r
		e.Order = append(e.Order, r)
		switch {
		case r.Reward > e.Optimum+1e-12:
			e.Optimum, e.Best = r.Reward, []string{r.Key}
		case math.Abs(r.Reward-e.Optimum) <= 1e-12:
			e.Best = append(e.Best, r.Key)
		}
		worstAcc, worstM = math.Min(worstAcc, r.Accuracy), math.Max(worstM, r.Metric)
		if _, err := arch.Add(search.Point{Accuracy: r.Accuracy, Cost: []float64{r.Metric}, Key: r.Key, Step: r.Step}); err != nil {
			return nil, err
		}
	}
	if len(e.Records) != size {
		return nil, fmt.Errorf("space %s: %d networks enumerated of %d", p.Space().Name(), len(e.Records), size)
	}
	e.Front = arch.Front(0)
	e.Ref = search.Ref{Accuracy: worstAcc, Cost: worstM}
	return e, nil
}

// Trial is one search of a benchmark.
type Trial struct {
	Algo   string  `json:"algo"`
	Budget int     `json:"budget"`
	Seed   uint64  `json:"seed"`
	Chosen string  `json:"chosen"`
	Reward float64 `json:"reward"`
	Regret float64 `json:"regret"`
	Hit    bool    `json:"hit_optimum"`
	// RelHV is the hypervolume of the found front (accuracy vs metric)
	// divided by the true front's.
	RelHV float64 `json:"relative_hypervolume"`
}

// RunTrial runs one search with the one loop, in memory, its accuracies
// and prices looked up in the exact table (nothing is measured again).
func (e *Exact) RunTrial(ctx context.Context, algo string, budget int, seed uint64) (Trial, error) {
	s := e.Settings
	s.Algo, s.Budget, s.Seed = algo, budget, seed
	j, err := job.New(s, e.pricer, &exactSource{e: e})
	if err != nil {
		return Trial{}, err
	}
	o, err := j.Run(ctx, job.Options{})
	if err != nil {
		return Trial{}, err
	}
	arch, err := search.NewArchive([]string{"metric"})
	if err != nil {
		return Trial{}, err
	}
	for _, r := range o.History {
		if _, err := arch.Add(search.Point{Accuracy: r.Accuracy, Cost: []float64{r.Metric}, Key: r.Key, Step: r.Step}); err != nil {
			return Trial{}, err
		}
	}
	t := Trial{Algo: algo, Budget: budget, Seed: seed, Chosen: o.Chosen.Key, Reward: o.Chosen.Reward, Regret: e.Optimum - o.Chosen.Reward}
	t.Hit = t.Regret <= 1e-12
	if t.RelHV, err = search.RelativeHypervolume(arch.Front(0), e.Front, 0, e.Ref); err != nil {
		return Trial{}, err
	}
	return t, nil
}

// Summary aggregates the trials of one algorithm and budget.
type Summary struct {
	Algo         string  `json:"algo"`
	Budget       int     `json:"budget"`
	Seeds        int     `json:"seeds"`
	MedianRegret float64 `json:"median_regret"`
	Regret25     float64 `json:"regret_p25"`
	Regret75     float64 `json:"regret_p75"`
	HitShare     float64 `json:"hit_share"`
	MedianRelHV  float64 `json:"median_relative_hypervolume"`
}

// BenchSearch runs algorithms x budgets x seeds (seeds 1..seeds) against
// the exact table, spread over all cores. Each trial depends only on its
// own settings, so the results do not depend on the number of cores or
// the scheduling.
func (e *Exact) BenchSearch(ctx context.Context, algos []string, budgets []int, seeds int) ([]Summary, []Trial, error) {
	type trialSpec struct {
		algo   string
		budget int
		seed   uint64
	}
	var specs []trialSpec
	for _, a := range algos {
		for _, b := range budgets {
			for s := 1; s <= seeds; s++ {
				specs = append(specs, trialSpec{a, b, uint64(s)})
			}
		}
	}
	trials := make([]Trial, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				trials[i], errs[i] = e.RunTrial(ctx, specs[i].algo, specs[i].budget, specs[i].seed)
			}
		}()
	}
	for i := range specs {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, nil, err
		}
	}
	var out []Summary
	for i := 0; i < len(trials); i += seeds {
		group := trials[i : i+seeds]
		var regrets, hvs []float64
		hits := 0
		for _, t := range group {
			regrets = append(regrets, t.Regret)
			hvs = append(hvs, t.RelHV)
			if t.Hit {
				hits++
			}
		}
		out = append(out, Summary{Algo: group[0].Algo, Budget: group[0].Budget, Seeds: seeds,
			MedianRegret: quantile(regrets, 0.5), Regret25: quantile(regrets, 0.25), Regret75: quantile(regrets, 0.75),
			HitShare: float64(hits) / float64(seeds), MedianRelHV: quantile(hvs, 0.5)})
	}
	return out, trials, nil
}

// quantile is the linear-interpolation quantile of x (R's type 7).
func quantile(x []float64, q float64) float64 {
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	if len(s) == 1 {
		return s[0]
	}
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[lo] + (pos-float64(lo))*(s[lo+1]-s[lo])
}

// exactSource is the exact table as an accuracy source: it answers every
// network from the enumeration, so a trial measures nothing and builds no
// network.
type exactSource struct{ e *Exact }

var _ accuracy.Stateful = (*exactSource)(nil)

func (x *exactSource) Name() string { return x.e.source }

func (x *exactSource) Accuracy(_ context.Context, _ space.Space, n *latency.Net) (float64, error) {
	r, ok := x.e.Records[n.Key]
	if !ok {
		return 0, fmt.Errorf("network %s is not in the exact table", n.Key)
	}
	return r.Accuracy, nil
}

func (x *exactSource) Remembered(key string) (float64, bool) {
	r, ok := x.e.Records[key]
	if !ok {
		return 0, false
	}
	return r.Accuracy, true
}

func (x *exactSource) Final(ctx context.Context, sp space.Space, n *latency.Net) (float64, error) {
	return x.Accuracy(ctx, sp, n)
}

func (x *exactSource) Warmup() int                                       { return 0 }
func (x *exactSource) Advance(context.Context, int, []int) (bool, error) { return false, nil }
func (x *exactSource) Drifts() bool                                      { return false }
func (x *exactSource) Notes() []string                                   { return nil }
func (x *exactSource) Save(string) (json.RawMessage, error)              { return nil, nil }
func (x *exactSource) Saved(string, json.RawMessage)                     {}
func (x *exactSource) Restore(string, json.RawMessage) error             { return nil }

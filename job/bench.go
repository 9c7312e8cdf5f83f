package job

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"

	"github.com/fleetnas/fleetnas/search"
)

// Exact is a whole space priced exhaustively: the ground truth that
// benchmarks score searches against.
type Exact struct {
	Job     *Job
	Records map[string]*Record
	// Order lists the networks in enumeration order.
	Order []*Record
	// Optimum is the best attainable reward and Best the networks that
	// attain it (ties are possible in tabular benchmarks).
	Optimum float64
	Best    []string
	// Front is the true Pareto front of accuracy vs the searched metric.
	Front []search.Point
	// Ref is the hypervolume reference point: the worst accuracy and the
	// worst metric in the space.
	Ref search.Ref
}

// Enumerate prices every network of the job's space (at most 1e6).
func Enumerate(ctx context.Context, j *Job) (*Exact, error) {
	e := &Exact{Job: j, Records: map[string]*Record{}, Optimum: math.Inf(-1)}
	worstAcc, worstM := math.Inf(1), math.Inf(-1)
	arch, err := search.NewArchive([]string{"metric"})
	if err != nil {
		return nil, err
	}
	step := 0
	search.Enumerate(j.space.Decisions(), func(c []int) bool {
		var r *Record
		if r, err = j.Evaluate(ctx, c); err != nil {
			return false
		}
		r.Step = step
		step++
		e.Records[r.Key] = r
		e.Order = append(e.Order, r)
		switch {
		case r.Reward > e.Optimum+1e-12:
			e.Optimum, e.Best = r.Reward, []string{r.Key}
		case math.Abs(r.Reward-e.Optimum) <= 1e-12:
			e.Best = append(e.Best, r.Key)
		}
		worstAcc, worstM = math.Min(worstAcc, r.Accuracy), math.Max(worstM, r.Metric)
		_, err = arch.Add(search.Point{Accuracy: r.Accuracy, Cost: []float64{r.Metric}, Key: r.Key, Step: r.Step})
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	if len(e.Records) == 0 {
		return nil, fmt.Errorf("space %s has no networks", j.space.Name())
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

// RunTrial runs one controller against the exact table, without files.
func (e *Exact) RunTrial(algo string, budget int, seed uint64) (Trial, error) {
	s := e.Job.S
	cfg := search.Config{Seed: seed, LearningRate: s.LearningRate, EntropyBonus: s.EntropyBonus, Population: s.Population, Sample: s.Sample}
	ctrl, err := search.New(algo, e.Job.space.Decisions(), cfg)
	if err != nil {
		return Trial{}, err
	}
	arch, err := search.NewArchive([]string{"metric"})
	if err != nil {
		return Trial{}, err
	}
	for i := 0; i < budget; i++ {
		c, ok := ctrl.Propose()
		if !ok {
			break
		}
		key, err := e.Job.space.Format(c)
		if err != nil {
			return Trial{}, err
		}
		r := e.Records[key]
		if r == nil {
			return Trial{}, fmt.Errorf("network %s is not in the exact table", key)
		}
		if err := ctrl.Observe(c, r.Reward); err != nil {
			return Trial{}, err
		}
		if _, err := arch.Add(search.Point{Accuracy: r.Accuracy, Cost: []float64{r.Metric}, Key: r.Key, Step: i}); err != nil {
			return Trial{}, err
		}
	}
	key, err := e.Job.space.Format(ctrl.Chosen())
	if err != nil {
		return Trial{}, err
	}
	r := e.Records[key]
	t := Trial{Algo: algo, Budget: budget, Seed: seed, Chosen: key, Reward: r.Reward, Regret: e.Optimum - r.Reward}
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

// BenchSearch runs algorithms x budgets x seeds against the exact table,
// spread over all cores. Each trial depends only on its own settings, so
// the results do not depend on the number of cores or the scheduling.
func (e *Exact) BenchSearch(algos []string, budgets []int, seeds int) ([]Summary, []Trial, error) {
	type job struct {
		algo   string
		budget int
		seed   uint64
	}
	var jobs []job
	for _, a := range algos {
		for _, b := range budgets {
			for s := 1; s <= seeds; s++ {
				jobs = append(jobs, job{a, b, uint64(s)})
			}
		}
	}
	trials := make([]Trial, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				trials[i], errs[i] = e.RunTrial(jobs[i].algo, jobs[i].budget, jobs[i].seed)
			}
		}()
	}
	for i := range jobs {
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

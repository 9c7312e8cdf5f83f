package linear

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"

	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/space"
)

// CrossValidate measures how well models fit with opt predict networks
// they have not seen: the measurements are split into folds by
// latency.Folds(len, folds, seed), every fold is predicted by a model fit
// on the others, and the pooled predictions are scored against the
// measurements. Folds are fit concurrently, each into its own slots, so
// the figures do not depend on the number of cores.
func CrossValidate(spaceName string, decisions []space.Decision, choices [][]int, latencyMS []float64, opt Options, folds int, seed uint64) (latency.Accuracy, error) {
	if len(choices) != len(latencyMS) {
		return latency.Accuracy{}, fmt.Errorf("linear: %d choice vectors for %d latencies", len(choices), len(latencyMS))
	}
	if folds < 2 || folds > len(choices) {
		return latency.Accuracy{}, fmt.Errorf("linear: cross-validation needs 2 to %d folds (one per measurement at most), got %d", len(choices), folds)
	}
	fold := latency.Folds(len(choices), folds, seed)
	pred := make([]float64, len(choices))
	errs := make([]error, folds)
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	for k := range folds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var trC, teC [][]int
			var trY []float64
			var teIdx []int
			for i, f := range fold {
				if f == k {
					teC, teIdx = append(teC, choices[i]), append(teIdx, i)
				} else {
					trC, trY = append(trC, choices[i]), append(trY, latencyMS[i])
				}
			}
			m, err := Fit(spaceName, decisions, trC, trY, opt)
			if err != nil {
				errs[k] = fmt.Errorf("fold %d of %d: %w", k+1, folds, err)
				return
			}
			for j, c := range teC {
				p, err := m.Predict(c)
				if err != nil {
					errs[k] = fmt.Errorf("fold %d of %d: %w", k+1, folds, err)
					return
				}
				pred[teIdx[j]] = p
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return latency.Accuracy{}, err
		}
	}
	o, _ := opt.normalized() // Fit succeeded, so opt is valid
	return latency.Score(fmt.Sprintf("%d-fold CV on %d measured networks (%s)", folds, len(choices), o.describe()), pred, latencyMS)
}

// describe is a short label of the fit for Accuracy.Method.
func (o Options) describe() string {
	s := string(o.Kind)
	if o.Log {
		s += ", log"
	}
	if o.Loss == Huber {
		s += fmt.Sprintf(", huber %g", o.HuberK)
	}
	return s
}

// Evaluate scores a fitted model on measurements, normally ones it was
// not fit on (the test side of Split).
func Evaluate(m *Model, method string, choices [][]int, latencyMS []float64) (latency.Accuracy, error) {
	if len(choices) != len(latencyMS) {
		return latency.Accuracy{}, fmt.Errorf("linear: %d choice vectors for %d latencies", len(choices), len(latencyMS))
	}
	pred := make([]float64, len(choices))
	for i, c := range choices {
		p, err := m.Predict(c)
		if err != nil {
			return latency.Accuracy{}, fmt.Errorf("measurement %d: %w", i, err)
		}
		pred[i] = p
	}
	return latency.Score(method, pred, latencyMS)
}

// Split draws a train/test split of n measurements: test holds
// round(testFraction*n) indices, train the rest, both in increasing
// order. The same seed gives the same split on every platform (a PCG
// stream and a Fisher-Yates shuffle written out here, not a library
// shuffle whose algorithm may change).
func Split(n int, testFraction float64, seed uint64) (train, test []int, err error) {
	if !(testFraction > 0 && testFraction < 1) {
		return nil, nil, fmt.Errorf("linear: test fraction must be between 0 and 1 (exclusive), got %g", testFraction)
	}
	nt := int(math.Round(testFraction * float64(n)))
	if nt < 1 || nt >= n {
		return nil, nil, fmt.Errorf("linear: a %g test fraction of %d measurements leaves an empty side", testFraction, n)
	}
	r := rand.New(rand.NewPCG(seed, 0x6c696e656172)) // "linear"
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := int(r.Uint64() % uint64(i+1))
		perm[i], perm[j] = perm[j], perm[i]
	}
	test = append([]int(nil), perm[:nt]...)
	train = append([]int(nil), perm[nt:]...)
	sort.Ints(test)
	sort.Ints(train)
	return train, test, nil
}

// Floor is the Accuracy of a perfect predictor judged against
// measurements rounded to a step (1 ms for HELP's phones): the true
// latency of a network measured as m lies anywhere in m ± step/2, so even
// the exact answer is off by up to step/(2m). It is the best figure any
// model can reach on such data, computed in closed form assuming the true
// value is uniform within its rounding interval and distinct for every
// network:
//
//   - MAPE is the mean of step/(4m); the median APE is the median of the
//     mixture of those uniform errors; RMSE is step/sqrt(12).
//   - Within5/Within10 are the mean chance that |error| <= 5%/10% of m.
//   - Kendall's tau-a cannot exceed the share of pairs whose measurements
//     differ (a tied pair counts as neither concordant nor discordant),
//     and Spearman is that of a tie-free order against the tied ranks.
//
// Other measurement noise (run-to-run variance, thermal drift) lowers the
// reachable figures further; the floor only accounts for rounding.
func Floor(measured []float64, step float64) (latency.Accuracy, error) {
	if !(step > 0) || math.IsInf(step, 0) {
		return latency.Accuracy{}, fmt.Errorf("linear: rounding step must be positive, got %g", step)
	}
	n := len(measured)
	if n < 2 {
		return latency.Accuracy{}, fmt.Errorf("linear: need at least 2 measurements, got %d", n)
	}
	a := latency.Accuracy{Method: fmt.Sprintf("perfect predictor vs measurements rounded to %g ms", step), N: n, RMSE: step / math.Sqrt(12)}
	for i, m := range measured {
		if !(m > 0) || math.IsInf(m, 0) {
			return latency.Accuracy{}, fmt.Errorf("linear: measurement %d: %g is not a positive finite latency", i, m)
		}
		h := step / (2 * m) // largest relative error of the true value
		a.MAPE += 100 * h / 2
		a.Within5 += math.Min(1, 0.05/h)
		a.Within10 += math.Min(1, 0.10/h)
	}
	a.MAPE /= float64(n)
	a.Within5 /= float64(n)
	a.Within10 /= float64(n)
	// Median of the mixture: bisect its CDF, mean of min(1, x/h_i).
	cdf := func(x float64) float64 {
		var s float64
		for _, m := range measured {
			s += math.Min(1, x*2*m/step)
		}
		return s / float64(n)
	}
	lo, hi := 0.0, 0.0
	for _, m := range measured {
		hi = math.Max(hi, step/(2*m))
	}
	for range 100 {
		mid := (lo + hi) / 2
		if cdf(mid) < 0.5 {
			lo = mid
		} else {
			hi = mid
		}
	}
	a.MedianAPE = 100 * (lo + hi) / 2
	// Rank figures: a perfect predictor orders tied measurements in some
	// way; break ties by index (neither statistic depends on how).
	sorted := append([]float64(nil), measured...)
	sort.Float64s(sorted)
	var tied float64
	for i := 0; i < n; {
		j := i
		for j < n && sorted[j] == sorted[i] {
			j++
		}
		c := float64(j - i)
		tied += c * (c - 1) / 2
		i = j
	}
	a.Kendall = 1 - tied/(float64(n)*float64(n-1)/2)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool { return measured[order[x]] < measured[order[y]] })
	perfect := make([]float64, n)
	for pos, i := range order {
		perfect[i] = float64(pos)
	}
	a.Spearman = latency.Spearman(perfect, measured)
	return a, nil
}

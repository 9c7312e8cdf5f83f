package ort

import (
	"errors"
	"math"
	"slices"
	"time"
)

// Summary describes repeated timings of one model.
type Summary struct {
	Runs int `json:"runs"`
	// MedianMs is the latency reported for the model; P10Ms and P90Ms
	// bound the middle 80% of the runs.
	MedianMs float64 `json:"median_ms"`
	P10Ms    float64 `json:"p10_ms"`
	P90Ms    float64 `json:"p90_ms"`
	MeanMs   float64 `json:"mean_ms"`
	MinMs    float64 `json:"min_ms"`
	// CV is the coefficient of variation (standard deviation / mean) of
	// the runs; a quiet machine gives a few percent.
	CV float64 `json:"cv"`
}

// NoisyCV is the coefficient of variation above which a timing is flagged
// as noisy: on a quiet core, repeated runs of the same model vary by a
// few percent, so 10% means something else was using the CPU.
const NoisyCV = 0.10

// Noisy reports whether the runs varied too much for the median to be
// trusted.
func (s Summary) Noisy() bool { return s.CV > NoisyCV }

// Summarize computes the statistics of a set of run times.
func Summarize(d []time.Duration) (Summary, error) {
	if len(d) == 0 {
		return Summary{}, errors.New("no runs to summarize")
	}
	ms := make([]float64, len(d))
	var sum float64
	for i, x := range d {
		ms[i] = float64(x) / float64(time.Millisecond)
		sum += ms[i]
	}
	slices.Sort(ms)
	mean := sum / float64(len(ms))
	var ss float64
	for _, x := range ms {
		ss += (x - mean) * (x - mean)
	}
	s := Summary{Runs: len(ms), MedianMs: Quantile(ms, 0.5), P10Ms: Quantile(ms, 0.1), P90Ms: Quantile(ms, 0.9), MeanMs: mean, MinMs: ms[0]}
	if len(ms) > 1 && mean > 0 {
		s.CV = math.Sqrt(ss/float64(len(ms)-1)) / mean
	}
	return s, nil
}

// Quantile returns the q-quantile (0..1) of sorted values by linear
// interpolation between order statistics (NumPy's default).
func Quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	f := pos - float64(lo)
	return sorted[lo]*(1-f) + sorted[hi]*f
}

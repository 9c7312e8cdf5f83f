package latency

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat"
)

func median(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ranks returns the ranks of x (1-based), ties sharing their mean rank.
func ranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return x[idx[a]] < x[idx[b]] })
	r := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && x[idx[j+1]] == x[idx[i]] {
			j++
		}
		mean := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			r[idx[k]] = mean
		}
		i = j + 1
	}
	return r
}

// Spearman is the rank correlation of x and y (Pearson's r on tie-averaged
// ranks). gonum provides Pearson and Kendall but not Spearman.
func Spearman(x, y []float64) float64 {
	return stat.Correlation(ranks(x), ranks(y), nil)
}

// Kendall is Kendall's tau-a of x and y. gonum's stat.Kendall is O(n^2),
// which is fine for the few thousand networks a calibration holds out.
func Kendall(x, y []float64) float64 {
	return stat.Kendall(x, y, nil)
}

// Folds splits n items into k folds deterministically by seed: fold[i] is
// the fold of item i. k <= 1 or k >= n gives leave-one-out.
func Folds(n, k int, seed uint64) []int {
	if k <= 1 || k > n {
		k = n
	}
	perm := permutation(n, seed)
	f := make([]int, n)
	for pos, i := range perm {
		f[i] = pos % k
	}
	return f
}

// permutation is a seeded Fisher-Yates shuffle with a SplitMix64 stream,
// so that folds are the same on every platform and Go version.
func permutation(n int, seed uint64) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	s := seed + 0x9e3779b97f4a7c15
	next := func() uint64 {
		s += 0x9e3779b97f4a7c15
		z := s
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		return z ^ (z >> 31)
	}
	for i := n - 1; i > 0; i-- {
		j := int(next() % uint64(i+1))
		p[i], p[j] = p[j], p[i]
	}
	return p
}

package nn

import (
	"math/rand/v2"
	"testing"
)

// gemmFunc is the signature shared by gemm, gonumGemm and openblasGemm.
type gemmFunc func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

// gemmSizes are the benchmarked products: a square one and the shape of a
// MobileNetV2 1x1 projection at 112x112 (m = 112·112 pixels, 144 -> 24).
var gemmSizes = []struct {
	name    string
	m, n, k int
}{
	{"512x512x512", 512, 512, 512},
	{"12544x24x144", 12544, 24, 144},
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// benchGemm times f on an m×k by k×n product and returns GFLOP/s.
func benchGemm(b *testing.B, f gemmFunc, m, n, k int) float64 {
	r := rand.New(rand.NewPCG(1, 2))
	a, bb, c := randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
	b.ResetTimer()
	for b.Loop() {
		f(false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
	}
	gf := 2 * float64(m) * float64(n) * float64(k) * float64(b.N) / b.Elapsed().Seconds() / 1e9
	b.ReportMetric(gf, "GFLOP/s")
	return gf
}

// BenchmarkGemm measures the build's gemm (the AVX2 kernel or gonum, or
// OpenBLAS with the openblas tag) and gonum's in the same run, and
// reports their ratio.
func BenchmarkGemm(b *testing.B) {
	for _, s := range gemmSizes {
		var got, gn float64
		b.Run(gemmBackend+"/"+s.name, func(b *testing.B) { got = benchGemm(b, gemm, s.m, s.n, s.k) })
		b.Run("gonum/"+s.name, func(b *testing.B) { gn = benchGemm(b, gonumGemm, s.m, s.n, s.k) })
		b.Run("ratio/"+s.name, func(b *testing.B) {
			for b.Loop() {
			}
			b.ReportMetric(got/gn, gemmBackend+"/gonum")
		})
	}
}

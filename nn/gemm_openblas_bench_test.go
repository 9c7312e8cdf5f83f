//go:build openblas

package nn

import "testing"

// BenchmarkGemmVsOpenBLAS runs the pure-Go gemm and OpenBLAS on the same
// sizes in one run and reports the pure-Go speed as a fraction of
// OpenBLAS's (the "purego/openblas" metric).
func BenchmarkGemmVsOpenBLAS(b *testing.B) {
	for _, s := range gemmSizes {
		var pure, ob float64
		b.Run("purego/"+s.name, func(b *testing.B) { pure = benchGemm(b, gonumGemm, s.m, s.n, s.k) })
		b.Run("openblas/"+s.name, func(b *testing.B) { ob = benchGemm(b, openblasGemm, s.m, s.n, s.k) })
		b.Run("ratio/"+s.name, func(b *testing.B) {
			for b.Loop() {
			}
			b.ReportMetric(pure/ob, "purego/openblas")
		})
	}
}

//go:build openblas

package nn

import "testing"

// BenchmarkGemmVsOpenBLAS runs the default build's gemm (defaultGemm),
// gonum's and OpenBLAS on the same sizes in one run and reports each
// cgo-free speed as a fraction of OpenBLAS's.
func BenchmarkGemmVsOpenBLAS(b *testing.B) {
	for _, s := range gemmSizes {
		var def, gn, ob float64
		b.Run("default/"+s.name, func(b *testing.B) { def = benchGemm(b, defaultGemm, s.m, s.n, s.k) })
		b.Run("gonum/"+s.name, func(b *testing.B) { gn = benchGemm(b, gonumGemm, s.m, s.n, s.k) })
		b.Run("openblas/"+s.name, func(b *testing.B) { ob = benchGemm(b, openblasGemm, s.m, s.n, s.k) })
		b.Run("ratio/"+s.name, func(b *testing.B) {
			for b.Loop() {
			}
			b.ReportMetric(def/ob, "default/openblas")
			b.ReportMetric(gn/ob, "gonum/openblas")
		})
	}
}

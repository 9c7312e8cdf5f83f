//go:build !openblas

package nn

// gemmBackend names the BLAS behind gemm, for benchmark and log output:
// "avx2" for packedGemm, "gonum" where its kernel cannot run.
var gemmBackend = backendName()

func backendName() string {
	if haveSIMDGemm {
		return "avx2"
	}
	return "gonum"
}

// gemm computes C = alpha·op(A)·op(B) + beta·C (row-major) without cgo:
// the default build needs no C toolchain (see defaultGemm).
func gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	defaultGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

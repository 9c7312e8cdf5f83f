//go:build !openblas

package nn

// gemmBackend names the BLAS behind gemm, for benchmark and log output.
const gemmBackend = "gonum"

// gemm computes C = alpha·op(A)·op(B) + beta·C (row-major) with gonum's
// pure-Go BLAS: the default build needs no C toolchain.
func gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gonumGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

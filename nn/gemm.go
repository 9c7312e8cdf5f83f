package nn

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// The matrix product every convolution and dense layer reduces to. All
// matrices are row-major; op(A) is m×k, op(B) is k×n and C is m×n:
//
//	C = alpha·op(A)·op(B) + beta·C
//
// gemm (defined in gemm_default.go or, with the openblas build tag, in
// gemm_openblas.go) is the one entry point the layers call, so swapping
// the BLAS changes no layer. gonumGemm stays callable in every build so the
// openblas benchmarks can compare both on the same sizes in one run.
//
// Why a hand-written kernel: gonum's Sgemm has SSE inner loops only.
// Measured on this project's 2-core AVX-512 machine it reaches about 21
// GFLOP/s on 512³, 15% of OpenBLAS's ~146 in the same run, and 13.8 on the
// MobileNet-shaped 12544×24×144 (38%). packedGemm (sgemm.go) packs panels
// and runs an AVX2/FMA 6×16 micro kernel in Go assembly; see its
// benchmark figures in BenchmarkGemm. gonum remains the fallback on CPUs
// without AVX2 and FMA, and in the purego build.

// defaultGemm is the GEMM of the default build: packedGemm where its
// assembly kernel runs, gonum's otherwise. The openblas benchmarks call
// it to compare the default build with OpenBLAS in one run.
func defaultGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if haveSIMDGemm {
		packedGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	gonumGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gonumGemm runs gonum's pure-Go Sgemm. It splits C into 64×64 blocks
// that goroutines compute independently, each block summing over k in a
// fixed order, so its result does not depend on GOMAXPROCS
// (TestGemmDeterministicAcrossProcs checks it bit for bit).
func gonumGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gonum.Implementation{}.Sgemm(trans(transA), trans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

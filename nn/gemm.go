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
// Why gonum and not a hand-written kernel: measured on this project's
// 2-core AVX-512 machine, gonum's Sgemm reaches about 20-25 GFLOP/s on
// 512³ (15-18% of OpenBLAS's ~140) and 13-15 GFLOP/s on the
// MobileNet-shaped 12544×24×144 (about 40% of OpenBLAS), and a 3×3 conv
// forward reaches ~28% of the OpenBLAS build. The gap is SIMD: gonum's
// inner loops are SSE assembly, OpenBLAS's are AVX-512 micro-kernels with
// packing. Plain Go cannot vectorize, so a hand-blocked pure-Go kernel
// would be slower than gonum, and matching OpenBLAS would need our own
// AVX2/AVX-512 Go assembly; that is left undone while the shapes that
// dominate MobileNets (thin 1×1 convolutions) are already near the 30%
// aim. Users who need speed build with -tags openblas.

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

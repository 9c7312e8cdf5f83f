//go:build openblas

package nn

/*
#cgo pkg-config: openblas
#include <cblas.h>
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// gemmBackend names the BLAS behind gemm, for benchmark and log output.
const gemmBackend = "openblas"

// gemm computes C = alpha·op(A)·op(B) + beta·C (row-major) with OpenBLAS's
// cblas_sgemm: the openblas build trades the pure-Go build's portability
// for the fastest SGEMM on the machine.
func gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	openblasGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// openblasGemm checks the slice bounds Go cannot check across cgo (a short
// slice would let OpenBLAS read or write outside it) and calls cblas_sgemm.
func openblasGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if k > 0 {
		checkMatrix("A", a, ar, ac, lda)
		checkMatrix("B", b, br, bc, ldb)
	}
	checkMatrix("C", c, m, n, ldc)
	var pa, pb *C.float
	if k > 0 {
		pa, pb = (*C.float)(unsafe.Pointer(&a[0])), (*C.float)(unsafe.Pointer(&b[0]))
	}
	C.cblas_sgemm(C.CblasRowMajor, cblasTrans(transA), cblasTrans(transB),
		C.blasint(m), C.blasint(n), C.blasint(k), C.float(alpha),
		pa, C.blasint(lda), pb, C.blasint(ldb),
		C.float(beta), (*C.float)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}

func cblasTrans(t bool) C.enum_CBLAS_TRANSPOSE {
	if t {
		return C.CblasTrans
	}
	return C.CblasNoTrans
}

// checkMatrix panics with a clear message when a row-major rows×cols
// matrix with leading dimension ld does not fit in s: a layer bug, never
// user input, but one OpenBLAS would turn into memory corruption.
func checkMatrix(name string, s []float32, rows, cols, ld int) {
	if ld < max(1, cols) || len(s) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("nn: gemm: matrix %s (%dx%d, ld %d) does not fit in %d elements", name, rows, cols, ld, len(s)))
	}
}

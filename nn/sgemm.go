package nn

import (
	"sync"

	"github.com/fleetnas/fleetnas/nn/internal/kernel"
)

// packedGemm is the default build's GEMM on CPUs with AVX2 and FMA: the
// classic Goto/BLIS scheme of packed panels and a register-blocked micro
// kernel, the kernel in assembly (nn/internal/kernel). gonum's Sgemm has no
// AVX2 single-precision kernel (its inner loops are SSE), which is why this
// one is written here; gonum stays the fallback on other CPUs.
//
// C is cut into blocks of gemmMC rows by gemmNC columns; each block is a
// task (its bounds depend on the shapes only, never on GOMAXPROCS). A
// task walks k in panels of gemmKC: it packs alpha·op(A) into 6-row
// strips and op(B) into 16-column strips, zero-padded at the edges, and
// the micro kernel adds each 6×16 product, summed over the panel in
// order, to C. Every element of C is therefore summed in one fixed order
// whatever the core count.
const (
	gemmMR = kernel.MR // rows of the micro kernel
	gemmNR = kernel.NR // columns of the micro kernel (two 8-float AVX registers)
	gemmKC = 256       // depth of a packed panel
	gemmMC = 72        // rows of a task's block (12 strips of 6)
	gemmNC = 256       // columns of a task's block (16 strips of 16)
)

// gemmScratch is one task's packing buffers.
type gemmScratch struct {
	a, b, tile []float32
}

var gemmPool = sync.Pool{New: func() any {
	return &gemmScratch{
		a:    make([]float32, gemmMC*gemmKC),
		b:    make([]float32, gemmNC*gemmKC),
		tile: make([]float32, gemmMR*gemmNR),
	}
}}

// packedGemm computes C = alpha·op(A)·op(B) + beta·C (row-major), with the
// same contract as gemm.
func packedGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	mb, nb := (m+gemmMC-1)/gemmMC, (n+gemmNC-1)/gemmNC
	parallelFor(mb*nb, func(_, t int) {
		i0, j0 := (t/nb)*gemmMC, (t%nb)*gemmNC
		i1, j1 := min(i0+gemmMC, m), min(j0+gemmNC, n)
		for i := i0; i < i1; i++ {
			row := c[i*ldc+j0 : i*ldc+j1]
			switch beta {
			case 0:
				clear(row)
			case 1:
			default:
				for j := range row {
					row[j] *= beta
				}
			}
		}
		if k <= 0 || alpha == 0 {
			return
		}
		s := gemmPool.Get().(*gemmScratch)
		defer gemmPool.Put(s)
		for p0 := 0; p0 < k; p0 += gemmKC {
			kk := min(gemmKC, k-p0)
			packB(s.b, transB, b, ldb, p0, kk, j0, j1)
			packA(s.a, transA, a, lda, alpha, p0, kk, i0, i1)
			for i := i0; i < i1; i += gemmMR {
				pa := s.a[(i-i0)/gemmMR*gemmMR*kk:]
				rows := min(gemmMR, i1-i)
				for j := j0; j < j1; j += gemmNR {
					pb := s.b[(j-j0)/gemmNR*gemmNR*kk:]
					cols := min(gemmNR, j1-j)
					if rows == gemmMR && cols == gemmNR {
						kernel.Micro6x16(kk, &pa[0], &pb[0], &c[i*ldc+j], ldc)
						continue
					}
					// An edge tile: compute the padded tile aside and add
					// the part inside C.
					clear(s.tile)
					kernel.Micro6x16(kk, &pa[0], &pb[0], &s.tile[0], gemmNR)
					for r := range rows {
						dst := c[(i+r)*ldc+j : (i+r)*ldc+j+cols]
						for q, v := range s.tile[r*gemmNR : r*gemmNR+cols] {
							dst[q] += v
						}
					}
				}
			}
		}
	})
}

// packA writes alpha·op(A)[i0:i1, p0:p0+kk] as strips of gemmMR rows, each
// stored depth-major (gemmMR values per depth), rows past i1 as zeros.
func packA(dst []float32, trans bool, a []float32, lda int, alpha float32, p0, kk, i0, i1 int) {
	o := 0
	for i := i0; i < i1; i += gemmMR {
		rows := min(gemmMR, i1-i)
		for p := p0; p < p0+kk; p++ {
			strip := dst[o : o+gemmMR]
			for r := range rows {
				if trans {
					strip[r] = alpha * a[p*lda+i+r]
				} else {
					strip[r] = alpha * a[(i+r)*lda+p]
				}
			}
			clear(strip[rows:])
			o += gemmMR
		}
	}
}

// packB writes op(B)[p0:p0+kk, j0:j1] as strips of gemmNR columns, each
// stored depth-major (gemmNR values per depth), columns past j1 as zeros.
func packB(dst []float32, trans bool, b []float32, ldb int, p0, kk, j0, j1 int) {
	o := 0
	for j := j0; j < j1; j += gemmNR {
		cols := min(gemmNR, j1-j)
		for p := p0; p < p0+kk; p++ {
			strip := dst[o : o+gemmNR]
			if trans {
				for q := range cols {
					strip[q] = b[(j+q)*ldb+p]
				}
			} else {
				copy(strip[:cols], b[p*ldb+j:p*ldb+j+cols])
			}
			clear(strip[cols:])
			o += gemmNR
		}
	}
}

// haveSIMDGemm reports whether packedGemm's assembly kernel runs here.
var haveSIMDGemm = kernel.HaveSIMD

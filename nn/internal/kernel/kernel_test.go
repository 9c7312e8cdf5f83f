package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMicro6x16 compares the kernel of this platform (assembly where it
// runs) with Go6x16 and with a float64 sum, for depths 0, 1 and an odd
// 37, adding into a C with a row stride wider than the tile.
func TestMicro6x16(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 16))
	rnd := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(r.NormFloat64())
		}
		return s
	}
	for _, k := range []int{0, 1, 37} {
		a, b := rnd(max(k, 1)*MR), rnd(max(k, 1)*NR)
		const ldc = NR + 3
		c := rnd(MR * ldc)
		ref := append([]float32(nil), c...)
		exact := make([]float64, len(c))
		for i := range exact {
			exact[i] = float64(c[i])
		}
		for row := range MR {
			for q := range NR {
				for p := range k {
					exact[row*ldc+q] += float64(a[p*MR+row]) * float64(b[p*NR+q])
				}
			}
		}
		Micro6x16(k, &a[0], &b[0], &c[0], ldc)
		Go6x16(k, a, b, ref, ldc)
		for i := range c {
			if math.Abs(float64(c[i])-exact[i]) > 1e-4 || math.Abs(float64(ref[i])-exact[i]) > 1e-4 {
				t.Fatalf("k=%d (SIMD %v) element %d: kernel %v, Go %v, exact %v", k, HaveSIMD, i, c[i], ref[i], exact[i])
			}
		}
	}
}

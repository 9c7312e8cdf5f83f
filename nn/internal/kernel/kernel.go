package kernel

// Go6x16 is the micro kernel in Go: C[0:6, 0:16] (row stride ldc)
// += the product of a packed A strip and a packed B strip of depth k. It
// is the reference the assembly kernel is tested against, and the kernel
// on other platforms.
func Go6x16(k int, a, b []float32, c []float32, ldc int) {
	var acc [MR][NR]float32
	for p := range k {
		av := a[p*MR : p*MR+MR]
		bv := b[p*NR : p*NR+NR]
		for r := range MR {
			for q := range NR {
				acc[r][q] += av[r] * bv[q]
			}
		}
	}
	for r := range MR {
		for q := range NR {
			c[r*ldc+q] += acc[r][q]
		}
	}
}

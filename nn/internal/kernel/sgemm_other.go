//go:build !amd64 || purego

package kernel

import "unsafe"

// HaveSIMD is false: there is no assembly kernel for this platform.
const HaveSIMD = false

// Micro6x16 is Go6x16 over raw pointers, so callers build (and their tests
// run) everywhere.
func Micro6x16(k int, a, b, c *float32, ldc int) {
	Go6x16(k, unsafe.Slice(a, k*MR), unsafe.Slice(b, k*NR), unsafe.Slice(c, (MR-1)*ldc+NR), ldc)
}

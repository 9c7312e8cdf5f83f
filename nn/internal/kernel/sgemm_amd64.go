//go:build amd64 && !purego

package kernel

import "golang.org/x/sys/cpu"

// HaveSIMD reports whether the assembly kernel can run on this CPU.
var HaveSIMD = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// Micro6x16 adds the 6×16 product of a packed A strip (MR values per
// depth) and a packed B strip (NR values per depth) of depth k to C (row
// stride ldc floats), with AVX2 and FMA: twelve 8-float accumulators, one
// broadcast of A and two loads of B per depth. Callers must check HaveSIMD.
//
//go:noescape
func Micro6x16(k int, a, b, c *float32, ldc int)

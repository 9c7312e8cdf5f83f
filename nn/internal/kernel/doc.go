// Package kernel holds the assembly micro kernel of the nn package's GEMM.
// It is a package of its own because Go does not allow Go assembly in a
// package that uses cgo, as nn does in its openblas build.
package kernel

// MR and NR are the rows and columns of the micro kernel's tile.
const (
	MR = 6
	NR = 16
)

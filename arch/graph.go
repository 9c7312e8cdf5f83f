package arch

import "fmt"

// Op is a primitive layer kind produced by lowering a network.
type Op string

// The primitive layer kinds. Batch norm and activation that follow a
// convolution are folded into it (as every mobile runtime does); a BN or
// activation that stands alone is its own layer.
const (
	OpConv       Op = "conv"      // kxk (possibly grouped) convolution
	OpDepthwise  Op = "depthwise" // kxk depthwise convolution
	OpFC         Op = "fc"        // dense layer on a 1x1 input
	OpGlobalPool Op = "gpool"     // global average pool
	OpAvgPool    Op = "avgpool"   // kxk average pool
	OpAdd        Op = "add"       // element-wise sum of two or more tensors
	OpMul        Op = "mul"       // broadcast multiply (squeeze-excite scaling)
	OpAct        Op = "act"       // stand-alone activation
	OpBN         Op = "bn"        // stand-alone batch norm
	OpScale      Op = "scale"     // per-channel trainable scale (layer scale)
	OpShuffle    Op = "shuffle"   // channel shuffle after a grouped conv
	OpMatMul     Op = "matmul"    // batched matrix product (attention)
	OpSoftmax    Op = "softmax"   // softmax over the last axis (attention)
	OpZero       Op = "zero"      // a tensor of zeros (a NAS-Bench-201 node with no inputs)
)

// Shape is a feature map: height, width, channels (batch 1).
type Shape struct {
	H, W, C int
}

// Elems returns the number of elements.
func (s Shape) Elems() int64 { return int64(s.H) * int64(s.W) * int64(s.C) }

func (s Shape) String() string { return fmt.Sprintf("%dx%dx%d", s.H, s.W, s.C) }

// MarshalText writes the shape as "HxWxC", its form in every JSON report.
func (s Shape) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Layer is one primitive operation of a lowered network.
type Layer struct {
	Block int    // index of the block it comes from; -1 for none
	Name  string // block index and role, e.g. "3.expand"
	// Part groups the layers of a block: stem, expand, depthwise, se,
	// project, residual, attention, pool, classifier, ...
	Part string
	Op   Op
	In   Shape // first input
	Out  Shape
	// Kernel, Stride and Groups describe convolutions and pooling.
	Kernel, Stride, Groups int
	// Activation folded into the layer's output (Identity when none).
	Activation Activation
	BN, Bias   bool
	// MatMul is the batched product dimensions [batch, M, K, N] of an OpMatMul.
	MatMul [4]int
	// Inputs are the tensor ids this layer reads; Output the one it writes.
	Inputs []int
	Output int
}

// Graph is a network lowered at one input resolution: a list of layers in
// execution order over a set of tensors (tensor 0 is the input image).
type Graph struct {
	Network    *Network
	Resolution int
	Tensors    []Shape
	Layers     []Layer
	// BlockOut is the output tensor of each block.
	BlockOut []int
}

// Output returns the shape of the network's final tensor.
func (g *Graph) Output() Shape { return g.Tensors[len(g.Tensors)-1] }

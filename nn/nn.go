// Package nn is fleetnas's float32 training engine for the MobileNet op
// set: NHWC tensors, the layers' forward and backward passes, and the
// parameters optimizers update. It is written by hand because no Go
// library trains small CNNs on a CPU well (GoMLX's pure-Go backend cannot
// differentiate convolutions without patches, gorgonia has no depthwise
// convolution and one core); matrix products go through gonum's BLAS
// interface (pure Go by default, OpenBLAS with the openblas build tag).
package nn

// Tensor is a dense float32 tensor in NHWC layout (batch, height, width,
// channels); a matrix or vector uses the leading dimensions as 1.
type Tensor struct {
	N, H, W, C int
	Data       []float32
}

// NewTensor allocates a zeroed tensor.
func NewTensor(n, h, w, c int) *Tensor {
	return &Tensor{N: n, H: h, W: w, C: c, Data: make([]float32, n*h*w*c)}
}

// Len is the number of elements.
func (t *Tensor) Len() int { return t.N * t.H * t.W * t.C }

// Param is a trainable tensor and its gradient, as optimizers see it.
type Param struct {
	// Name is unique within a model (e.g. "3.expand.w"); checkpoints key on it.
	Name string
	Data []float32
	Grad []float32
	// NoDecay exempts the parameter from weight decay (biases, batch-norm
	// scale and shift, as is usual for MobileNets).
	NoDecay bool
}

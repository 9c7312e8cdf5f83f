package nn

import (
	"fmt"
	"math/rand/v2"
)

// Layer is one differentiable operation of a network, the unit the graph
// executor chains. A conv layer with folded batch norm and activation in
// arch is three Layers here (Conv2D, BatchNorm, Act), so each piece has one
// gradient to get right and the executor composes them.
type Layer interface {
	// Forward computes the output for a batch. train selects training
	// behaviour (batch statistics, dropout). It keeps references to the
	// inputs (and, for some layers, to intermediates) for Backward, so the
	// caller must not modify the inputs until Backward has run.
	Forward(train bool, in ...*Tensor) *Tensor
	// Backward takes the loss gradient with respect to the output of the
	// last Forward and returns the gradients with respect to each input,
	// in Forward's order; each is a fresh tensor the caller owns. It adds
	// (never assigns) the parameter gradients into Param.Grad, so several
	// backward passes accumulate until the optimizer zeroes them.
	Backward(gradOut *Tensor) []*Tensor
	// Params lists the trainable parameters (nil for none), in a fixed order.
	Params() []*Param
}

// Stateful is a layer with non-trainable state a checkpoint must keep
// (batch norm's moving statistics).
type Stateful interface {
	// State returns the state keyed by a name unique within the model. The
	// slices are the layer's own, so a checkpoint should copy or encode
	// them before training continues.
	State() map[string][]float32
	// SetState copies a saved state back; it fails if a key is missing or
	// a length differs.
	SetState(map[string][]float32) error
}

// Initializer is a layer whose parameters get a seeded random start.
type Initializer interface {
	// Init draws the initial parameters from r; the same r state gives the
	// same parameters.
	Init(r *rand.Rand)
}

// SamePadding returns TensorFlow's 'same' output size and the padding
// before the first element for an input of size in, kernel k and stride s:
// out = ceil(in/s), total padding max((out-1)·s + k - in, 0), of which the
// smaller half goes before (TensorFlow pads more after, unlike PyTorch's
// symmetric padding).
func SamePadding(in, k, s int) (out, before int) {
	out = (in + s - 1) / s
	total := max((out-1)*s+k-in, 0)
	return out, total / 2
}

// newParam allocates a named parameter and its gradient.
func newParam(name string, n int, noDecay bool) *Param {
	return &Param{Name: name, Data: make([]float32, n), Grad: make([]float32, n), NoDecay: noDecay}
}

// sameShape reports whether two tensors have identical dimensions.
func sameShape(a, b *Tensor) bool {
	return a.N == b.N && a.H == b.H && a.W == b.W && a.C == b.C
}

// shapeString formats a tensor's dimensions for error messages.
func shapeString(t *Tensor) string { return fmt.Sprintf("%dx%dx%dx%d", t.N, t.H, t.W, t.C) }

// mustInputs panics with a clear message when an executor passes the wrong
// number of inputs: a wiring bug in the caller, not bad user data.
func mustInputs(op string, in []*Tensor, n int) {
	if len(in) != n {
		panic(fmt.Sprintf("nn: %s takes %d input(s), got %d", op, n, len(in)))
	}
	for i, t := range in {
		if t == nil {
			panic(fmt.Sprintf("nn: %s: input %d is nil", op, i))
		}
	}
}

// mustGrad panics when a gradient does not match the forward output, or
// when Backward runs before Forward.
func mustGrad(op string, out, grad *Tensor) {
	if out == nil {
		panic(fmt.Sprintf("nn: %s: Backward before Forward", op))
	}
	if grad == nil || !sameShape(out, grad) {
		g := "nil"
		if grad != nil {
			g = shapeString(grad)
		}
		panic(fmt.Sprintf("nn: %s: gradient %s does not match output %s", op, g, shapeString(out)))
	}
}

// like allocates a zeroed tensor with t's dimensions.
func like(t *Tensor) *Tensor { return NewTensor(t.N, t.H, t.W, t.C) }

// Compile-time checks that the layers implement the interfaces the
// executor relies on.
var (
	_ Layer       = (*Conv2D)(nil)
	_ Layer       = (*Depthwise)(nil)
	_ Layer       = (*BatchNorm)(nil)
	_ Layer       = (*Act)(nil)
	_ Layer       = (*GlobalAvgPool)(nil)
	_ Layer       = (*AvgPool)(nil)
	_ Layer       = (*Dense)(nil)
	_ Layer       = (*Add)(nil)
	_ Layer       = (*Mul)(nil)
	_ Layer       = (*Scale)(nil)
	_ Layer       = (*Shuffle)(nil)
	_ Layer       = (*Zero)(nil)
	_ Layer       = (*Dropout)(nil)
	_ Stateful    = (*BatchNorm)(nil)
	_ Initializer = (*Conv2D)(nil)
	_ Initializer = (*Depthwise)(nil)
	_ Initializer = (*Dense)(nil)
)

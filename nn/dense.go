package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Dense is a fully connected layer: each sample's H·W·C values (1·1·C
// after a global pool) times an In×Out weight, plus an optional bias. The
// output is N×1×1×Out.
type Dense struct {
	In, Out int
	W, B    *Param // W is In×Out row-major (Keras's kernel); B is nil without bias

	x, out *Tensor
}

// NewDense makes a dense layer named name (parameters name+".w", name+".b").
func NewDense(name string, in, out int, bias bool) (*Dense, error) {
	if in <= 0 || out <= 0 {
		return nil, fmt.Errorf("dense %s: sizes must be positive, got %d -> %d", name, in, out)
	}
	d := &Dense{In: in, Out: out, W: newParam(name+".w", in*out, false)}
	if bias {
		d.B = newParam(name+".b", out, true)
	}
	return d, nil
}

// Params returns the weight and, with bias, the bias.
func (d *Dense) Params() []*Param {
	if d.B != nil {
		return []*Param{d.W, d.B}
	}
	return []*Param{d.W}
}

// Init draws the weight from Keras's default Glorot uniform, limit
// sqrt(6/(in+out)), and zeroes the bias.
func (d *Dense) Init(r *rand.Rand) {
	lim := math.Sqrt(6 / float64(d.In+d.Out))
	for i := range d.W.Data {
		d.W.Data[i] = float32((2*r.Float64() - 1) * lim)
	}
	if d.B != nil {
		clear(d.B.Data)
	}
}

// Forward computes in[0]·W + B.
func (d *Dense) Forward(train bool, in ...*Tensor) *Tensor {
	mustInputs("dense", in, 1)
	x := in[0]
	if x.H*x.W*x.C != d.In {
		panic(fmt.Sprintf("nn: dense %s: input %s has %d features per sample, want %d", d.W.Name, shapeString(x), x.H*x.W*x.C, d.In))
	}
	out := NewTensor(x.N, 1, 1, d.Out)
	if d.B != nil {
		for s := range x.N {
			copy(out.Data[s*d.Out:(s+1)*d.Out], d.B.Data)
		}
	}
	gemm(false, false, x.N, d.Out, d.In, 1, x.Data, d.In, d.W.Data, d.Out, 1, out.Data, d.Out)
	d.x, d.out = x, out
	return out
}

// Backward returns the input gradient (shaped like the input) and adds
// the weight and bias gradients.
func (d *Dense) Backward(gradOut *Tensor) []*Tensor {
	mustGrad("dense", d.out, gradOut)
	x := d.x
	gemm(true, false, d.In, d.Out, x.N, 1, x.Data, d.In, gradOut.Data, d.Out, 1, d.W.Grad, d.Out)
	if d.B != nil {
		for s := range x.N {
			for j, v := range gradOut.Data[s*d.Out : (s+1)*d.Out] {
				d.B.Grad[j] += v
			}
		}
	}
	dx := like(x)
	gemm(false, true, x.N, d.In, d.Out, 1, gradOut.Data, d.Out, d.W.Data, d.Out, 0, dx.Data, d.In)
	return []*Tensor{dx}
}

package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Depthwise is a k×k depthwise convolution (channel multiplier 1) with
// TensorFlow 'same' padding, computed directly: im2col would copy k² times
// the input for a product with one column per channel, which no GEMM runs
// well. The weight is laid out [k][k][C] (Keras's depthwise kernel without
// its multiplier axis). Samples run in parallel.
type Depthwise struct {
	C, Kernel, Stride int
	W, B              *Param // B is nil without bias

	x, out *Tensor
}

// NewDepthwise makes a depthwise convolution named name (parameters
// name+".w" and name+".b").
func NewDepthwise(name string, c, kernel, stride int, bias bool) (*Depthwise, error) {
	if c <= 0 || kernel <= 0 || stride <= 0 {
		return nil, fmt.Errorf("depthwise %s: channels, kernel and stride must be positive, got %d, %d, %d", name, c, kernel, stride)
	}
	d := &Depthwise{C: c, Kernel: kernel, Stride: stride, W: newParam(name+".w", kernel*kernel*c, false)}
	if bias {
		d.B = newParam(name+".b", c, true)
	}
	return d, nil
}

// Params returns the weight and, with bias, the bias.
func (d *Depthwise) Params() []*Param {
	if d.B != nil {
		return []*Param{d.W, d.B}
	}
	return []*Param{d.W}
}

// Init draws the weight from a truncated normal with variance 2/k² (fan
// out of one output channel, as Keras computes it for a depthwise kernel)
// and zeroes the bias.
func (d *Depthwise) Init(r *rand.Rand) {
	truncNormal(r, d.W.Data, math.Sqrt(2/float64(d.Kernel*d.Kernel)))
	if d.B != nil {
		clear(d.B.Data)
	}
}

// Forward convolves each channel of in[0] with its own k×k filter.
func (d *Depthwise) Forward(train bool, in ...*Tensor) *Tensor {
	mustInputs("depthwise", in, 1)
	x := in[0]
	if x.C != d.C {
		panic(fmt.Sprintf("nn: depthwise %s: input %s has %d channels, want %d", d.W.Name, shapeString(x), x.C, d.C))
	}
	g := newGeometry(x, d.Kernel, d.Stride)
	out := NewTensor(x.N, g.oh, g.ow, d.C)
	d.x, d.out = x, out
	c, k := d.C, d.Kernel
	parallelFor(x.N, func(_, s int) {
		img := x.Data[s*g.h*g.w*c : (s+1)*g.h*g.w*c]
		o := out.Data[s*g.oh*g.ow*c : (s+1)*g.oh*g.ow*c]
		for oy := range g.oh {
			for ox := range g.ow {
				row := o[(oy*g.ow+ox)*c : (oy*g.ow+ox+1)*c]
				if d.B != nil {
					copy(row, d.B.Data)
				}
				iy0, ix0 := oy*g.stride-g.padTop, ox*g.stride-g.padLft
				for ky := range k {
					iy := iy0 + ky
					if iy < 0 || iy >= g.h {
						continue
					}
					for kx := range k {
						ix := ix0 + kx
						if ix < 0 || ix >= g.w {
							continue
						}
						// Equal lengths let the compiler drop bounds checks.
						src := img[(iy*g.w+ix)*c:][:len(row)]
						w := d.W.Data[(ky*k+kx)*c:][:len(row)]
						for i, v := range src {
							row[i] += v * w[i]
						}
					}
				}
			}
		}
	})
	return out
}

// Backward returns the input gradient and adds the weight and bias
// gradients, summed per sample and then over samples in order.
func (d *Depthwise) Backward(gradOut *Tensor) []*Tensor {
	mustGrad("depthwise", d.out, gradOut)
	x, dy := d.x, gradOut
	g := newGeometry(x, d.Kernel, d.Stride)
	dx := like(x)
	c, k := d.C, d.Kernel
	dws := make([][]float32, x.N)
	var dbs [][]float32
	if d.B != nil {
		dbs = make([][]float32, x.N)
	}
	parallelFor(x.N, func(_, s int) {
		img := x.Data[s*g.h*g.w*c : (s+1)*g.h*g.w*c]
		dimg := dx.Data[s*g.h*g.w*c : (s+1)*g.h*g.w*c]
		dout := dy.Data[s*g.oh*g.ow*c : (s+1)*g.oh*g.ow*c]
		dw := make([]float32, len(d.W.Data))
		var db []float32
		if dbs != nil {
			db = make([]float32, c)
			dbs[s] = db
		}
		for oy := range g.oh {
			for ox := range g.ow {
				grow := dout[(oy*g.ow+ox)*c : (oy*g.ow+ox+1)*c]
				for i, v := range db {
					db[i] = v + grow[i]
				}
				iy0, ix0 := oy*g.stride-g.padTop, ox*g.stride-g.padLft
				for ky := range k {
					iy := iy0 + ky
					if iy < 0 || iy >= g.h {
						continue
					}
					for kx := range k {
						ix := ix0 + kx
						if ix < 0 || ix >= g.w {
							continue
						}
						src := img[(iy*g.w+ix)*c:][:len(grow)]
						dsrc := dimg[(iy*g.w+ix)*c:][:len(grow)]
						w := d.W.Data[(ky*k+kx)*c:][:len(grow)]
						gw := dw[(ky*k+kx)*c:][:len(grow)]
						for i, gv := range grow {
							dsrc[i] += gv * w[i]
							gw[i] += gv * src[i]
						}
					}
				}
			}
		}
		dws[s] = dw
	})
	addParts(d.W.Grad, dws)
	if d.B != nil {
		addParts(d.B.Grad, dbs)
	}
	return []*Tensor{dx}
}

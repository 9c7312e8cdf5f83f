package nn

import "fmt"

// GlobalAvgPool averages each channel over height and width: N×H×W×C to
// N×1×1×C.
type GlobalAvgPool struct {
	x, out *Tensor
}

// NewGlobalAvgPool makes a global average pool.
func NewGlobalAvgPool() *GlobalAvgPool { return &GlobalAvgPool{} }

// Params returns nil: pooling has no parameters.
func (p *GlobalAvgPool) Params() []*Param { return nil }

// Forward averages in[0] over its spatial positions (in float64, since a
// 112×112 map sums 12,544 values).
func (p *GlobalAvgPool) Forward(train bool, in ...*Tensor) *Tensor {
	mustInputs("global pool", in, 1)
	x := in[0]
	out := NewTensor(x.N, 1, 1, x.C)
	hw, c := x.H*x.W, x.C
	parallelFor(x.N, func(_, s int) {
		acc := make([]float64, c)
		for r := range hw {
			for j, v := range x.Data[(s*hw+r)*c : (s*hw+r+1)*c] {
				acc[j] += float64(v)
			}
		}
		for j, v := range acc {
			out.Data[s*c+j] = float32(v / float64(hw))
		}
	})
	p.x, p.out = x, out
	return out
}

// Backward spreads each channel's gradient evenly over the positions.
func (p *GlobalAvgPool) Backward(gradOut *Tensor) []*Tensor {
	mustGrad("global pool", p.out, gradOut)
	x := p.x
	dx := like(x)
	hw, c := x.H*x.W, x.C
	inv := 1 / float32(hw)
	parallelFor(x.N, func(_, s int) {
		g := gradOut.Data[s*c : (s+1)*c]
		for r := range hw {
			d := dx.Data[(s*hw+r)*c : (s*hw+r+1)*c]
			for j, v := range g {
				d[j] = v * inv
			}
		}
	})
	return []*Tensor{dx}
}

// AvgPool is a k×k average pool with TensorFlow 'same' padding whose
// divisor counts only the positions inside the input
// (count_include_pad=False): NAS-Bench-201's 3×3 stride 1 pool pads by one
// and so averages 4, 6 or 9 values; the 2×2 stride 2 pool of its residual
// shortcut has no padding on even sizes.
type AvgPool struct {
	Kernel, Stride int

	x, out *Tensor
}

// NewAvgPool makes an average pool.
func NewAvgPool(kernel, stride int) (*AvgPool, error) {
	if kernel <= 0 || stride <= 0 {
		return nil, fmt.Errorf("avg pool: kernel and stride must be positive, got %d, %d", kernel, stride)
	}
	return &AvgPool{Kernel: kernel, Stride: stride}, nil
}

// Params returns nil: pooling has no parameters.
func (p *AvgPool) Params() []*Param { return nil }

// window returns the input rows (or columns) [lo, hi) an output position
// o covers, clipped to the input.
func window(o, stride, pad, k, size int) (lo, hi int) {
	lo = o*stride - pad
	return max(lo, 0), min(lo+k, size)
}

// Forward pools in[0].
func (p *AvgPool) Forward(train bool, in ...*Tensor) *Tensor {
	mustInputs("avg pool", in, 1)
	x := in[0]
	g := newGeometry(x, p.Kernel, p.Stride)
	out := NewTensor(x.N, g.oh, g.ow, x.C)
	c := x.C
	parallelFor(x.N, func(_, s int) {
		img := x.Data[s*g.h*g.w*c:]
		for oy := range g.oh {
			y0, y1 := window(oy, g.stride, g.padTop, g.k, g.h)
			for ox := range g.ow {
				x0, x1 := window(ox, g.stride, g.padLft, g.k, g.w)
				o := out.Data[((s*g.oh+oy)*g.ow+ox)*c:][:c]
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						for j, v := range img[(iy*g.w+ix)*c : (iy*g.w+ix+1)*c] {
							o[j] += v
						}
					}
				}
				inv := 1 / float32((y1-y0)*(x1-x0))
				for j := range o {
					o[j] *= inv
				}
			}
		}
	})
	p.x, p.out = x, out
	return out
}

// Backward spreads each output's gradient evenly over its window.
func (p *AvgPool) Backward(gradOut *Tensor) []*Tensor {
	mustGrad("avg pool", p.out, gradOut)
	x := p.x
	g := newGeometry(x, p.Kernel, p.Stride)
	dx := like(x)
	c := x.C
	parallelFor(x.N, func(_, s int) {
		dimg := dx.Data[s*g.h*g.w*c:]
		for oy := range g.oh {
			y0, y1 := window(oy, g.stride, g.padTop, g.k, g.h)
			for ox := range g.ow {
				x0, x1 := window(ox, g.stride, g.padLft, g.k, g.w)
				d := gradOut.Data[((s*g.oh+oy)*g.ow+ox)*c:][:c]
				inv := 1 / float32((y1-y0)*(x1-x0))
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						dd := dimg[(iy*g.w+ix)*c : (iy*g.w+ix+1)*c]
						for j, v := range d {
							dd[j] += v * inv
						}
					}
				}
			}
		}
	})
	return []*Tensor{dx}
}

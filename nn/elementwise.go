package nn

import (
	"fmt"
)

// Add sums two or more tensors of the same shape (residual connections,
// NAS-Bench-201 node sums).
type Add struct {
	n   int
	out *Tensor
}

// NewAdd makes a sum of n inputs (n = 1 copies its input).
func NewAdd(n int) (*Add, error) {
	if n < 1 {
		return nil, fmt.Errorf("add needs at least one input, got %d", n)
	}
	return &Add{n: n}, nil
}

// Params returns nil.
func (a *Add) Params() []*Param { return nil }

// Forward returns the element-wise sum of the inputs, added in input order.
func (a *Add) Forward(train bool, in ...*Tensor) *Tensor {
	mustInputs("add", in, a.n)
	for i, t := range in[1:] {
		if !sameShape(t, in[0]) {
			panic(fmt.Sprintf("nn: add: input %d is %s, input 0 is %s", i+1, shapeString(t), shapeString(in[0])))
		}
	}
	out := like(in[0])
	forRange(len(out.Data), actMinElems, func(lo, hi int) {
		o := out.Data[lo:hi]
		copy(o, in[0].Data[lo:hi])
		for _, t := range in[1:] {
			for i, v := range t.Data[lo:hi] {
				o[i] += v
			}
		}
	})
	a.out = out
	return out
}

// Backward passes the gradient to every input (one copy each, so the
// caller may accumulate into any of them).
func (a *Add) Backward(gradOut *Tensor) []*Tensor {
	mustGrad("add", a.out, gradOut)
	g := make([]*Tensor, a.n)
	for i := range g {
		g[i] = like(gradOut)
		copy(g[i].Data, gradOut.Data)
	}
	return g
}

// Mul scales a feature map by a per-sample, per-channel gate: in[0] is
// N×H×W×C, in[1] is N×1×1×C (squeeze-excite's x·gate).
type Mul struct {
	x, gate, out *Tensor
}

// NewMul makes a squeeze-excite scaling.
func NewMul() *Mul { return &Mul{} }

// Params returns nil.
func (m *Mul) Params() []*Param { return nil }

// Forward returns x·gate broadcast over height and width.
func (m *Mul) Forward(train bool, in ...*Tensor) *Tensor {
	mustInputs("mul", in, 2)
	x, g := in[0], in[1]
	if g.N != x.N || g.H != 1 || g.W != 1 || g.C != x.C {
		panic(fmt.Sprintf("nn: mul: gate %s does not broadcast to %s (want %dx1x1x%d)", shapeString(g), shapeString(x), x.N, x.C))
	}
	out := like(x)
	hw, c := x.H*x.W, x.C
	parallelFor(x.N, func(_, s int) {
		gs := g.Data[s*c : (s+1)*c]
		for r := s * hw; r < (s+1)*hw; r++ {
			o := out.Data[r*c : (r+1)*c]
			for j, v := range x.Data[r*c : (r+1)*c] {
				o[j] = v * gs[j]
			}
		}
	})
	m.x, m.gate, m.out = x, g, out
	return out
}

// Backward returns dx = dy·gate and dgate = Σ_hw dy·x (summed in float64
// in a fixed order).
func (m *Mul) Backward(gradOut *Tensor) []*Tensor {
	mustGrad("mul", m.out, gradOut)
	x, g := m.x, m.gate
	dx, dg := like(x), like(g)
	hw, c := x.H*x.W, x.C
	parallelFor(x.N, func(_, s int) {
		gs := g.Data[s*c : (s+1)*c]
		acc := make([]float64, c)
		for r := s * hw; r < (s+1)*hw; r++ {
			d, xs, o := gradOut.Data[r*c:(r+1)*c], x.Data[r*c:(r+1)*c], dx.Data[r*c:(r+1)*c]
			for j, v := range d {
				o[j] = v * gs[j]
				acc[j] += float64(v) * float64(xs[j])
			}
		}
		for j, v := range acc {
			dg.Data[s*c+j] = float32(v)
		}
	})
	return []*Tensor{dx, dg}
}

// Scale multiplies each channel by a trainable factor (MobileNetV4's layer
// scale).
type Scale struct {
	C     int
	Gamma *Param

	x, out *Tensor
}

// NewScale makes a per-channel scale named name (parameter name+".gamma",
// exempt from weight decay) starting at init (MobileNetV4 uses 1e-5).
func NewScale(name string, c int, init float32) (*Scale, error) {
	if c <= 0 {
		return nil, fmt.Errorf("scale %s: channels must be positive, got %d", name, c)
	}
	s := &Scale{C: c, Gamma: newParam(name+".gamma", c, true)}
	for i := range s.Gamma.Data {
		s.Gamma.Data[i] = init
	}
	return s, nil
}

// Params returns the per-channel factors.
func (s *Scale) Params() []*Param { return []*Param{s.Gamma} }

// Forward returns in[0]·Gamma per channel.
func (s *Scale) Forward(train bool, in ...*Tensor) *Tensor {
	mustInputs("scale", in, 1)
	x := in[0]
	if x.C != s.C {
		panic(fmt.Sprintf("nn: scale %s: input %s has %d channels, want %d", s.Gamma.Name, shapeString(x), x.C, s.C))
	}
	out := like(x)
	c := s.C
	forRange(x.Len()/c, actMinElems/c+1, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			o := out.Data[r*c : (r+1)*c]
			for j, v := range x.Data[r*c : (r+1)*c] {
				o[j] = v * s.Gamma.Data[j]
			}
		}
	})
	s.x, s.out = x, out
	return out
}

// Backward returns dy·Gamma and adds Σ dy·x to Gamma's gradient.
func (s *Scale) Backward(gradOut *Tensor) []*Tensor {
	mustGrad("scale", s.out, gradOut)
	x, c := s.x, s.C
	dx := like(x)
	sums := channelSums(x.Len()/c, c, 1, func(lo, hi int, acc []float64) {
		for r := lo; r < hi; r++ {
			d, o := gradOut.Data[r*c:(r+1)*c], dx.Data[r*c:(r+1)*c]
			for j, v := range x.Data[r*c : (r+1)*c] {
				o[j] = d[j] * s.Gamma.Data[j]
				acc[j] += float64(d[j]) * float64(v)
			}
		}
	})
	for j, v := range sums {
		s.Gamma.Grad[j] += float32(v)
	}
	return []*Tensor{dx}
}

// Shuffle is ShuffleNet's channel shuffle after a grouped convolution:
// channels viewed as groups×(C/groups) are transposed, so output channel
// j·groups+i is input channel i·(C/groups)+j and the next grouped conv
// sees channels of every group.
type Shuffle struct {
	Groups int

	out *Tensor
}

// NewShuffle makes a channel shuffle; c must be a multiple of groups.
func NewShuffle(c, groups int) (*Shuffle, error) {
	if groups <= 0 || c <= 0 || c%groups != 0 {
		return nil, fmt.Errorf("shuffle: %d groups do not divide %d channels", groups, c)
	}
	return &Shuffle{Groups: groups}, nil
}

// Params returns nil.
func (s *Shuffle) Params() []*Param { return nil }

// permute copies src to dst with channel perm: dst[.., j·g+i] =
// src[.., i·(C/g)+j], or its inverse.
func permute(src, dst *Tensor, g int, inverse bool) {
	c := src.C
	per := c / g
	forRange(src.Len()/c, actMinElems/c+1, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			s, d := src.Data[r*c:(r+1)*c], dst.Data[r*c:(r+1)*c]
			for i := range g {
				for j := range per {
					if inverse {
						d[i*per+j] = s[j*g+i]
					} else {
						d[j*g+i] = s[i*per+j]
					}
				}
			}
		}
	})
}

// Forward shuffles the channels of in[0].
func (s *Shuffle) Forward(train bool, in ...*Tensor) *Tensor {
	mustInputs("shuffle", in, 1)
	x := in[0]
	if x.C%s.Groups != 0 {
		panic(fmt.Sprintf("nn: shuffle: %d groups do not divide input %s", s.Groups, shapeString(x)))
	}
	out := like(x)
	permute(x, out, s.Groups, false)
	s.out = out
	return out
}

// Backward applies the inverse permutation to the gradient.
func (s *Shuffle) Backward(gradOut *Tensor) []*Tensor {
	mustGrad("shuffle", s.out, gradOut)
	dx := like(gradOut)
	permute(gradOut, dx, s.Groups, true)
	return []*Tensor{dx}
}

// Zero outputs zeros shaped like its input: a NAS-Bench-201 cell whose
// output node no edge reaches. Its input gets a zero gradient.
type Zero struct {
	out *Tensor
}

// NewZero makes a zero layer.
func NewZero() *Zero { return &Zero{} }

// Params returns nil.
func (z *Zero) Params() []*Param { return nil }

// Forward returns zeros shaped like in[0].
func (z *Zero) Forward(train bool, in ...*Tensor) *Tensor {
	mustInputs("zero", in, 1)
	z.out = like(in[0])
	return z.out
}

// Backward returns a zero gradient.
func (z *Zero) Backward(gradOut *Tensor) []*Tensor {
	mustGrad("zero", z.out, gradOut)
	return []*Tensor{like(gradOut)}
}

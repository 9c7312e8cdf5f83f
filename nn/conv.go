package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Conv2D is a k×k convolution with TensorFlow 'same' padding, optional
// groups and bias, computed as im2col + GEMM. The weight is laid out
// [k][k][in/groups][out] (Keras's HWIO kernel), which makes it directly
// the GEMM's right-hand matrix: each output channel group g multiplies the
// im2col patches of input group g by the columns of group g.
type Conv2D struct {
	InC, OutC, Kernel, Stride, Groups int
	W, B                              *Param // B is nil without bias

	x, out *Tensor // cached by Forward
}

// targetRows is the number of output pixels one conv task aims at: enough
// for the GEMM to be efficient, few enough that im2col stays in cache-ish
// sizes and two cores have tasks to share.
const targetRows = 1024

// NewConv2D makes a convolution named name (parameters name+".w" and
// name+".b"). It fails when the channel counts are not multiples of
// groups or a size is not positive.
func NewConv2D(name string, inC, outC, kernel, stride, groups int, bias bool) (*Conv2D, error) {
	if groups == 0 {
		groups = 1
	}
	switch {
	case inC <= 0 || outC <= 0:
		return nil, fmt.Errorf("conv %s: channels must be positive, got %d -> %d", name, inC, outC)
	case kernel <= 0 || stride <= 0 || groups < 0:
		return nil, fmt.Errorf("conv %s: kernel, stride and groups must be positive, got %d, %d, %d", name, kernel, stride, groups)
	case inC%groups != 0 || outC%groups != 0:
		return nil, fmt.Errorf("conv %s: %d groups do not divide %d input and %d output channels", name, groups, inC, outC)
	}
	c := &Conv2D{InC: inC, OutC: outC, Kernel: kernel, Stride: stride, Groups: groups,
		W: newParam(name+".w", kernel*kernel*(inC/groups)*outC, false)}
	if bias {
		c.B = newParam(name+".b", outC, true)
	}
	return c, nil
}

// Params returns the weight and, with bias, the bias.
func (c *Conv2D) Params() []*Param {
	if c.B != nil {
		return []*Param{c.W, c.B}
	}
	return []*Param{c.W}
}

// Init draws the weight from a truncated normal with variance 2/fan_out
// (He initialization on the output side, TensorFlow Model Garden's choice
// for MobileNets) and zeroes the bias.
func (c *Conv2D) Init(r *rand.Rand) {
	fanOut := c.Kernel * c.Kernel * c.OutC / c.Groups
	truncNormal(r, c.W.Data, math.Sqrt(2/float64(fanOut)))
	if c.B != nil {
		clear(c.B.Data)
	}
}

// OutShape returns the output height and width for an input of h×w.
func (c *Conv2D) OutShape(h, w int) (oh, ow int) {
	oh, _ = SamePadding(h, c.Kernel, c.Stride)
	ow, _ = SamePadding(w, c.Kernel, c.Stride)
	return oh, ow
}

// geometry is the spatial layout of one convolution or pooling call.
type geometry struct {
	n, h, w, c     int // input
	oh, ow         int // output
	k, stride      int
	padTop, padLft int
}

func newGeometry(x *Tensor, k, stride int) geometry {
	oh, pt := SamePadding(x.H, k, stride)
	ow, pl := SamePadding(x.W, k, stride)
	return geometry{n: x.N, h: x.H, w: x.W, c: x.C, oh: oh, ow: ow, k: k, stride: stride, padTop: pt, padLft: pl}
}

// direct reports whether the input itself is the im2col matrix (a 1×1
// convolution with stride 1 reads each pixel once, unpadded).
func (c *Conv2D) direct() bool { return c.Kernel == 1 && c.Stride == 1 }

// sampleTasks splits a batch of n samples with p output pixels each into tasks
// of whole samples (so col2im of different tasks never writes the same
// input pixel), aiming at targetRows pixels per task.
func sampleTasks(n, p int) (per, tasks int) {
	per = max(1, targetRows/max(p, 1))
	per = max(per, (n+maxTasks-1)/maxTasks)
	return per, (n + per - 1) / per
}

// Forward convolves in[0] (N×H×W×InC) into N×ceil(H/s)×ceil(W/s)×OutC.
func (c *Conv2D) Forward(train bool, in ...*Tensor) *Tensor {
	mustInputs("conv", in, 1)
	x := in[0]
	if x.C != c.InC {
		panic(fmt.Sprintf("nn: conv %s: input %s has %d channels, want %d", c.W.Name, shapeString(x), x.C, c.InC))
	}
	g := newGeometry(x, c.Kernel, c.Stride)
	out := NewTensor(x.N, g.oh, g.ow, c.OutC)
	c.x, c.out = x, out
	p := g.oh * g.ow
	per, tasks := sampleTasks(x.N, p)
	cin, cout := c.InC/c.Groups, c.OutC/c.Groups
	kg := c.Kernel * c.Kernel * cin
	var cols [][]float32
	if !c.direct() {
		cols = make([][]float32, workers(tasks))
	}
	parallelFor(tasks, func(wk, t int) {
		s0, s1 := t*per, min((t+1)*per, x.N)
		rows := (s1 - s0) * p
		o := out.Data[s0*p*c.OutC:]
		for gr := range c.Groups {
			var a []float32
			lda := kg
			if c.direct() {
				a, lda = x.Data[s0*p*c.InC+gr*cin:], c.InC
			} else {
				if cols[wk] == nil {
					cols[wk] = make([]float32, per*p*kg)
				}
				a = cols[wk]
				im2col(&g, x.Data, s0, s1, gr*cin, cin, a)
			}
			gemm(false, false, rows, cout, kg, 1, a, lda, c.W.Data[gr*cout:], c.OutC, 0, o[gr*cout:], c.OutC)
		}
		if c.B != nil {
			for r := range rows {
				row := o[r*c.OutC : (r+1)*c.OutC]
				for j, b := range c.B.Data {
					row[j] += b
				}
			}
		}
	})
	return out
}

// Backward returns the input gradient and adds the weight and bias
// gradients. im2col is recomputed rather than kept from Forward: it would
// be k² times the input's memory for every conv of the network.
func (c *Conv2D) Backward(gradOut *Tensor) []*Tensor {
	mustGrad("conv", c.out, gradOut)
	x, dy := c.x, gradOut
	g := newGeometry(x, c.Kernel, c.Stride)
	dx := like(x)
	p := g.oh * g.ow
	per, tasks := sampleTasks(x.N, p)
	cin, cout := c.InC/c.Groups, c.OutC/c.Groups
	kg := c.Kernel * c.Kernel * cin
	dw := make([][]float32, tasks)
	var db [][]float32
	if c.B != nil {
		db = make([][]float32, tasks)
	}
	nw := workers(tasks)
	cols, dcols := make([][]float32, nw), make([][]float32, nw)
	parallelFor(tasks, func(wk, t int) {
		s0, s1 := t*per, min((t+1)*per, x.N)
		rows := (s1 - s0) * p
		d := dy.Data[s0*p*c.OutC:]
		part := make([]float32, len(c.W.Data))
		for gr := range c.Groups {
			if c.direct() {
				a := x.Data[s0*p*c.InC+gr*cin:]
				gemm(true, false, kg, cout, rows, 1, a, c.InC, d[gr*cout:], c.OutC, 0, part[gr*cout:], c.OutC)
				gemm(false, true, rows, kg, cout, 1, d[gr*cout:], c.OutC, c.W.Data[gr*cout:], c.OutC, 0, dx.Data[s0*p*c.InC+gr*cin:], c.InC)
				continue
			}
			if cols[wk] == nil {
				cols[wk], dcols[wk] = make([]float32, per*p*kg), make([]float32, per*p*kg)
			}
			col, dcol := cols[wk], dcols[wk]
			im2col(&g, x.Data, s0, s1, gr*cin, cin, col)
			gemm(true, false, kg, cout, rows, 1, col, kg, d[gr*cout:], c.OutC, 0, part[gr*cout:], c.OutC)
			gemm(false, true, rows, kg, cout, 1, d[gr*cout:], c.OutC, c.W.Data[gr*cout:], c.OutC, 0, dcol, kg)
			col2im(&g, dcol, s0, s1, gr*cin, cin, dx.Data)
		}
		dw[t] = part
		if db != nil {
			b := make([]float32, c.OutC)
			for r := range rows {
				for j, v := range d[r*c.OutC : (r+1)*c.OutC] {
					b[j] += v
				}
			}
			db[t] = b
		}
	})
	addParts(c.W.Grad, dw)
	if c.B != nil {
		addParts(c.B.Grad, db)
	}
	return []*Tensor{dx}
}

// addParts adds per-task partial sums into dst in task order, which keeps
// the result independent of the number of cores.
func addParts(dst []float32, parts [][]float32) {
	for _, p := range parts {
		for i, v := range p {
			dst[i] += v
		}
	}
}

// im2col writes the k×k patches of samples [s0, s1) for input channels
// [c0, c0+cn) as rows of col: one row per output pixel, columns ordered
// (ky, kx, channel) like the weight's rows; padding reads as zero.
func im2col(g *geometry, x []float32, s0, s1, c0, cn int, col []float32) {
	k := g.k
	rowLen := k * k * cn
	r := 0
	for s := s0; s < s1; s++ {
		img := x[s*g.h*g.w*g.c:]
		for oy := range g.oh {
			for ox := range g.ow {
				row := col[r*rowLen : (r+1)*rowLen]
				r++
				iy0, ix0 := oy*g.stride-g.padTop, ox*g.stride-g.padLft
				for ky := range k {
					iy := iy0 + ky
					seg := row[ky*k*cn : (ky+1)*k*cn]
					if iy < 0 || iy >= g.h {
						clear(seg)
						continue
					}
					for kx := range k {
						ix := ix0 + kx
						dst := seg[kx*cn : (kx+1)*cn]
						if ix < 0 || ix >= g.w {
							clear(dst)
							continue
						}
						off := (iy*g.w+ix)*g.c + c0
						copy(dst, img[off:off+cn])
					}
				}
			}
		}
	}
}

// col2im is im2col's adjoint: it adds each patch row of dcol back into the
// input pixels (channels [c0, c0+cn)) it was read from.
func col2im(g *geometry, dcol []float32, s0, s1, c0, cn int, dx []float32) {
	k := g.k
	rowLen := k * k * cn
	r := 0
	for s := s0; s < s1; s++ {
		img := dx[s*g.h*g.w*g.c:]
		for oy := range g.oh {
			for ox := range g.ow {
				row := dcol[r*rowLen : (r+1)*rowLen]
				r++
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
						off := (iy*g.w+ix)*g.c + c0
						dst := img[off : off+cn]
						for i, v := range row[(ky*k+kx)*cn : (ky*k+kx+1)*cn] {
							dst[i] += v
						}
					}
				}
			}
		}
	}
}

// truncNormal fills s from a normal with standard deviation std truncated
// at two standard deviations (redrawn beyond), as Keras's TruncatedNormal.
// Keras scales std by 1/0.8796 so the truncated variance is the intended
// one; so do we.
func truncNormal(r *rand.Rand, s []float32, std float64) {
	std /= 0.87962566103423978
	for i := range s {
		v := r.NormFloat64()
		for math.Abs(v) > 2 {
			v = r.NormFloat64()
		}
		s[i] = float32(v * std)
	}
}

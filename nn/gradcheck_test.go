package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// checkOpts are the finite-difference settings. The forward pass is
// float32, so eps cannot be tiny: at eps = 1e-2 the float32 rounding of a
// loss summing a few hundred O(1) outputs moves the central difference by
// about 1e-4, and the truncation error (eps² times the third derivative)
// is of the same order for smooth ops, so a gradient is accepted when
// |analytic - numeric| <= rtol·max(|analytic|, |numeric|) + atol·scale,
// scale being the largest numeric gradient magnitude (at least 1).
type checkOpts struct {
	eps, rtol, atol float64
	// reset runs before every forward pass (dropout re-seeds its source so
	// each pass draws the same mask).
	reset func()
}

var defaultCheck = checkOpts{eps: 1e-2, rtol: 1e-2, atol: 1e-3}

// lossWeights returns fixed random weights R for the scalar test loss
// Σ out·R, which makes every output element matter with a different weight.
func lossWeights(out *Tensor, seed uint64) *Tensor {
	r := rand.New(rand.NewPCG(seed, 7))
	w := like(out)
	for i := range w.Data {
		w.Data[i] = float32(r.Float64()*2 - 1)
	}
	return w
}

func weightedSum(out, w *Tensor) float64 {
	var s float64
	for i, v := range out.Data {
		s += float64(v) * float64(w.Data[i])
	}
	return s
}

// gradCheck compares l's analytic input and parameter gradients with
// central finite differences of the loss Σ out·R, and returns an error
// naming the first mismatches.
func gradCheck(l Layer, train bool, inputs []*Tensor, o checkOpts) error {
	if o.reset != nil {
		o.reset()
	}
	for _, p := range l.Params() {
		clear(p.Grad)
	}
	out := l.Forward(train, inputs...)
	r := lossWeights(out, 3)
	dIn := l.Backward(r)
	if len(dIn) != len(inputs) {
		return fmt.Errorf("backward returned %d gradients for %d inputs", len(dIn), len(inputs))
	}
	loss := func() float64 {
		if o.reset != nil {
			o.reset()
		}
		return weightedSum(l.Forward(train, inputs...), r)
	}
	type target struct {
		name     string
		data     []float32
		analytic []float32
	}
	var targets []target
	for i, t := range inputs {
		if !sameShape(dIn[i], t) {
			return fmt.Errorf("gradient of input %d is %s, input is %s", i, shapeString(dIn[i]), shapeString(t))
		}
		targets = append(targets, target{fmt.Sprintf("input %d", i), t.Data, dIn[i].Data})
	}
	for _, p := range l.Params() {
		targets = append(targets, target{p.Name, p.Data, append([]float32(nil), p.Grad...)})
	}
	var errs []string
	for _, tg := range targets {
		num := make([]float64, len(tg.data))
		scale := 1.0
		for i := range tg.data {
			orig := tg.data[i]
			tg.data[i] = orig + float32(o.eps)
			plus := loss()
			tg.data[i] = orig - float32(o.eps)
			minus := loss()
			tg.data[i] = orig
			// Divide by the perturbation float32 actually applied.
			h := float64(orig+float32(o.eps)) - float64(orig-float32(o.eps))
			num[i] = (plus - minus) / h
			scale = max(scale, math.Abs(num[i]))
		}
		for i, n := range num {
			a := float64(tg.analytic[i])
			if math.Abs(a-n) > o.rtol*max(math.Abs(a), math.Abs(n))+o.atol*scale && len(errs) < 5 {
				errs = append(errs, fmt.Sprintf("%s[%d]: analytic %.6g, numeric %.6g", tg.name, i, a, n))
			}
		}
	}
	if errs != nil {
		return fmt.Errorf("gradient mismatch: %v", errs)
	}
	return nil
}

// randTensor fills a tensor with N(0, 1) values.
func randTensor(r *rand.Rand, n, h, w, c int) *Tensor {
	t := NewTensor(n, h, w, c)
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64())
	}
	return t
}

func randParams(r *rand.Rand, l Layer) {
	for _, p := range l.Params() {
		for i := range p.Data {
			p.Data[i] = float32(r.NormFloat64() * 0.5)
		}
	}
}

// must unwraps a constructor's result in tests, where an error is a bug.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// wrongInputGrad perturbs one input-gradient element by 5%.
type wrongInputGrad struct{ Layer }

func (w wrongInputGrad) Backward(g *Tensor) []*Tensor {
	d := w.Layer.Backward(g)
	d[0].Data[len(d[0].Data)/2] *= 1.05
	return d
}

// wrongParamGrad adds a small error to one weight gradient.
type wrongParamGrad struct{ Layer }

func (w wrongParamGrad) Backward(g *Tensor) []*Tensor {
	d := w.Layer.Backward(g)
	p := w.Layer.Params()[0]
	p.Grad[1] += 0.02 * (1 + float32(math.Abs(float64(p.Grad[1]))))
	return d
}

// TestGradCheckCatchesErrors makes sure the checker can fail: a correct
// conv passes, and the same conv with a slightly wrong input or weight
// gradient does not.
func TestGradCheckCatchesErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	c := must(NewConv2D("c", 3, 4, 3, 2, 1, true))
	randParams(r, c)
	x := randTensor(r, 2, 5, 5, 3)
	if err := gradCheck(c, true, []*Tensor{x}, defaultCheck); err != nil {
		t.Fatalf("correct conv rejected: %v", err)
	}
	if err := gradCheck(wrongInputGrad{c}, true, []*Tensor{x}, defaultCheck); err == nil {
		t.Error("a 5% error in one input gradient went unnoticed")
	}
	if err := gradCheck(wrongParamGrad{c}, true, []*Tensor{x}, defaultCheck); err == nil {
		t.Error("an error in one weight gradient went unnoticed")
	}
}

func TestConvGrad(t *testing.T) {
	cases := []struct{ k, stride, groups, h, w, in, out int }{
		{1, 1, 1, 5, 5, 4, 6}, // direct 1x1
		{1, 2, 1, 5, 4, 3, 4}, // strided 1x1 goes through im2col
		{1, 1, 2, 3, 4, 4, 6}, // grouped direct
		{3, 1, 1, 5, 7, 3, 4}, // odd sizes
		{3, 2, 1, 7, 6, 4, 3}, // stride 2, odd and even
		{3, 2, 1, 6, 6, 2, 3}, // stride 2, even: more padding after
		{5, 2, 1, 7, 7, 2, 3}, // k=5
		{5, 1, 1, 3, 4, 2, 2}, // kernel larger than the input
		{3, 1, 2, 5, 5, 4, 6}, // groups (FBNet g2)
		{3, 2, 3, 6, 5, 6, 3}, // three groups, stride 2
		{3, 1, 1, 1, 1, 3, 2}, // 1x1 input
		{3, 3, 1, 7, 8, 2, 2}, // stride 3
	}
	for _, tc := range cases {
		for _, bias := range []bool{false, true} {
			name := fmt.Sprintf("k%d_s%d_g%d_%dx%dx%d-%d_bias%v", tc.k, tc.stride, tc.groups, tc.h, tc.w, tc.in, tc.out, bias)
			t.Run(name, func(t *testing.T) {
				r := rand.New(rand.NewPCG(2, uint64(tc.k*100+tc.stride)))
				c := must(NewConv2D("c", tc.in, tc.out, tc.k, tc.stride, tc.groups, bias))
				randParams(r, c)
				x := randTensor(r, 2, tc.h, tc.w, tc.in)
				if err := gradCheck(c, true, []*Tensor{x}, defaultCheck); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

func TestDepthwiseGrad(t *testing.T) {
	for _, tc := range []struct{ k, stride, h, w, c int }{
		{3, 1, 5, 5, 3}, {3, 2, 6, 7, 2}, {5, 1, 4, 6, 3}, {5, 2, 7, 7, 2}, {1, 1, 3, 3, 2}, {7, 2, 5, 5, 2},
	} {
		for _, bias := range []bool{false, true} {
			t.Run(fmt.Sprintf("k%d_s%d_%dx%dx%d_bias%v", tc.k, tc.stride, tc.h, tc.w, tc.c, bias), func(t *testing.T) {
				r := rand.New(rand.NewPCG(3, uint64(tc.k)))
				d := must(NewDepthwise("d", tc.c, tc.k, tc.stride, bias))
				randParams(r, d)
				x := randTensor(r, 2, tc.h, tc.w, tc.c)
				if err := gradCheck(d, true, []*Tensor{x}, defaultCheck); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

func TestBatchNormGrad(t *testing.T) {
	for _, train := range []bool{true, false} {
		t.Run(fmt.Sprintf("train=%v", train), func(t *testing.T) {
			r := rand.New(rand.NewPCG(4, 4))
			b := must(NewBatchNorm("bn", 3, 0.9, 1e-3))
			randParams(r, b)
			for i := range b.MovingMean {
				b.MovingMean[i] = float32(r.NormFloat64())
				b.MovingVar[i] = float32(0.5 + r.Float64())
			}
			x := randTensor(r, 3, 3, 2, 3)
			if err := gradCheck(b, train, []*Tensor{x}, defaultCheck); err != nil {
				t.Error(err)
			}
		})
	}
}

// kinks are the points where some activation's derivative jumps.
var kinks = []float32{-3, 0, 3, 6}

func TestActGrad(t *testing.T) {
	for _, kind := range []Activation{Identity, ReLU, ReLU6, HSwish, Swish, Sigmoid, HSigmoid, GELU} {
		t.Run(string(kind), func(t *testing.T) {
			r := rand.New(rand.NewPCG(5, 5))
			a := must(NewAct(kind))
			x := NewTensor(2, 3, 3, 4)
			for i := range x.Data {
				v := float32(r.Float64()*11 - 4) // covers every piece of every activation
				for _, k := range kinks {
					if math.Abs(float64(v-k)) < 0.05 {
						v += 0.1
					}
				}
				x.Data[i] = v
			}
			if err := gradCheck(a, true, []*Tensor{x}, defaultCheck); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestPoolGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	x := randTensor(r, 2, 5, 4, 3)
	if err := gradCheck(NewGlobalAvgPool(), true, []*Tensor{x}, defaultCheck); err != nil {
		t.Error("global pool:", err)
	}
	for _, tc := range []struct{ k, s, h, w int }{{3, 1, 5, 4}, {2, 2, 6, 4}, {2, 2, 5, 5}, {3, 2, 7, 6}} {
		p := must(NewAvgPool(tc.k, tc.s))
		x := randTensor(r, 2, tc.h, tc.w, 3)
		if err := gradCheck(p, true, []*Tensor{x}, defaultCheck); err != nil {
			t.Errorf("avg pool %d/%d on %dx%d: %v", tc.k, tc.s, tc.h, tc.w, err)
		}
	}
}

func TestDenseGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, bias := range []bool{false, true} {
		d := must(NewDense("fc", 6, 4, bias))
		randParams(r, d)
		x := randTensor(r, 3, 1, 1, 6)
		if err := gradCheck(d, true, []*Tensor{x}, defaultCheck); err != nil {
			t.Error(err)
		}
	}
	// A dense layer also flattens a spatial input.
	d := must(NewDense("fc", 12, 3, true))
	randParams(r, d)
	if err := gradCheck(d, true, []*Tensor{randTensor(r, 2, 2, 2, 3)}, defaultCheck); err != nil {
		t.Error("flattening:", err)
	}
}

func TestElementwiseGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for n := 1; n <= 3; n++ {
		var in []*Tensor
		for range n {
			in = append(in, randTensor(r, 2, 3, 3, 4))
		}
		if err := gradCheck(must(NewAdd(n)), true, in, defaultCheck); err != nil {
			t.Errorf("add %d: %v", n, err)
		}
	}
	x, g := randTensor(r, 2, 3, 4, 5), randTensor(r, 2, 1, 1, 5)
	if err := gradCheck(NewMul(), true, []*Tensor{x, g}, defaultCheck); err != nil {
		t.Error("mul:", err)
	}
	s := must(NewScale("ls", 5, 1e-5))
	randParams(r, s)
	if err := gradCheck(s, true, []*Tensor{x}, defaultCheck); err != nil {
		t.Error("scale:", err)
	}
	sh := must(NewShuffle(6, 3))
	if err := gradCheck(sh, true, []*Tensor{randTensor(r, 2, 2, 3, 6)}, defaultCheck); err != nil {
		t.Error("shuffle:", err)
	}
	if err := gradCheck(NewZero(), true, []*Tensor{x}, defaultCheck); err != nil {
		t.Error("zero:", err)
	}
}

func TestDropoutGrad(t *testing.T) {
	pcg := rand.NewPCG(9, 9)
	d := must(NewDropout(0.3, rand.New(pcg)))
	x := randTensor(rand.New(rand.NewPCG(1, 9)), 2, 3, 3, 4)
	o := defaultCheck
	o.reset = func() { pcg.Seed(9, 9) }
	if err := gradCheck(d, true, []*Tensor{x}, o); err != nil {
		t.Error(err)
	}
	if err := gradCheck(d, false, []*Tensor{x}, o); err != nil {
		t.Error("eval:", err)
	}
}

func TestSoftmaxCrossEntropyGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 10))
	logits := randTensor(r, 4, 1, 1, 5)
	labels := []int{0, 4, 2, 2}
	for _, eps := range []float64{0, 0.1} {
		_, g, err := SoftmaxCrossEntropy(logits, labels, eps)
		if err != nil {
			t.Fatal(err)
		}
		const h = 1e-2
		for i := range logits.Data {
			orig := logits.Data[i]
			logits.Data[i] = orig + h
			lp, _, _ := SoftmaxCrossEntropy(logits, labels, eps)
			logits.Data[i] = orig - h
			lm, _, _ := SoftmaxCrossEntropy(logits, labels, eps)
			logits.Data[i] = orig
			num := (lp - lm) / (float64(orig+h) - float64(orig-h))
			if math.Abs(num-float64(g.Data[i])) > 1e-2*math.Abs(num)+1e-4 {
				t.Errorf("smoothing %g: dlogit[%d] = %g, numeric %g", eps, i, g.Data[i], num)
			}
		}
	}
}

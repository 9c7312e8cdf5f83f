package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// The gradient checks prove Backward matches Forward; these tests prove
// Forward itself against direct, obviously-correct loops.

func TestSamePadding(t *testing.T) {
	// Values from TensorFlow's documented 'same' rule.
	for _, tc := range []struct{ in, k, s, out, before int }{
		{224, 3, 2, 112, 0}, // total 1: all after
		{225, 3, 2, 113, 1},
		{7, 3, 1, 7, 1},
		{6, 5, 2, 3, 1}, // total 3: 1 before, 2 after
		{5, 1, 2, 3, 0},
		{1, 3, 1, 1, 1},
		{4, 2, 2, 2, 0},
	} {
		out, before := SamePadding(tc.in, tc.k, tc.s)
		if out != tc.out || before != tc.before {
			t.Errorf("SamePadding(%d, %d, %d) = %d, %d; want %d, %d", tc.in, tc.k, tc.s, out, before, tc.out, tc.before)
		}
	}
}

// naiveConv is a direct grouped convolution with 'same' padding.
func naiveConv(x *Tensor, w, b []float32, k, s, groups, outC int) *Tensor {
	oh, pt := SamePadding(x.H, k, s)
	ow, pl := SamePadding(x.W, k, s)
	cin, cout := x.C/groups, outC/groups
	out := NewTensor(x.N, oh, ow, outC)
	for n := range x.N {
		for oy := range oh {
			for ox := range ow {
				for co := range outC {
					g := co / cout
					var acc float64
					if b != nil {
						acc = float64(b[co])
					}
					for ky := range k {
						for kx := range k {
							iy, ix := oy*s-pt+ky, ox*s-pl+kx
							if iy < 0 || iy >= x.H || ix < 0 || ix >= x.W {
								continue
							}
							for ci := range cin {
								xv := x.Data[((n*x.H+iy)*x.W+ix)*x.C+g*cin+ci]
								wv := w[((ky*k+kx)*cin+ci)*outC+co]
								acc += float64(xv) * float64(wv)
							}
						}
					}
					out.Data[((n*oh+oy)*ow+ox)*outC+co] = float32(acc)
				}
			}
		}
	}
	return out
}

func assertClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > tol*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("%s[%d] = %g, want %g", what, i, got[i], want[i])
		}
	}
}

func TestConvForward(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	for _, tc := range []struct{ k, s, g, h, w, in, out int }{
		{1, 1, 1, 5, 5, 4, 6}, {1, 2, 1, 5, 4, 3, 4}, {1, 1, 2, 3, 4, 4, 6}, {3, 1, 1, 5, 7, 3, 4},
		{3, 2, 1, 8, 7, 4, 3}, {5, 2, 1, 7, 7, 2, 3}, {3, 1, 2, 5, 5, 4, 6}, {3, 2, 4, 9, 9, 8, 8},
	} {
		c := must(NewConv2D("c", tc.in, tc.out, tc.k, tc.s, tc.g, true))
		randParams(r, c)
		// Enough samples for several parallel tasks.
		x := randTensor(r, 5, tc.h, tc.w, tc.in)
		got := c.Forward(false, x)
		want := naiveConv(x, c.W.Data, c.B.Data, tc.k, tc.s, tc.g, tc.out)
		if !sameShape(got, want) {
			t.Fatalf("%+v: shape %s, want %s", tc, shapeString(got), shapeString(want))
		}
		assertClose(t, "conv", got.Data, want.Data, 1e-5)
	}
	// Many samples of a larger map: several tasks and parallel GEMMs.
	c := must(NewConv2D("c", 16, 32, 3, 1, 1, false))
	c.Init(r)
	x := randTensor(r, 3, 20, 20, 16)
	assertClose(t, "conv large", c.Forward(true, x).Data, naiveConv(x, c.W.Data, nil, 3, 1, 1, 32).Data, 1e-5)
}

func TestDepthwiseForward(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 12))
	for _, tc := range []struct{ k, s, h, w, c int }{{3, 1, 5, 5, 3}, {3, 2, 6, 7, 4}, {5, 2, 7, 8, 2}} {
		d := must(NewDepthwise("d", tc.c, tc.k, tc.s, true))
		randParams(r, d)
		x := randTensor(r, 3, tc.h, tc.w, tc.c)
		// A depthwise conv is a conv with one group per channel, whose
		// HWIO weight [k][k][1][C] has the same layout as [k][k][C].
		want := naiveConv(x, d.W.Data, d.B.Data, tc.k, tc.s, tc.c, tc.c)
		assertClose(t, "depthwise", d.Forward(false, x).Data, want.Data, 1e-5)
	}
}

func TestAvgPoolForward(t *testing.T) {
	// 3x3 stride 1 on a 3x3 map with count_include_pad=False: the corner
	// averages its 2x2 neighbourhood, the centre all nine.
	x := NewTensor(1, 3, 3, 1)
	for i := range x.Data {
		x.Data[i] = float32(i + 1)
	}
	p := must(NewAvgPool(3, 1))
	got := p.Forward(false, x).Data
	want := []float32{3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7}
	assertClose(t, "avgpool 3x3", got, want, 1e-6)
	p2 := must(NewAvgPool(2, 2))
	x2 := NewTensor(1, 2, 4, 1)
	copy(x2.Data, []float32{1, 2, 3, 4, 5, 6, 7, 8})
	assertClose(t, "avgpool 2x2", p2.Forward(false, x2).Data, []float32{3.5, 5.5}, 1e-6)
}

func TestShuffleForward(t *testing.T) {
	x := NewTensor(1, 1, 1, 6)
	copy(x.Data, []float32{0, 1, 2, 3, 4, 5}) // groups {0,1,2}, {3,4,5}
	s := must(NewShuffle(6, 2))
	assertClose(t, "shuffle", s.Forward(false, x).Data, []float32{0, 3, 1, 4, 2, 5}, 0)
}

func TestActivationValues(t *testing.T) {
	x := NewTensor(1, 1, 1, 5)
	copy(x.Data, []float32{-4, -1, 0, 1, 7})
	for kind, want := range map[Activation][]float32{
		ReLU:     {0, 0, 0, 1, 7},
		ReLU6:    {0, 0, 0, 1, 6},
		HSwish:   {0, -1.0 / 3, 0, 2.0 / 3, 7},
		HSigmoid: {0, 1.0 / 3, 0.5, 2.0 / 3, 1},
		Identity: {-4, -1, 0, 1, 7},
	} {
		assertClose(t, string(kind), must(NewAct(kind)).Forward(false, x).Data, want, 1e-6)
	}
	if _, err := NewAct("mish"); err == nil {
		t.Error("unknown activation accepted")
	}
}

func TestBatchNormStatistics(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 13))
	b := must(NewBatchNorm("bn", 2, 0.9, 1e-3))
	x := randTensor(r, 4, 3, 3, 2)
	for i := range x.Data {
		x.Data[i] = x.Data[i]*2 + 5 // mean 5, variance 4 per channel (roughly)
	}
	y := b.Forward(true, x)
	// Training output: zero mean and unit variance per channel.
	for j := range 2 {
		var s, q float64
		n := 0
		for i := j; i < len(y.Data); i += 2 {
			s += float64(y.Data[i])
			n++
		}
		mean := s / float64(n)
		var xm float64
		for i := j; i < len(x.Data); i += 2 {
			xm += float64(x.Data[i])
		}
		xm /= float64(n)
		var xv float64
		for i := j; i < len(y.Data); i += 2 {
			q += (float64(y.Data[i]) - mean) * (float64(y.Data[i]) - mean)
			xv += (float64(x.Data[i]) - xm) * (float64(x.Data[i]) - xm)
		}
		xv /= float64(n)
		if math.Abs(mean) > 1e-5 || math.Abs(q/float64(n)-xv/(xv+1e-3)) > 1e-4 {
			t.Errorf("channel %d: mean %g, variance %g", j, mean, q/float64(n))
		}
		// Moving statistics: one step from (0, 1) with momentum 0.9.
		if m := float64(b.MovingMean[j]); math.Abs(m-0.1*xm) > 1e-5 {
			t.Errorf("moving mean %g, want %g", m, 0.1*xm)
		}
		if v := float64(b.MovingVar[j]); math.Abs(v-(0.9+0.1*xv)) > 1e-5 {
			t.Errorf("moving variance %g, want %g", v, 0.9+0.1*xv)
		}
	}
	// Evaluation uses the moving statistics and leaves them alone.
	state := b.State()
	mm := append([]float32(nil), state["bn.moving_mean"]...)
	e := b.Forward(false, x)
	if want := float32((float64(x.Data[0] - mm[0])) / math.Sqrt(float64(b.MovingVar[0])+1e-3)); math.Abs(float64(e.Data[0]-want)) > 1e-5 {
		t.Errorf("eval output %g, want %g", e.Data[0], want)
	}
	assertClose(t, "moving mean after eval", b.MovingMean, mm, 0)
	// State round trip.
	b2 := must(NewBatchNorm("bn", 2, 0.9, 1e-3))
	if err := b2.SetState(b.State()); err != nil {
		t.Fatal(err)
	}
	assertClose(t, "restored variance", b2.MovingVar, b.MovingVar, 0)
	if err := b2.SetState(map[string][]float32{"bn.moving_mean": {1}}); err == nil {
		t.Error("short state accepted")
	}
}

func TestSoftmaxCrossEntropyValues(t *testing.T) {
	logits := NewTensor(2, 1, 1, 3)
	copy(logits.Data, []float32{0, 0, 0, 10, 0, 0})
	loss, _, err := SoftmaxCrossEntropy(logits, []int{1, 0}, 0)
	if err != nil {
		t.Fatal(err)
	}
	lse := 10 + math.Log(1+2*math.Exp(-10))
	want := (math.Log(3) + (lse - 10)) / 2
	if math.Abs(loss-want) > 1e-9 {
		t.Errorf("loss %g, want %g", loss, want)
	}
	// With smoothing 0.3 over 3 classes the target is (0.1, 0.8, 0.1).
	loss, _, _ = SoftmaxCrossEntropy(logits, []int{1, 0}, 0.3)
	want = (math.Log(3) + (0.8*(lse-10) + 0.2*lse)) / 2
	if math.Abs(loss-want) > 1e-9 {
		t.Errorf("smoothed loss %g, want %g", loss, want)
	}
	if _, _, err := SoftmaxCrossEntropy(logits, []int{1, 3}, 0); err == nil {
		t.Error("label 3 of 3 classes accepted")
	}
	if _, _, err := SoftmaxCrossEntropy(logits, []int{1}, 0); err == nil {
		t.Error("label count mismatch accepted")
	}
	if got := Accuracy(logits, []int{1, 0}); got != 0.5 {
		t.Errorf("accuracy %g, want 0.5 (sample 0 ties go to class 0)", got)
	}
}

func TestDropout(t *testing.T) {
	x := NewTensor(1, 100, 100, 1)
	for i := range x.Data {
		x.Data[i] = 1
	}
	d := must(NewDropout(0.25, rand.New(rand.NewPCG(1, 2))))
	y := d.Forward(true, x)
	zeros, sum := 0, 0.0
	for _, v := range y.Data {
		if v == 0 {
			zeros++
		} else if math.Abs(float64(v)-4.0/3) > 1e-6 {
			t.Fatalf("kept value %g, want 4/3", v)
		}
		sum += float64(v)
	}
	if f := float64(zeros) / 1e4; math.Abs(f-0.25) > 0.02 {
		t.Errorf("dropped %g, want 0.25", f)
	}
	if math.Abs(sum/1e4-1) > 0.03 {
		t.Errorf("mean %g, want 1", sum/1e4)
	}
	// Same seed, same mask.
	d2 := must(NewDropout(0.25, rand.New(rand.NewPCG(1, 2))))
	assertClose(t, "dropout repeat", d2.Forward(true, x).Data, y.Data, 0)
	assertClose(t, "dropout eval", d.Forward(false, x).Data, x.Data, 0)
	if _, err := NewDropout(1, nil); err == nil {
		t.Error("rate 1 accepted")
	}
}

func TestConstructorErrors(t *testing.T) {
	if _, err := NewConv2D("c", 6, 4, 3, 1, 4, false); err == nil {
		t.Error("4 groups of 6 channels accepted")
	}
	if _, err := NewConv2D("c", 6, 4, 0, 1, 1, false); err == nil {
		t.Error("kernel 0 accepted")
	}
	if _, err := NewBatchNorm("bn", 3, 1, 1e-3); err == nil {
		t.Error("momentum 1 accepted")
	}
	if _, err := NewShuffle(6, 4); err == nil {
		t.Error("shuffle of 6 channels in 4 groups accepted")
	}
}

// naiveGemm is C = alpha·op(A)·op(B) + beta·C in float64.
func naiveGemm(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				ai, bi := i*lda+p, p*ldb+j
				if ta {
					ai = p*lda + i
				}
				if tb {
					bi = j*ldb + p
				}
				av, bv := a[ai], b[bi]
				s += float64(av) * float64(bv)
			}
			c[i*ldc+j] = float32(float64(alpha)*s + float64(beta)*float64(c[i*ldc+j]))
		}
	}
}

func TestGemm(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 14))
	impls := map[string]gemmFunc{"gemm": gemm, "gonum": gonumGemm, "packed": packedGemm}
	for name, f := range impls {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				// k crosses a packed panel; m and n leave edge tiles.
				m, n, k := 79, 277, 300
				lda, ldb := k+3, n+2
				if ta {
					lda = m + 1
				}
				if tb {
					ldb = k + 5
				}
				ar, br := m, k
				if ta {
					ar = k
				}
				if tb {
					br = n
				}
				a, b := randSlice(r, ar*lda), randSlice(r, br*ldb)
				c := randSlice(r, m*(n+1))
				want := append([]float32(nil), c...)
				f(ta, tb, m, n, k, 0.5, a, lda, b, ldb, 2, c, n+1)
				naiveGemm(ta, tb, m, n, k, 0.5, a, lda, b, ldb, 2, want, n+1)
				assertClose(t, name, c, want, 2e-4)
			}
		}
	}
}

// TestGemmDeterministicAcrossProcs checks that gonum's parallel Sgemm and
// packedGemm give the same bits on one core as on several: both split C
// into blocks fixed by the shapes and sum each over k in order.
func TestGemmDeterministicAcrossProcs(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 15))
	m, n, k := 300, 200, 500
	a, b := randSlice(r, m*k), randSlice(r, k*n)
	run := func(procs int) []float32 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		c := make([]float32, m*n)
		gonumGemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
		gonumGemm(true, false, k, n, m, 1, a, k, c, n, 0, make([]float32, k*n), n)
		d := make([]float32, m*n)
		packedGemm(false, false, m, n, k, 1, a, k, b, n, 0, d, n)
		packedGemm(true, false, k, n, m, 1, a, k, d, n, 0, make([]float32, k*n), n)
		return append(c, d...)
	}
	one, many := run(1), run(4)
	assertClose(t, "gemm GOMAXPROCS 1 vs 4", many, one, 0)
}

// TestPackedGemmEdges covers shapes smaller than a tile and alpha 0 / beta
// 1, 0 and other values against the float64 reference.
func TestPackedGemmEdges(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 17))
	for _, s := range [][3]int{{1, 1, 1}, {5, 15, 3}, {6, 16, 256}, {7, 17, 257}, {73, 257, 2}, {3, 40, 0}} {
		m, n, k := s[0], s[1], s[2]
		for _, ab := range [][2]float32{{1, 0}, {1, 1}, {-0.5, 3}, {0, 2}} {
			a, b := randSlice(r, max(m*k, 1)), randSlice(r, max(k*n, 1))
			c := randSlice(r, m*n)
			want := append([]float32(nil), c...)
			packedGemm(false, false, m, n, k, ab[0], a, max(k, 1), b, n, ab[1], c, n)
			naiveGemm(false, false, m, n, k, ab[0], a, max(k, 1), b, n, ab[1], want, n)
			assertClose(t, fmt.Sprintf("packed %dx%dx%d alpha %v beta %v", m, n, k, ab[0], ab[1]), c, want, 2e-4)
		}
	}
}

package nn

import (
	"maps"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// miniNet is a MobileNetV3-like block chain wired by hand, large enough
// that every op splits into several parallel tasks and GEMMs take gonum's
// parallel path: stem conv, BN, hswish, depthwise 5×5/2, BN, relu6,
// squeeze-excite, grouped 1×1 expand, shuffle, BN, 1×1 project, residual,
// both average pools, layer scale, global pool, dropout, dense, loss.
type miniNet struct {
	stem, se1, se2, expand, project *Conv2D
	dw                              *Depthwise
	bn1, bn2, bn3                   *BatchNorm
	hs, r6, relu, gate              *Act
	gpoolSE, gpool                  *GlobalAvgPool
	mul                             *Mul
	shuffle                         *Shuffle
	add                             *Add
	pool3, pool2                    *AvgPool
	scale                           *Scale
	drop                            *Dropout
	fc                              *Dense
}

func newMiniNet(seed uint64) *miniNet {
	r := rand.New(rand.NewPCG(seed, 1))
	n := &miniNet{
		stem:    must(NewConv2D("stem", 8, 32, 3, 1, 1, false)),
		bn1:     must(NewBatchNorm("bn1", 32, 0.9, 1e-3)),
		hs:      must(NewAct(HSwish)),
		dw:      must(NewDepthwise("dw", 32, 5, 2, false)),
		bn2:     must(NewBatchNorm("bn2", 32, 0.9, 1e-3)),
		r6:      must(NewAct(ReLU6)),
		gpoolSE: NewGlobalAvgPool(),
		se1:     must(NewConv2D("se1", 32, 8, 1, 1, 1, true)),
		relu:    must(NewAct(ReLU)),
		se2:     must(NewConv2D("se2", 8, 32, 1, 1, 1, true)),
		gate:    must(NewAct(HSigmoid)),
		mul:     NewMul(),
		expand:  must(NewConv2D("expand", 32, 128, 1, 1, 2, false)),
		shuffle: must(NewShuffle(128, 2)),
		bn3:     must(NewBatchNorm("bn3", 128, 0.9, 1e-3)),
		project: must(NewConv2D("project", 128, 32, 1, 1, 1, false)),
		add:     must(NewAdd(2)),
		pool3:   must(NewAvgPool(3, 1)),
		pool2:   must(NewAvgPool(2, 2)),
		scale:   must(NewScale("ls", 32, 0.5)),
		gpool:   NewGlobalAvgPool(),
		drop:    must(NewDropout(0.2, rand.New(rand.NewPCG(seed, 2)))),
		fc:      must(NewDense("fc", 32, 10, true)),
	}
	for _, l := range n.layers() {
		if i, ok := l.(Initializer); ok {
			i.Init(r)
		}
	}
	return n
}

func (n *miniNet) layers() []Layer {
	return []Layer{n.stem, n.bn1, n.hs, n.dw, n.bn2, n.r6, n.gpoolSE, n.se1, n.relu, n.se2, n.gate, n.mul,
		n.expand, n.shuffle, n.bn3, n.project, n.add, n.pool3, n.pool2, n.scale, n.gpool, n.drop, n.fc}
}

// step runs one training forward and backward pass and returns the loss
// and the input gradient.
func (n *miniNet) step(x *Tensor, labels []int) (float64, *Tensor) {
	f := func(l Layer, in ...*Tensor) *Tensor { return l.Forward(true, in...) }
	a := f(n.r6, f(n.bn2, f(n.dw, f(n.hs, f(n.bn1, f(n.stem, x))))))
	g := f(n.gate, f(n.se2, f(n.relu, f(n.se1, f(n.gpoolSE, a)))))
	s := f(n.mul, a, g)
	p := f(n.project, f(n.bn3, f(n.shuffle, f(n.expand, s))))
	y := f(n.add, p, a)
	logits := f(n.fc, f(n.drop, f(n.gpool, f(n.scale, f(n.pool2, f(n.pool3, y))))))
	loss, d, err := SoftmaxCrossEntropy(logits, labels, 0.1)
	if err != nil {
		panic(err)
	}
	b := func(l Layer, g *Tensor) []*Tensor { return l.Backward(g) }
	d = b(n.pool3, b(n.pool2, b(n.scale, b(n.gpool, b(n.drop, b(n.fc, d)[0])[0])[0])[0])[0])[0]
	dy := b(n.add, d)
	dS := b(n.expand, b(n.shuffle, b(n.bn3, b(n.project, dy[0])[0])[0])[0])[0]
	dm := b(n.mul, dS)
	dg := b(n.gpoolSE, b(n.se1, b(n.relu, b(n.se2, b(n.gate, dm[1])[0])[0])[0])[0])[0]
	da := like(dg)
	for i := range da.Data {
		da.Data[i] = dy[1].Data[i] + dm[0].Data[i] + dg.Data[i]
	}
	dx := b(n.stem, b(n.bn1, b(n.hs, b(n.dw, b(n.bn2, b(n.r6, da)[0])[0])[0])[0])[0])[0]
	return loss, dx
}

// snapshot collects every number a training step produces.
func (n *miniNet) snapshot(loss float64, dx *Tensor) [][]float32 {
	s := [][]float32{{float32(loss), float32(loss - float64(float32(loss)))}, dx.Data}
	for _, l := range n.layers() {
		for _, p := range l.Params() {
			s = append(s, p.Data, p.Grad)
		}
		if st, ok := l.(Stateful); ok {
			m := st.State()
			for _, k := range slices.Sorted(maps.Keys(m)) {
				s = append(s, m[k])
			}
		}
	}
	return s
}

// TestDeterministicAcrossProcs runs two training steps of miniNet on one
// core and on two and requires identical bits everywhere.
func TestDeterministicAcrossProcs(t *testing.T) {
	run := func(procs int) [][]float32 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		r := rand.New(rand.NewPCG(99, 1))
		x := randTensor(r, 6, 32, 32, 8)
		labels := []int{0, 1, 2, 3, 4, 9}
		n := newMiniNet(5)
		var loss float64
		var dx *Tensor
		for range 2 {
			loss, dx = n.step(x, labels)
		}
		if math.IsNaN(loss) {
			t.Fatal("loss is NaN")
		}
		return n.snapshot(loss, dx)
	}
	one, two := run(1), run(2)
	if len(one) != len(two) {
		t.Fatal("snapshots differ in length")
	}
	for i := range one {
		for j := range one[i] {
			if math.Float32bits(one[i][j]) != math.Float32bits(two[i][j]) {
				t.Fatalf("value %d.%d differs: %g on 1 core, %g on 2", i, j, one[i][j], two[i][j])
			}
		}
	}
}

// TestMiniNetLearns checks the ops together: plain SGD on one fixed batch
// must drive miniNet's loss well down, which a sign or scale error in any
// chained gradient would prevent.
func TestMiniNetLearns(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	x := randTensor(r, 6, 16, 16, 8)
	labels := []int{0, 1, 2, 3, 4, 5}
	n := newMiniNet(3)
	n.drop.Rate = 0
	first, last := 0.0, 0.0
	for i := range 60 {
		loss, _ := n.step(x, labels)
		if i == 0 {
			first = loss
		}
		last = loss
		for _, l := range n.layers() {
			for _, p := range l.Params() {
				for j, g := range p.Grad {
					p.Data[j] -= 0.05 * g
				}
				clear(p.Grad)
			}
		}
	}
	t.Logf("loss %.4f -> %.4f", first, last)
	if !(last < first/3) {
		t.Errorf("loss went from %g to %g in 60 steps", first, last)
	}
}

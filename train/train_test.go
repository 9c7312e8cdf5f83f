package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/nn"
)

// tinyNet uses every trainable layer kind of the MobileNet op set:
// conv+BN+act, an expanded IBN with SE (hsigmoid gate, residual), a
// grouped FBNet-style IBN (shuffle), pooling and the classifier.
func tinyNet() *arch.Network {
	return &arch.Network{Format: arch.Format, Resolution: 8, InputChannels: 3, Blocks: []arch.Block{
		{Type: arch.Conv, Kernel: 3, Stride: 2, Filters: 8, Activation: arch.HSwish},
		{Type: arch.IBN, Kernel: 3, Filters: 8, Expansion: 2, SERatio: 0.25, Activation: arch.ReLU6},
		{Type: arch.IBN, Kernel: 5, Filters: 8, Expansion: 1, ExpandAlways: true, Groups: 2, Activation: arch.ReLU},
		{Type: arch.Conv, Kernel: 1, Filters: 16, Activation: arch.ReLU},
		{Type: arch.GlobalPool},
		{Type: arch.FC, Filters: 3},
	}}
}

func batch(r *rand.Rand, n int) (*nn.Tensor, []int) {
	x := nn.NewTensor(n, 8, 8, 3)
	labels := make([]int, n)
	for i := range labels {
		labels[i] = r.IntN(3)
		for j := 0; j < 8*8*3; j++ {
			// The class shifts the mean of one channel: learnable.
			v := float32(r.NormFloat64()) * 0.5
			if j%3 == labels[i] {
				v += 1
			}
			x.Data[i*8*8*3+j] = v
		}
	}
	return x, labels
}

// smoothNet is tinyNet with smooth activations and a sigmoid SE gate: a
// finite difference across a ReLU kink is not a derivative, and the nn
// package checks the kinked activations op by op.
func smoothNet() *arch.Network {
	n := tinyNet()
	for i := range n.Blocks {
		if n.Blocks[i].Activation != "" {
			n.Blocks[i].Activation = arch.Swish
		}
		if n.Blocks[i].SERatio > 0 {
			n.Blocks[i].SEGate = arch.Sigmoid
		}
	}
	return n
}

// TestWholeModelGradient compares the model's parameter gradients with
// central finite differences of the loss (eval-mode BN so the loss is a
// smooth function of the weights), through the graph executor's fan-out
// (residual, SE) and fan-in (add) paths.
func TestWholeModelGradient(t *testing.T) {
	m, err := Build(smoothNet(), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	x, labels := batch(r, 4)
	loss := func() float64 {
		logits, err := m.Forward(x, false)
		if err != nil {
			t.Fatal(err)
		}
		l, _, err := nn.SoftmaxCrossEntropy(logits, labels, 0.1)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	for _, p := range m.Params() {
		clear(p.Grad)
	}
	logits, err := m.Forward(x, false)
	if err != nil {
		t.Fatal(err)
	}
	_, g, _ := nn.SoftmaxCrossEntropy(logits, labels, 0.1)
	if err := m.Backward(g); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, p := range m.Params() {
		for _, i := range []int{0, len(p.Data) / 2, len(p.Data) - 1} {
			old := p.Data[i]
			const eps = 1e-2
			p.Data[i] = old + eps
			up := loss()
			p.Data[i] = old - eps
			down := loss()
			p.Data[i] = old
			num := (up - down) / (2 * eps)
			an := float64(p.Grad[i])
			if math.Abs(num-an) > 2e-2*math.Max(math.Abs(num), math.Abs(an))+2e-3 {
				t.Errorf("%s[%d]: analytic %g, numeric %g", p.Name, i, an, num)
			}
			checked++
		}
	}
	if checked < 30 {
		t.Errorf("only %d gradients checked", checked)
	}
}

// TestLearnsAndCheckpoints: a few steps of SGD reduce the loss; a saved
// and restored model predicts the same logits.
func TestLearnsAndCheckpoints(t *testing.T) {
	m, err := Build(tinyNet(), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Optimizer: "adam"}
	opt, err := cfg.optimizer()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	var first, last float64
	for step := 0; step < 60; step++ {
		x, labels := batch(r, 16)
		for _, p := range m.Params() {
			clear(p.Grad)
		}
		logits, err := m.Forward(x, true)
		if err != nil {
			t.Fatal(err)
		}
		l, g, _ := nn.SoftmaxCrossEntropy(logits, labels, 0)
		if err := m.Backward(g); err != nil {
			t.Fatal(err)
		}
		if err := opt.Step(m.Params(), 0.01); err != nil {
			t.Fatal(err)
		}
		if step == 0 {
			first = l
		}
		last = l
	}
	if !(last < 0.6*first) {
		t.Errorf("loss %g -> %g: not learning", first, last)
	}
	path := t.TempDir() + "/ck.json"
	if err := m.save(path, cfg, 1, nil, opt); err != nil {
		t.Fatal(err)
	}
	m2, _, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := batch(r, 4)
	a, _ := m.Forward(x, false)
	b, _ := m2.Forward(x, false)
	for i := range a.Data {
		if a.Data[i] != b.Data[i] {
			t.Fatalf("restored model differs at %d: %g vs %g", i, a.Data[i], b.Data[i])
		}
	}
}

func TestAttentionRefused(t *testing.T) {
	n := &arch.Network{Format: arch.Format, Resolution: 4, InputChannels: 8, Blocks: []arch.Block{{Type: arch.MHSA, Heads: 1, KeyDim: 4, ValueDim: 4}}}
	if _, err := Build(n, 0, 1); err == nil {
		t.Error("attention accepted")
	}
}

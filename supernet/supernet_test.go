package supernet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/nn"
	"github.com/fleetnas/fleetnas/optim"
	"github.com/fleetnas/fleetnas/space"
	"github.com/fleetnas/fleetnas/train"
)

// testRes is the smallest resolution multihw lowers at: its five
// stride-2 layers take 17 to 9, 5, 3, 2 and 1.
const testRes = 17

func multihw(t testing.TB) space.Space {
	t.Helper()
	sp, err := space.Get("multihw")
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func newTest(t testing.TB, cfg Config) *Supernet {
	t.Helper()
	if cfg.Resolution == 0 {
		cfg.Resolution = testRes
	}
	if cfg.Classes == 0 {
		cfg.Classes = 5
	}
	if cfg.ProxyWidth == 0 {
		cfg.ProxyWidth = 0.25
	}
	s, err := New(multihw(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// randomBatch draws n normal images of the supernet's input size and
// uniform labels.
func randomBatch(s *Supernet, n int, seed uint64) (*nn.Tensor, []int) {
	r := rand.New(rand.NewPCG(seed, 11))
	c := s.Config()
	x := nn.NewTensor(n, c.Resolution, c.Resolution, c.Channels)
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = r.IntN(c.Classes)
	}
	return x, labels
}

func parse(t testing.TB, sp space.Space, s string) []int {
	t.Helper()
	c, err := sp.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testChoices are the published multi-hardware models, a hand-written
// vector with the stem's separable conv, expansion-1 layers (no expand
// conv) and kernel-5 layers, the widest vector, and random ones.
func testChoices(t testing.TB, sp space.Space, random int) [][]int {
	cs := [][]int{
		parse(t, sp, space.MultiAVGChoice),
		parse(t, sp, space.MultiMAXChoice),
		parse(t, sp, "8:sep3/32:k5e1,k3e6,skip,k5e2/16:k3e1,skip,k5e6,skip/128:k5e3,k3e1,skip,k5e4/160:k3e2,skip,skip,k5e1/320:k5e6,k3e1,skip,k3e3"),
		parse(t, sp, "32:sep3/32:k5e6,k5e6,k5e6,k5e6/64:k5e6,k5e6,k5e6,k5e6/128:k5e6,k5e6,k5e6,k5e6/256:k5e6,k5e6,k5e6,k5e6/512:k5e6,k5e6,k5e6,k5e6"),
	}
	return append(cs, space.Sample(sp, random, 5)...)
}

// referencePositions maps the blocks of a network written as a canonical
// multihw string to supernet slot groups, from the string alone.
func referencePositions(t testing.TB, str string) (names []string, kernels []int) {
	t.Helper()
	segs := strings.Split(str, "/")
	if len(segs) != 6 {
		t.Fatalf("%q: %d segments", str, len(segs))
	}
	names, kernels = []string{"stem.conv"}, []int{3}
	if strings.HasSuffix(segs[0], ":sep3") {
		names, kernels = append(names, "stem.sep"), append(kernels, 3)
	}
	for s, seg := range segs[1:] {
		_, ops, _ := strings.Cut(seg, ":")
		for j, o := range strings.Split(ops, ",") {
			if o == "skip" {
				continue
			}
			names = append(names, fmt.Sprintf("stage%d.layer%d", s+1, j+1))
			kernels = append(kernels, int(o[1]-'0'))
		}
	}
	names = append(names, "head.conv1", "head.pool", "head.conv2", "head.fc")
	kernels = append(kernels, 1, 0, 1, 0)
	return names, kernels
}

// referenceLoad sets every parameter of a standalone model of the
// candidate's network from the shared tensors, by explicit index
// arithmetic on the [k][k][in][out], [k][k][C], [in][out] and [C]
// layouts.
func referenceLoad(t *testing.T, s *Supernet, str string, m *train.Model) {
	t.Helper()
	names, kernels := referencePositions(t, str)
	byName := map[string]*nn.Param{}
	for _, p := range s.Params() {
		byName[p.Name] = p
	}
	layers := map[string]*arch.Layer{}
	for i := range m.Graph.Layers {
		layers[m.Graph.Layers[i].Name] = &m.Graph.Layers[i]
	}
	for _, p := range m.Params() {
		blockStr, rest, _ := strings.Cut(p.Name, ".")
		var block int
		fmt.Sscan(blockStr, &block)
		part, suffix, _ := strings.Cut(rest, ".")
		l := layers[blockStr+"."+part]
		if l == nil {
			t.Fatalf("%s: no layer", p.Name)
		}
		slot := names[block] + "." + part
		switch {
		case part == "conv" || part == "fc":
			slot = names[block]
		}
		_ = kernels
		full := byName[slot+"."+suffix]
		if full == nil {
			t.Fatalf("%s: no shared parameter %s", p.Name, slot+"."+suffix)
		}
		D := s.shared[full.Name].dims
		switch {
		case suffix != "w":
			for i := range p.Data {
				p.Data[i] = full.Data[i]
			}
		case l.Op == arch.OpConv:
			k, in, out := l.Kernel, l.In.C, l.Out.C
			if D[0] != k || D[1] != k || len(p.Data) != k*k*in*out {
				t.Fatalf("%s: shapes", p.Name)
			}
			for a := range k {
				for b := range k {
					for i := range in {
						for o := range out {
							p.Data[((a*k+b)*in+i)*out+o] = full.Data[((a*D[1]+b)*D[2]+i)*D[3]+o]
						}
					}
				}
			}
		case l.Op == arch.OpDepthwise:
			// A smaller kernel is the centre of the slot's.
			k, c := l.Kernel, l.In.C
			off := (D[0] - k) / 2
			if D[0] < k || len(p.Data) != k*k*c {
				t.Fatalf("%s: shapes", p.Name)
			}
			for a := range k {
				for b := range k {
					for i := range c {
						p.Data[(a*k+b)*c+i] = full.Data[((a+off)*D[1]+b+off)*D[2]+i]
					}
				}
			}
		case l.Op == arch.OpFC:
			in, out := l.In.C, l.Out.C
			for i := range in {
				for o := range out {
					p.Data[i*out+o] = full.Data[i*D[1]+o]
				}
			}
		default:
			t.Fatalf("%s: unexpected %s", p.Name, l.Op)
		}
	}
}

// TestGatherMatchesIndependentSlicing: a candidate's forward pass with
// gathered weights is bit-identical to a standalone model whose weights
// were cut from the shared tensors by the test's own indexing, after the
// shared weights were trained a little (so that no slot is still at its
// initial value by chance).
func TestGatherMatchesIndependentSlicing(t *testing.T) {
	s := newTest(t, Config{Seed: 3})
	sp := s.Space()
	opt, _ := optim.NewSGD(optim.SGDConfig{Momentum: 0.9})
	x, labels := randomBatch(s, 6, 1)
	choices := testChoices(t, sp, 4)
	for _, c := range choices {
		if _, _, err := s.Step(x, labels, c, opt, 0.05); err != nil {
			t.Fatal(err)
		}
	}
	for _, choice := range choices {
		str, _ := sp.Format(choice)
		c, err := s.Sample(choice)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := train.Build(c.Network(), 0, 99)
		if err != nil {
			t.Fatal(err)
		}
		referenceLoad(t, s, str, ref)
		for i, p := range ref.Params() {
			if !slices.Equal(p.Data, c.Model().Params()[i].Data) {
				t.Errorf("%s: parameter %s differs from the reference slicing", str, p.Name)
			}
		}
		want, err := ref.Forward(x, true)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Model().Forward(x, true)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Data, want.Data) {
			t.Errorf("%s: logits differ from the reference model's", str)
		}
	}
}

// TestGradientsByFiniteDifferences: the shared gradient of entries inside
// a candidate's sub-blocks matches central differences of the loss taken
// through the supernet (perturbing the shared weights); entries outside
// them, and slots the candidate does not use, have zero gradient and do
// not change the loss at all. Batch norm runs on its moving statistics
// here: with batch statistics over a handful of images (the stage-5 and
// head maps are 1x1) the loss curves too much for finite differences,
// and the gather/scatter mapping under test is the same either way.
func TestGradientsByFiniteDifferences(t *testing.T) {
	s := newTest(t, Config{Seed: 5, Classes: 3})
	sp := s.Space()
	choice := parse(t, sp, "16:sep3/16:k3e3,skip,skip,k5e1/24:k5e2,skip,skip,skip/48:k3e2,skip,skip,skip/96:k5e4,skip,skip,skip/192:k3e6,skip,k5e2,skip")
	// Batch-norm shifts start at 0, where many pre-activations sit exactly
	// on ReLU's kink (a channel of zeros stays zero through a depthwise
	// conv); move scale and shift to a generic point.
	r := rand.New(rand.NewPCG(8, 8))
	for _, p := range s.Params() {
		switch {
		case strings.HasSuffix(p.Name, ".bn.beta"):
			for i := range p.Data {
				p.Data[i] = float32(r.Float64() - 0.5)
			}
		case strings.HasSuffix(p.Name, ".bn.gamma"):
			for i := range p.Data {
				p.Data[i] = float32(0.5 + r.Float64())
			}
		}
	}
	x, labels := randomBatch(s, 4, 2)
	if _, _, _, err := s.backprop(x, labels, choice, false); err != nil {
		t.Fatal(err)
	}
	c, _ := s.candidate(choice)
	grads := map[*nn.Param][]float32{}
	for _, p := range s.Params() {
		grads[p] = slices.Clone(p.Grad)
	}
	loss := func() float64 {
		l, _, _, err := s.backprop(x, labels, choice, false)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	base := loss()
	inside := map[*nn.Param]map[int]bool{}
	for _, b := range c.bindings {
		in := map[int]bool{}
		for _, r := range b.runs {
			for i := r.src; i < r.src+r.n; i++ {
				in[i] = true
			}
		}
		inside[b.sh.p] = in
	}
	checked, outside := 0, 0
	for _, p := range s.Params() {
		g := grads[p]
		in := inside[p]
		var picks []int
		if in != nil {
			// The largest gradient inside, the first entry inside, and
			// the first and last entries outside the sub-block.
			best := -1
			for i := range in {
				if best < 0 || math.Abs(float64(g[i])) > math.Abs(float64(g[best])) || (math.Abs(float64(g[i])) == math.Abs(float64(g[best])) && i < best) {
					best = i
				}
			}
			first := len(p.Data)
			for i := range in {
				first = min(first, i)
			}
			picks = append(picks, best, first)
			for i := range p.Data {
				if !in[i] {
					picks = append(picks, i)
					break
				}
			}
			for i := len(p.Data) - 1; i >= 0; i-- {
				if !in[i] {
					picks = append(picks, i)
					break
				}
			}
		} else {
			picks = []int{0, len(p.Data) - 1}
		}
		for _, i := range picks {
			if i >= len(p.Data) {
				continue
			}
			old := p.Data[i]
			const eps = 1e-3
			p.Data[i] = old + eps
			up := loss()
			p.Data[i] = old - eps
			down := loss()
			p.Data[i] = old
			an := float64(g[i])
			if !in[i] {
				outside++
				if an != 0 || up != base || down != base {
					t.Errorf("%s[%d] is outside the candidate: gradient %g, loss %v -> %v / %v", p.Name, i, an, base, up, down)
				}
				continue
			}
			num := (up - down) / (2 * eps)
			if math.Abs(num-an) > 3e-2*math.Max(math.Abs(num), math.Abs(an))+2e-3 {
				t.Errorf("%s[%d]: analytic %g, numeric %g", p.Name, i, an, num)
			}
			checked++
		}
	}
	if checked < 40 || outside < 40 {
		t.Errorf("checked %d gradients inside and %d outside; expected more", checked, outside)
	}
	// The gradient of a later step on another candidate leaves nothing
	// of this one's behind.
	other := parse(t, sp, space.MultiMAXChoice)
	if _, _, err := s.Gradients(x, labels, other); err != nil {
		t.Fatal(err)
	}
	oc, _ := s.candidate(other)
	used := map[*nn.Param]bool{}
	for _, p := range oc.used {
		used[p] = true
	}
	for _, p := range s.Params() {
		if !used[p] && slices.ContainsFunc(p.Grad, func(v float32) bool { return v != 0 }) {
			t.Errorf("%s has a gradient but %s does not use it", p.Name, space.MultiMAXChoice)
		}
	}
}

// TestCandidatesShareWeights: a step on one candidate changes what
// another candidate gathers in the slots they share, and nothing in the
// slots only the other one uses.
func TestCandidatesShareWeights(t *testing.T) {
	s := newTest(t, Config{Seed: 7})
	sp := s.Space()
	a := parse(t, sp, "32:skip/32:k3e3,k3e2,skip,skip/64:k5e5,k3e3,k3e2,k3e3/128:k5e6,k3e3,k3e3,k3e3/160:k3e6,k3e4,skip,skip/192:k3e6,k5e4,k5e4,k5e4")
	b := parse(t, sp, "16:sep3/16:k5e3,k3e2,skip,skip/64:k5e5,k3e3,k3e2,k3e3/128:k5e6,k3e3,k3e3,k3e3/160:k3e6,k3e4,skip,skip/192:k3e6,k5e4,k5e4,k5e4")
	snapshot := func() map[string][]float32 {
		c, err := s.Sample(b)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string][]float32{}
		for i, bd := range c.bindings {
			m[bd.sh.p.Name] = slices.Clone(c.bindings[i].local.Data)
		}
		return m
	}
	before := snapshot()
	opt, _ := optim.NewSGD(optim.SGDConfig{})
	x, labels := randomBatch(s, 6, 3)
	if _, _, err := s.Step(x, labels, a, opt, 0.1); err != nil {
		t.Fatal(err)
	}
	after := snapshot()
	for _, name := range []string{"stem.conv.w", "stage1.layer2.expand.w", "stage1.layer1.expand.w", "stage5.layer4.depthwise.w", "stage1.layer1.depthwise.w", "head.fc.w", "head.conv2.bn.gamma"} {
		if slices.Equal(before[name], after[name]) {
			t.Errorf("%s: a step on the other candidate left the shared weights unchanged", name)
		}
	}
	// b alone uses the stem's separable conv; a's step must not have
	// touched it. (b's 5x5 depthwise kernel in stage 1 layer 1 changed
	// above: a's 3x3 there is its centre.)
	for _, name := range []string{"stem.sep.depthwise.w", "stem.sep.project.w", "stem.sep.depthwise.bn.beta"} {
		if before[name] == nil {
			t.Fatalf("%s: not used by the candidate", name)
		}
		if !slices.Equal(before[name], after[name]) {
			t.Errorf("%s: changed by a step on a candidate that does not use it", name)
		}
	}
}

// trainBits runs a few steps with warmup and returns the shared weights'
// bits.
func trainBits(t *testing.T, cacheSize int) []uint32 {
	s := newTest(t, Config{Seed: 11, CacheSize: cacheSize, LabelSmoothing: 0.1})
	opt, _ := optim.NewRMSProp(optim.MobileNetRMSProp())
	r := rand.New(rand.NewPCG(4, 4))
	choices := space.Sample(s.Space(), 3, 9)
	w := DefaultWarmup(8)
	for step := range 6 {
		c, err := s.WarmupChoice(choices[step%len(choices)], step, w, r)
		if err != nil {
			t.Fatal(err)
		}
		x, labels := randomBatch(s, 8, uint64(step))
		if _, _, err := s.Step(x, labels, c, opt, 0.02); err != nil {
			t.Fatal(err)
		}
	}
	var bits []uint32
	for _, p := range s.Params() {
		for _, v := range p.Data {
			bits = append(bits, math.Float32bits(v))
		}
	}
	return bits
}

// TestDeterministic: the same seed gives bit-identical shared weights
// with one core or several, and with or without the candidate cache.
func TestDeterministic(t *testing.T) {
	prev := runtime.GOMAXPROCS(1)
	one := trainBits(t, 1)
	runtime.GOMAXPROCS(max(prev, 2))
	many := trainBits(t, 4)
	runtime.GOMAXPROCS(prev)
	if !slices.Equal(one, many) {
		t.Error("training differs between 1 core without cache and several cores with cache")
	}
}

// TestErrors: unsupported spaces, bad settings, bad choices and bad
// batches are errors, not panics.
func TestErrors(t *testing.T) {
	for _, name := range []string{"nb201", "mnv3like", "proxyless", "fbnet"} {
		sp, err := space.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := New(sp, Config{Resolution: 32, Classes: 10}); err == nil || !strings.Contains(err.Error(), "multihw") {
			t.Errorf("%s: got %v, want an error naming multihw", name, err)
		}
	}
	if _, err := New(nil, Config{Resolution: 32, Classes: 10}); err == nil {
		t.Error("nil space accepted")
	}
	sp := multihw(t)
	for _, cfg := range []Config{
		{Classes: 10},
		{Resolution: 32},
		{Resolution: 32, Classes: 10, ProxyWidth: -1},
		{Resolution: 32, Classes: 10, ProxyWidth: 1.5},
		{Resolution: 32, Classes: 10, ProxyWidth: math.NaN()},
		{Resolution: 32, Classes: 10, LabelSmoothing: 2},
		{Resolution: 32, Classes: 10, CacheSize: -1},
		{Resolution: 32, Classes: 10, Channels: -3},
		{Resolution: 32, Classes: 10, Channels: 100},
		{Resolution: 8, Classes: 10},
	} {
		if _, err := New(sp, cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	s := newTest(t, Config{})
	x, labels := randomBatch(s, 4, 1)
	opt, _ := optim.NewSGD(optim.SGDConfig{})
	good := parse(t, sp, space.MultiAVGChoice)
	outOfRange := slices.Clone(good)
	outOfRange[3] = 99
	for _, c := range [][]int{nil, good[:5], append(slices.Clone(good), 0), outOfRange} {
		if _, err := s.Sample(c); err == nil {
			t.Errorf("choice %v accepted", c)
		}
		if _, _, err := s.Step(x, labels, c, opt, 0.1); err == nil {
			t.Errorf("step on choice %v accepted", c)
		}
	}
	bad := []struct {
		name   string
		x      *nn.Tensor
		labels []int
	}{
		{"nil batch", nil, labels},
		{"short data", &nn.Tensor{N: 4, H: testRes, W: testRes, C: 3, Data: make([]float32, 10)}, labels},
		{"empty batch", nn.NewTensor(0, testRes, testRes, 3), nil},
		{"wrong size", nn.NewTensor(4, 32, 32, 3), labels},
		{"wrong channels", nn.NewTensor(4, testRes, testRes, 1), labels},
		{"label count", x, labels[:3]},
		{"label range", x, []int{0, 1, 2, 5}},
		{"negative label", x, []int{0, -1, 2, 3}},
	}
	for _, b := range bad {
		if _, _, err := s.Step(b.x, b.labels, good, opt, 0.1); err == nil {
			t.Errorf("%s: step accepted", b.name)
		}
		if _, err := s.EvaluateBatch(b.x, b.labels, good); err == nil {
			t.Errorf("%s: evaluation accepted", b.name)
		}
	}
	if _, _, err := s.Step(x, labels, good, nil, 0.1); err == nil {
		t.Error("nil optimizer accepted")
	}
	if _, _, err := s.Step(x, labels, good, opt, -1); err == nil {
		t.Error("negative learning rate accepted")
	}
	if _, err := s.Evaluate(good, nil, 1); err == nil {
		t.Error("nil loader accepted")
	}
	r := rand.New(rand.NewPCG(1, 1))
	if _, err := s.WarmupChoice(good, 0, Warmup{OpSteps: -1}, r); err == nil {
		t.Error("negative warmup accepted")
	}
	if _, err := s.WarmupChoice(good, 0, Warmup{}, nil); err == nil {
		t.Error("nil random source accepted")
	}
	if _, err := s.WarmupChoice(good[:3], 0, Warmup{}, r); err == nil {
		t.Error("short choice accepted by warmup")
	}
}

// TestWarmup follows TuNAS's linear decay: every width and op at its
// largest at step 0, about half of them at the middle, the proposal
// itself once the warmup is over.
func TestWarmup(t *testing.T) {
	s := newTest(t, Config{})
	w := DefaultWarmup(100)
	if w.OpSteps != 25 || w.FilterSteps != 25 {
		t.Fatalf("DefaultWarmup(100) = %+v", w)
	}
	for _, c := range []struct {
		step int
		p    float64
	}{{-1, 1}, {0, 1}, {5, 0.8}, {25, 0}, {1000, 0}} {
		if got := w.FilterProbability(c.step); math.Abs(got-c.p) > 1e-12 || w.OpProbability(c.step) != got {
			t.Errorf("step %d: probability %v, want %v", c.step, got, c.p)
		}
	}
	if (Warmup{}).Active(0) || !w.Active(24) || w.Active(25) {
		t.Error("Active is wrong")
	}
	sp := s.Space()
	ds := sp.Decisions()
	base := parse(t, sp, space.MultiMAXChoice)
	r := rand.New(rand.NewPCG(3, 3))
	for range 20 {
		c, err := s.WarmupChoice(base, 0, w, r)
		if err != nil {
			t.Fatal(err)
		}
		for d, dec := range ds {
			if strings.HasSuffix(dec.Name, "/width") {
				if c[d] != len(dec.Choices)-1 {
					t.Errorf("step 0: %s is %s, want the largest width", dec.Name, dec.Choices[c[d]])
				}
			}
		}
	}
	// At step 0 every op decision is the largest op, whatever was proposed.
	c0, err := s.WarmupChoice(base, 0, w, r)
	if err != nil {
		t.Fatal(err)
	}
	for d, dec := range ds {
		if strings.HasSuffix(dec.Name, "/width") {
			continue
		}
		want := "k5e6"
		if dec.Name == "stem/sep" {
			want = "sep3"
		}
		if got := dec.Choices[c0[d]]; got != want {
			t.Errorf("step 0: %s is %s, want %s", dec.Name, got, want)
		}
	}
	c, err := s.WarmupChoice(base, 25, w, r)
	if err != nil || !slices.Equal(c, base) {
		t.Errorf("after the warmup: %v, %v; want the proposal", c, err)
	}
	base = testChoices(t, sp, 0)[2]
	below := 0
	for d, dec := range ds {
		if strings.HasSuffix(dec.Name, "/width") && base[d] != len(dec.Choices)-1 {
			below++
		}
	}
	widened := 0
	for range 200 {
		c, _ := s.WarmupChoice(base, 12, Warmup{FilterSteps: 24}, r)
		for d, dec := range ds {
			if strings.HasSuffix(dec.Name, "/width") && c[d] != base[d] {
				widened++
			} else if c[d] != base[d] {
				t.Fatal("op changed without op warmup")
			}
		}
	}
	// Each width below the largest widens with probability 1/2.
	if want := 100 * below; below < 3 || widened < want*3/4 || widened > want*5/4 {
		t.Errorf("half-way through the filter warmup %d of %d narrow widths widened, want about %d", widened, 200*below, want)
	}
	r1, r2 := rand.New(rand.NewPCG(9, 9)), rand.New(rand.NewPCG(9, 9))
	a, _ := s.WarmupChoice(base, 3, w, r1)
	b, _ := s.WarmupChoice(base, 3, w, r2)
	if !slices.Equal(a, b) {
		t.Error("the same random state gave different vectors")
	}
}

// TestSubBlock checks the run decomposition on a small 4-D case and the
// whole-tensor and mismatch cases.
func TestSubBlock(t *testing.T) {
	runs, err := subBlock([]int{2, 2, 3, 4}, []int{2, 2, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, r := range runs {
		for i := range r.n {
			got = append(got, r.src+i)
		}
	}
	var want []int
	for a := range 2 {
		for b := range 2 {
			for i := range 2 {
				for o := range 3 {
					want = append(want, ((a*2+b)*3+i)*4+o)
				}
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("sub-block offsets %v, want %v", got, want)
	}
	if runs, _ := subBlock([]int{3, 3, 8}, []int{3, 3, 8}); len(runs) != 1 || runs[0].n != 72 {
		t.Errorf("whole tensor: %v, want one run of 72", runs)
	}
	if runs, _ := subBlock([]int{1, 1, 8, 16}, []int{1, 1, 3, 16}); len(runs) != 1 || runs[0].n != 48 {
		t.Errorf("leading rows: %v, want one run of 48", runs)
	}
	for _, c := range [][2][]int{{{4}, {5}}, {{4, 4}, {4}}, {{4}, {0}}, {nil, nil}} {
		if _, err := subBlock(c[0], c[1]); err == nil {
			t.Errorf("%v in %v accepted", c[1], c[0])
		}
	}
}

// TestProxyNetwork: the training network scales conv filters by the
// proxy width, keeps the classifier, and takes the data's channels.
func TestProxyNetwork(t *testing.T) {
	s := newTest(t, Config{Channels: 1, Classes: 7})
	sp := s.Space()
	choice := parse(t, sp, space.MultiAVGChoice)
	full, err := sp.Network(choice, space.Options{Resolution: testRes, Classes: 7})
	if err != nil {
		t.Fatal(err)
	}
	net, err := s.Network(choice)
	if err != nil {
		t.Fatal(err)
	}
	if net.InChannels() != 1 || net.Resolution != testRes || len(net.Blocks) != len(full.Blocks) {
		t.Fatalf("training network: %d channels, resolution %d, %d blocks", net.InChannels(), net.Resolution, len(net.Blocks))
	}
	for i, b := range net.Blocks {
		want := full.Blocks[i].Filters
		if b.Type != arch.FC && b.Type != arch.GlobalPool {
			want = arch.ScaleFilters(want, 0.25, 8)
		}
		if b.Filters != want {
			t.Errorf("block %d (%s): %d filters, want %d", i, b.Type, b.Filters, want)
		}
	}
	if a, b := net.Blocks[len(net.Blocks)-4].Filters, net.Blocks[len(net.Blocks)-2].Filters; a != 240 || b != 320 {
		t.Errorf("head convs: %d and %d filters, want 240 and 320", a, b)
	}
}

// TestSlots: the shared tensors are sized for the widest choice, and each
// 5x5 depthwise kernel starts with the layer's 3x3 kernel at its centre.
func TestSlots(t *testing.T) {
	s := newTest(t, Config{Resolution: 32, Classes: 10})
	dims := func(name string) []int {
		sh, ok := s.shared[name]
		if !ok {
			t.Fatalf("no shared tensor %s", name)
		}
		return sh.dims
	}
	// Stage 4's widest is 256 (64 at proxy width 0.25), expanded 6x.
	for name, want := range map[string][]int{
		"stem.conv.w":                     {3, 3, 3, 8},
		"stage5.layer1.expand.w":          {1, 1, 64, 384},
		"stage5.layer1.depthwise.w":       {5, 5, 384},
		"stage5.layer1.project.w":         {1, 1, 384, 128},
		"stage5.layer2.expand.w":          {1, 1, 128, 768},
		"head.conv1.w":                    {1, 1, 128, 240},
		"head.conv2.bn.gamma":             {320},
		"head.fc.w":                       {320, 10},
		"head.fc.b":                       {10},
		"stem.sep.depthwise.w":            {3, 3, 8},
		"stage1.layer4.depthwise.bn.beta": {48},
	} {
		if got := dims(name); !slices.Equal(got, want) {
			t.Errorf("%s: shape %v, want %v", name, got, want)
		}
	}
	// A 3x3 candidate's depthwise kernel is the centre of the slot: read
	// it back from the candidate and compare with the slot's taps.
	sp := s.Space()
	choice := parse(t, sp, space.MultiAVGChoice)
	layer := -1
	for d, dec := range sp.Decisions() {
		if dec.Name == "stage3/layer2" {
			layer = d
			if dec.Choices[choice[d]] != "k3e3" {
				t.Fatalf("MultiAVG stage3/layer2 is %s, the test expects k3e3", dec.Choices[choice[d]])
			}
		}
	}
	if layer < 0 {
		t.Fatal("no stage3/layer2 decision")
	}
	c, err := s.Sample(choice)
	if err != nil {
		t.Fatal(err)
	}
	var local []float32
	for _, bd := range c.bindings {
		if bd.sh.p.Name == "stage3.layer2.depthwise.w" {
			local = bd.local.Data
		}
	}
	slot := s.shared["stage3.layer2.depthwise.w"]
	ch := slot.dims[2]
	used := len(local) / 9
	if local == nil || used == 0 {
		t.Fatal("the candidate has no stage3.layer2 depthwise kernel")
	}
	for a := range 3 {
		for b := range 3 {
			for k := range used {
				if got, want := local[(a*3+b)*used+k], slot.p.Data[((a+1)*5+b+1)*ch+k]; got != want {
					t.Fatalf("3x3 tap (%d,%d) channel %d: %v, slot centre holds %v", a, b, k, got, want)
				}
			}
		}
	}

}

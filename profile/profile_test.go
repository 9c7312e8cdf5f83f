package profile

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/latency/lut"
	"github.com/fleetnas/fleetnas/onnx"
	"github.com/fleetnas/fleetnas/space"
)

// TestConfigsCoverMultiHW checks the enumeration against networks it did
// not produce: every block of 300 networks drawn with another seed has
// its signature among the configurations, and each configuration's
// single-block graph has the signature it is filed under.
func TestConfigsCoverMultiHW(t *testing.T) {
	sp, err := space.Get("multihw")
	if err != nil {
		t.Fatal(err)
	}
	configs, cov, err := Configs(sp, space.Options{Resolution: 224}, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, c := range configs {
		sigs, err := lut.Signatures(c.Graph)
		if err != nil {
			t.Fatal(err)
		}
		if len(sigs) != 1 || sigs[0] != c.Signature {
			t.Fatalf("config %s: its graph has signatures %v", c.Signature, sigs)
		}
		have[c.Signature.String()] = true
	}
	t.Logf("multihw at 224: %d configurations from %d networks", len(configs), cov.Networks)
	for _, c := range space.Sample(sp, 300, 77) {
		n, err := sp.Network(c, space.Options{Resolution: 224})
		if err != nil {
			t.Fatal(err)
		}
		g, err := n.Lower(0)
		if err != nil {
			t.Fatal(err)
		}
		sigs, err := lut.Signatures(g)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sigs {
			if !have[s.String()] {
				t.Fatalf("%s: block %s is not among the configurations", n.Name, s)
			}
		}
	}
}

// TestSingleBlockKeepsLayers cuts every block out of a network and checks
// that the pieces, laid end to end, are the network's layers.
func TestSingleBlockKeepsLayers(t *testing.T) {
	sp, _ := space.Get("multihw")
	c, err := sp.Parse(space.MultiAVGChoice)
	if err != nil {
		t.Fatal(err)
	}
	n, err := sp.Network(c, space.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := n.Lower(0)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for i := range n.Blocks {
		sg, err := SingleBlock(g, i)
		if err != nil {
			t.Fatal(err)
		}
		for j, l := range sg.Layers {
			orig := g.Layers[total+j]
			if l.Op != orig.Op || l.In != orig.In || l.Out != orig.Out || l.Kernel != orig.Kernel || l.Stride != orig.Stride {
				t.Fatalf("block %d layer %d: %+v, in the network %+v", i, j, l, orig)
			}
		}
		total += len(sg.Layers)
		if sg.Tensors[0] != g.Tensors[sg.Layers[0].Inputs[0]] && i == 0 {
			t.Fatalf("block 0 input %s", sg.Tensors[0])
		}
	}
	if total != len(g.Layers) {
		t.Fatalf("%d layers in the pieces, %d in the network", total, len(g.Layers))
	}
	if _, err := SingleBlock(g, len(n.Blocks)); err == nil {
		t.Error("block out of range: no error")
	}
}

// TestFitCorrection recovers a known line from noisy points.
func TestFitCorrection(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var p, m []float64
	for range 200 {
		x := 2 + 30*r.Float64()
		p = append(p, x)
		m = append(m, (0.8*x-0.5)*(1+0.01*r.NormFloat64()))
	}
	c, err := FitCorrection(p, m)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(c.Scale-0.8) > 0.01 || math.Abs(c.OffsetMs+0.5) > 0.05 {
		t.Errorf("fitted %+v, want scale 0.8, offset -0.5", c)
	}
	if _, err := FitCorrection([]float64{1, 1}, []float64{2, 3}); err == nil {
		t.Error("equal predictions: no error")
	}
	if _, err := FitCorrection([]float64{1}, []float64{2}); err == nil {
		t.Error("one point: no error")
	}
}

// TestCorrectionTable folds a correction into a table and checks a
// network's price against correcting the table's price.
func TestCorrectionTable(t *testing.T) {
	tb := lut.New("t", "test", 0.5)
	s1, _ := lut.ParseSignature("gpool:in=7x7x960,out=960,k=0,s=1,exp=960,g=1,se=0,act=identity,res=0")
	s2, _ := lut.ParseSignature("fc:in=1x1x1280,out=1000,k=0,s=1,exp=1280,g=1,se=0,act=identity,res=0")
	if err := tb.Set(s1, 1); err != nil {
		t.Fatal(err)
	}
	if err := tb.Set(s2, 3); err != nil {
		t.Fatal(err)
	}
	c := Correction{Scale: 0.9, OffsetMs: -0.2}
	ct, err := c.Table(tb, "t2")
	if err != nil {
		t.Fatal(err)
	}
	// 0.5 + 1 + 3 = 4.5 raw; corrected 0.9*4.5 - 0.2 = 3.85.
	e := ct.Entries()
	got := ct.Constant + e[0].Ms + e[1].Ms
	if math.Abs(got-3.85) > 1e-12 {
		t.Errorf("corrected total %g, want 3.85", got)
	}
	if _, err := (Correction{Scale: -1}).Table(tb, "x"); err == nil {
		t.Error("negative scale: no error")
	}
}

// TestLeadIn checks the context method's graphs: the lead-in alone, and
// the lead-in followed by a residual block whose layers read the lead-in's
// output where they read the block input before.
func TestLeadIn(t *testing.T) {
	sp, _ := space.Get("multihw")
	c, _ := sp.Parse(space.MultiAVGChoice)
	n, _ := sp.Network(c, space.Options{})
	g, err := n.Lower(0)
	if err != nil {
		t.Fatal(err)
	}
	var sg *arch.Graph
	for i := range n.Blocks { // the first residual block
		if sg, err = SingleBlock(g, i); err != nil {
			t.Fatal(err)
		}
		if sg.Layers[len(sg.Layers)-1].Op == arch.OpAdd {
			break
		}
	}
	in := sg.Tensors[0]
	alone := leadIn(in, nil)
	if len(alone.Layers) != 1 || alone.Layers[0].Op != arch.OpDepthwise || alone.Layers[0].Kernel != 1 || alone.Output() != in {
		t.Fatalf("lead-in alone: %+v", alone.Layers)
	}
	lg := leadIn(in, sg)
	if len(lg.Layers) != len(sg.Layers)+1 || len(lg.Tensors) != len(sg.Tensors)+1 || lg.Output() != sg.Output() {
		t.Fatalf("lead-in + block: %d layers, %d tensors", len(lg.Layers), len(lg.Tensors))
	}
	for i, l := range lg.Layers[1:] {
		for k, id := range l.Inputs {
			if id != sg.Layers[i].Inputs[k]+1 || lg.Tensors[id] != sg.Tensors[sg.Layers[i].Inputs[k]] {
				t.Fatalf("layer %s reads tensor %d, was %d", l.Name, id, sg.Layers[i].Inputs[k])
			}
		}
	}
	for _, gr := range []*arch.Graph{alone, lg} {
		if _, err := onnx.Export(gr, onnx.GraphWeights(gr, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if add := lg.Layers[len(lg.Layers)-1]; add.Op != arch.OpAdd || add.Inputs[1] != 1 {
		t.Errorf("the residual add reads %v, want the lead-in's output (tensor 1)", add.Inputs)
	}
	if _, _, err := Profile("x", "y", nil, "sideways", Options{}, nil); err == nil {
		t.Error("unknown method: no error")
	}
	// The tail reads the block's output, one pixel of it (stride = size),
	// and makes the graph's output 1x1x8; the graph stays exportable.
	for _, gr := range []*arch.Graph{alone, lg} {
		nl, nt := len(gr.Layers), len(gr.Tensors)
		tg := withTail(gr)
		tail := tg.Layers[len(tg.Layers)-1]
		if len(tg.Layers) != len(gr.Layers)+1 || tail.Inputs[0] != len(gr.Tensors)-1 || tail.In != gr.Output() ||
			tail.Stride < tail.In.H || tg.Output() != (arch.Shape{H: 1, W: 1, C: tailChannels}) || tg.BlockOut[len(tg.BlockOut)-1] != len(tg.Tensors)-1 {
			t.Errorf("tail %+v on output %s: graph output %s", tail, gr.Output(), tg.Output())
		}
		if len(gr.Layers) != nl || len(gr.Tensors) != nt {
			t.Error("withTail changed its argument")
		}
		m, err := onnx.Export(tg, onnx.GraphWeights(tg, 1))
		if err != nil {
			t.Fatal(err)
		}
		if o := m.GetGraph().GetOutput()[0].GetType().GetTensorType().GetShape().GetDim(); len(o) != 4 || o[1].GetDimValue() != tailChannels || o[2].GetDimValue() != 1 {
			t.Errorf("ONNX output %v", o)
		}
	}
}

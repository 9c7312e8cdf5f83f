package onnx_test

import (
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/onnx"
	"github.com/fleetnas/fleetnas/zoo"
)

func lowered(t *testing.T, n *arch.Network) *arch.Graph {
	t.Helper()
	g, err := n.Lower(0)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestNodesFollowLayers checks the graph's structure against the lowered
// layers it comes from: one Conv per convolution, batch norm folded away,
// the documented operators only, and the initializers shaped as ONNX's
// OIHW.
func TestNodesFollowLayers(t *testing.T) {
	z, err := zoo.New()
	if err != nil {
		t.Fatal(err)
	}
	net, err := z.Build("MobileNetV3Large", zoo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := lowered(t, net)
	w, err := onnx.RandomWeights(net, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnx.Export(g, w)
	if err != nil {
		t.Fatal(err)
	}
	convs, gemms := 0, 0
	for _, l := range g.Layers {
		switch l.Op {
		case arch.OpConv, arch.OpDepthwise:
			convs++
		case arch.OpFC:
			gemms++
		}
	}
	count := map[string]int{}
	layerNames := map[string]bool{}
	for _, l := range g.Layers {
		layerNames[l.Name] = true
	}
	names := map[string]bool{}
	for _, n := range m.GetGraph().GetNode() {
		count[n.GetOpType()]++
		// Names say which layer a node belongs to ("layer/Op_index"), so
		// that ONNX Runtime's profiles can be read per layer, and are
		// unique, as ONNX requires.
		if l, _, ok := strings.Cut(n.GetName(), "/"); !ok || !layerNames[l] || names[n.GetName()] {
			t.Errorf("node name %q: not layer/Op_index with a layer of the network, or repeated", n.GetName())
		}
		names[n.GetName()] = true
	}
	if count["Conv"] != convs || count["Gemm"] != gemms {
		t.Errorf("%d Conv and %d Gemm nodes for %d conv and %d fc layers", count["Conv"], count["Gemm"], convs, gemms)
	}
	allowed := map[string]bool{"Conv": true, "Relu": true, "Clip": true, "HardSwish": true, "HardSigmoid": true,
		"Sigmoid": true, "Mul": true, "Add": true, "Sum": true, "GlobalAveragePool": true, "AveragePool": true,
		"Flatten": true, "Gemm": true, "Reshape": true, "Transpose": true, "Identity": true, "Erf": true}
	for op := range count {
		if !allowed[op] {
			t.Errorf("unexpected operator %s", op)
		}
	}
	// The first conv: 3x3, 3 -> 16 channels, OIHW.
	first := m.GetGraph().GetInitializer()[0]
	if got := first.GetDims(); len(got) != 4 || got[0] != 16 || got[1] != 3 || got[2] != 3 || got[3] != 3 {
		t.Errorf("stem weight dims %v, want [16 3 3 3]", got)
	}
	if m.GetOpsetImport()[0].GetVersion() < 13 {
		t.Errorf("opset %d", m.GetOpsetImport()[0].GetVersion())
	}
}

func TestExportErrors(t *testing.T) {
	net := &arch.Network{Format: arch.Format, Resolution: 8, Blocks: []arch.Block{
		{Type: arch.Conv, Kernel: 3, Stride: 2, Filters: 8, Activation: arch.ReLU},
		{Type: arch.GlobalPool},
		{Type: arch.FC, Filters: 2},
	}}
	g := lowered(t, net)
	w, err := onnx.RandomWeights(net, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := onnx.Export(g, nil); err == nil {
		t.Error("no weights: no error")
	}
	missing := &onnx.Weights{Params: map[string][]float32{}}
	for k, v := range w.Params {
		if k != "0.conv.bn.gamma" {
			missing.Params[k] = v
		}
	}
	if _, err := onnx.Export(g, missing); err == nil || !strings.Contains(err.Error(), "0.conv.bn.gamma") || !strings.Contains(err.Error(), "layer 0.conv") {
		t.Errorf("missing weight: %v", err)
	}
	short := &onnx.Weights{Params: map[string][]float32{}}
	for k, v := range w.Params {
		short.Params[k] = v
	}
	short.Params["2.fc.w"] = short.Params["2.fc.w"][:3]
	if _, err := onnx.Export(g, short); err == nil || !strings.Contains(err.Error(), "2.fc.w has 3 values") {
		t.Errorf("short weight: %v", err)
	}
	stats := &onnx.Weights{Params: w.Params, Buffers: map[string][]float32{}}
	if _, err := onnx.Export(g, stats); err == nil || !strings.Contains(err.Error(), "0.conv.bn.moving_mean") {
		t.Errorf("missing statistics: %v", err)
	}
	att := &arch.Network{Format: arch.Format, Resolution: 8, Blocks: []arch.Block{
		{Type: arch.Conv, Kernel: 3, Stride: 2, Filters: 8, Activation: arch.ReLU},
		{Type: arch.MHSA, Heads: 2, KeyDim: 4, ValueDim: 4},
	}}
	ag := lowered(t, att)
	m, err := onnx.Export(ag, &onnx.Weights{Params: map[string][]float32{}})
	if err == nil || !strings.Contains(err.Error(), "layer 0.conv") {
		t.Errorf("attention network without weights: %v", err)
	}
	if m, err = onnx.Export(ag, onnx.GraphWeights(ag, 1)); err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	for _, n := range m.GetGraph().GetNode() {
		ops[n.GetOpType()]++
	}
	if ops["MatMul"] != 2 || ops["Softmax"] != 1 {
		t.Errorf("attention: %d MatMul and %d Softmax nodes, want 2 and 1", ops["MatMul"], ops["Softmax"])
	}
}

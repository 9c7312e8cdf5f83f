// Package cost counts what a network costs at one input resolution, per
// layer and in total: multiply-accumulates, trainable parameters,
// parameters including batch-norm moving statistics (what Keras'
// count_params reports), weight bytes, activation bytes read and written,
// and peak activation memory. These are the inputs of roofline latency
// models and of the model-size constraints users ship under.
//
// Conventions, chosen to match published figures:
//   - MACs count convolutions, depthwise convolutions, fully connected
//     layers and attention matrix products; pooling, batch norm,
//     activations, additions and squeeze-excite scaling are free (as in
//     the MobileNet papers).
//   - Batch norm has 2 trainable and 2 non-trainable values per channel.
//   - Weight bytes count what a deployed model stores: weights plus one
//     bias per output channel for every conv with a bias or a folded
//     batch norm; stand-alone batch norms store scale and shift.
//   - Activation bytes are the elements each layer reads and writes times
//     the element size (4 for float32 by default, 1 for int8).
//   - Peak activation memory is the largest sum of tensors alive at once
//     when layers run in order and each tensor is freed after its last
//     reader, with no in-place reuse.
//
// Written by hand: it is plain arithmetic over arch's layer graph.
package cost

import (
	"fmt"

	"github.com/fleetnas/fleetnas/arch"
)

// Options set the numeric format used for byte counts.
type Options struct {
	// BytesPerElement of weights and activations: 4 (float32, the
	// default when 0), 2 (float16) or 1 (int8).
	BytesPerElement int
}

// Layer is the cost of one primitive layer.
type Layer struct {
	Block  int        `json:"block"`
	Name   string     `json:"name"`
	Op     arch.Op    `json:"op"`
	In     arch.Shape `json:"input"`
	Out    arch.Shape `json:"output"`
	Kernel int        `json:"kernel,omitempty"`
	Stride int        `json:"stride,omitempty"`
	Groups int        `json:"groups,omitempty"`
	Totals
	// LiveBytes is the activation memory alive while this layer runs.
	LiveBytes int64 `json:"live_bytes"`
}

// Totals are the additive counts of a layer or a network.
type Totals struct {
	MACs              int64 `json:"macs"`
	Params            int64 `json:"params"`
	ParamsWithBNStats int64 `json:"params_with_bn_stats"`
	WeightBytes       int64 `json:"weight_bytes"`
	ReadBytes         int64 `json:"activation_read_bytes"`
	WriteBytes        int64 `json:"activation_write_bytes"`
}

func (t *Totals) add(o Totals) {
	t.MACs += o.MACs
	t.Params += o.Params
	t.ParamsWithBNStats += o.ParamsWithBNStats
	t.WeightBytes += o.WeightBytes
	t.ReadBytes += o.ReadBytes
	t.WriteBytes += o.WriteBytes
}

// Report is the cost of a whole network at one resolution.
type Report struct {
	Name        string `json:"name,omitempty"`
	Resolution  int    `json:"resolution"`
	Input       string `json:"input"`
	Output      string `json:"output"`
	BytesPerElt int    `json:"bytes_per_element"`
	Totals
	PeakActivationBytes int64 `json:"peak_activation_bytes"`
	// Layers is filled only when asked for.
	Layers []Layer `json:"layers,omitempty"`
}

// Network lowers n at the given resolution (0 = its own) and costs it.
func Network(n *arch.Network, resolution int, opt Options) (*Report, error) {
	g, err := n.Lower(resolution)
	if err != nil {
		return nil, err
	}
	return Of(g, opt)
}

// Of costs a lowered network. The report always holds the per-layer
// breakdown; callers that print totals only may drop it.
func Of(g *arch.Graph, opt Options) (*Report, error) {
	bpe := opt.BytesPerElement
	switch bpe {
	case 0:
		bpe = 4
	case 1, 2, 4:
	default:
		return nil, fmt.Errorf("bytes per element must be 1, 2 or 4, got %d", bpe)
	}
	r := &Report{
		Name:        g.Network.Name,
		Resolution:  g.Resolution,
		Input:       g.Tensors[0].String(),
		Output:      g.Output().String(),
		BytesPerElt: bpe,
		Layers:      make([]Layer, len(g.Layers)),
	}
	for i := range g.Layers {
		l := &g.Layers[i]
		c, err := layerTotals(l, g.Tensors, int64(bpe))
		if err != nil {
			return nil, err
		}
		r.Layers[i] = Layer{Block: l.Block, Name: l.Name, Op: l.Op, In: l.In, Out: l.Out,
			Kernel: l.Kernel, Stride: l.Stride, Groups: l.Groups, Totals: c}
		r.Totals.add(c)
	}
	live := liveBytes(g, int64(bpe))
	for i := range r.Layers {
		r.Layers[i].LiveBytes = live[i]
		r.PeakActivationBytes = max(r.PeakActivationBytes, live[i])
	}
	return r, nil
}

// layerTotals is the cost of one layer.
func layerTotals(l *arch.Layer, tensors []arch.Shape, bpe int64) (Totals, error) {
	var t Totals
	var weights, biases, bnCh int64
	out := l.Out
	switch l.Op {
	case arch.OpConv:
		g := int64(max(l.Groups, 1))
		if int64(l.In.C)%g != 0 {
			return t, fmt.Errorf("layer %s: %d groups do not divide %d input channels", l.Name, g, l.In.C)
		}
		perOut := int64(l.Kernel*l.Kernel) * int64(l.In.C) / g
		weights = perOut * int64(out.C)
		t.MACs = out.Elems() * perOut
	case arch.OpDepthwise:
		weights = int64(l.Kernel*l.Kernel) * int64(out.C)
		t.MACs = out.Elems() * int64(l.Kernel*l.Kernel)
	case arch.OpFC:
		weights = int64(l.In.C) * int64(out.C)
		t.MACs = weights
	case arch.OpMatMul:
		m := l.MatMul
		t.MACs = int64(m[0]) * int64(m[1]) * int64(m[2]) * int64(m[3])
	case arch.OpScale:
		weights = int64(out.C)
	case arch.OpBN:
		// A stand-alone BN: scale and shift are trainable weights.
	}
	if l.Bias {
		biases = int64(out.C)
	}
	if l.BN {
		bnCh = int64(out.C)
	}
	t.Params = weights + biases + 2*bnCh
	t.ParamsWithBNStats = t.Params + 2*bnCh
	stored := weights + biases
	if l.BN && !l.Bias && l.Op != arch.OpBN {
		stored += bnCh // folded into a bias
	}
	if l.Op == arch.OpBN {
		stored += 2 * bnCh
	}
	t.WeightBytes = stored * bpe
	for _, in := range l.Inputs {
		t.ReadBytes += tensors[in].Elems() * bpe
	}
	if l.Op == arch.OpZero {
		t.ReadBytes = 0
	}
	t.WriteBytes = out.Elems() * bpe
	return t, nil
}

// liveBytes returns, per layer, the bytes of all tensors alive while it
// runs: tensors already produced and still to be read (at or after this
// layer), plus the layer's output.
func liveBytes(g *arch.Graph, bpe int64) []int64 {
	last := make([]int, len(g.Tensors))
	for i := range last {
		last[i] = -1
	}
	for i, l := range g.Layers {
		for _, t := range l.Inputs {
			last[t] = i
		}
	}
	final := len(g.Tensors) - 1
	last[final] = len(g.Layers) // the network output is kept
	born := make([]int, len(g.Tensors))
	born[0] = -1 // the input exists before the first layer
	for i, l := range g.Layers {
		born[l.Output] = i
	}
	// Sweep: add a tensor when born, drop it after its last reader.
	drop := make([][]int, len(g.Layers)+1)
	for t, li := range last {
		if li >= 0 && li < len(g.Layers) {
			drop[li] = append(drop[li], t)
		}
	}
	live := make([]int64, len(g.Layers))
	var cur int64 = g.Tensors[0].Elems() * bpe
	for i, l := range g.Layers {
		cur += g.Tensors[l.Output].Elems() * bpe
		live[i] = cur
		for _, t := range drop[i] {
			cur -= g.Tensors[t].Elems() * bpe
		}
		if last[l.Output] < 0 { // produced but never read (dead branch)
			cur -= g.Tensors[l.Output].Elems() * bpe
		}
	}
	return live
}

package roofline

import (
	"fmt"
	"strings"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/cost"
	"github.com/fleetnas/fleetnas/latency"
)

// opClass indexes Efficiency.
type opClass uint8

const (
	classConv1x1 opClass = iota
	classConvKxK
	classDepthwise
	classFC
	classMatMul
	classElementwise
	numClasses
)

// Feature flags of a layer that select penalties.
const (
	flagHSwish uint8 = 1 << iota
	flagSwish
	flagGELU
	flagSE
	flagAttention
	flagBigKernel
)

// overhead kinds.
const (
	ovhNone uint8 = iota
	ovhLayer
	ovhElementwise
)

// feature is what the roofline needs of one layer; a network compiles to
// a slice of them once, so that calibration can re-price it cheaply under
// many parameter values.
type feature struct {
	macs, bytes float64
	class       opClass
	flags       uint8
	ovh         uint8
}

// Model is a roofline device model. It is immutable and safe for
// concurrent use.
type Model struct {
	p Params
	// known are the device's measured networks, if any (see Anchored).
	known *latency.Lookup
}

// New validates p and returns its model.
func New(p Params) (*Model, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &Model{p: p.clone()}, nil
}

// Params returns a copy of the model's parameters (e.g. to save them).
func (m *Model) Params() Params { return m.p.clone() }

// Anchored returns a model with m's parameters that answers with the
// measured latency for every network of known (found by structure) and
// with the roofline's prediction for all others. A calibrated roofline
// misses each of the networks it was fitted on by several percent, and
// the error of a latency ratio is the error of its numerator combined
// with that of its denominator (the reference network): a device's own
// measurements are better than any fit of them. A nil known gives a
// model that only predicts.
func (m *Model) Anchored(known *latency.Lookup) *Model {
	if known.Len() == 0 {
		known = nil
	}
	return &Model{p: m.p.clone(), known: known}
}

// Measurements are the measured networks the model answers with (nil
// when it only predicts).
func (m *Model) Measurements() *latency.Lookup { return m.known }

// Measurement implements latency.Measured: the measured latency of n, if
// the model holds a measurement of a network of its structure.
func (m *Model) Measurement(n *latency.Net) (float64, bool) { return m.known.Measurement(n) }

// Latency implements latency.Model: the latency in ms of one inference of
// n at batch 1, measured if the model holds a measurement of n (see
// Anchored), predicted otherwise.
func (m *Model) Latency(n *latency.Net) (float64, error) {
	if v, ok := m.known.Measurement(n); ok {
		return v, nil
	}
	return m.Predict(n)
}

// Predict is the roofline's prediction for n, ignoring any measurement:
// what the model would say of a network it never saw.
func (m *Model) Predict(n *latency.Net) (float64, error) {
	f, err := compile(n, &m.p)
	if err != nil {
		return 0, err
	}
	return eval(&m.p, f), nil
}

// LayerTime is one layer's share of a prediction, for explaining it.
type LayerTime struct {
	Name string  `json:"name"`
	Op   arch.Op `json:"op"`
	// ComputeMS and MemoryMS are the two roofs before penalty; TotalMS is
	// max(ComputeMS, MemoryMS) times the penalty plus the overhead.
	ComputeMS float64 `json:"compute_ms"`
	MemoryMS  float64 `json:"memory_ms"`
	Penalty   float64 `json:"penalty"`
	TotalMS   float64 `json:"total_ms"`
}

// Breakdown prices n layer by layer (without the per-network constant),
// to show where a prediction's time goes and which roof binds. It is
// always the prediction: a measurement has no layers.
func (m *Model) Breakdown(n *latency.Net) ([]LayerTime, error) {
	f, err := compile(n, &m.p)
	if err != nil {
		return nil, err
	}
	out := make([]LayerTime, len(f))
	for i := range f {
		c, mem, pen, tot := layerTime(&m.p, &f[i])
		l := &n.Graph.Layers[i]
		out[i] = LayerTime{Name: l.Name, Op: l.Op, ComputeMS: c, MemoryMS: mem, Penalty: pen, TotalMS: tot}
	}
	return out, nil
}

// compile checks that the device can run n and extracts its per-layer
// features at the device's element size.
func compile(n *latency.Net, p *Params) ([]feature, error) {
	if n == nil || n.Graph == nil {
		return nil, fmt.Errorf("roofline: no network graph to price")
	}
	g := n.Graph
	for i := range g.Layers {
		for _, op := range p.Unsupported {
			if g.Layers[i].Op == op {
				return nil, fmt.Errorf("%w: layer %s is a %s, which this device cannot run", latency.ErrUnsupported, g.Layers[i].Name, op)
			}
		}
	}
	rep, err := cost.Of(g, cost.Options{BytesPerElement: p.BytesPerElement})
	if err != nil {
		return nil, fmt.Errorf("roofline: %w", err)
	}
	bigK := p.Penalty.BigKernelMin
	if bigK == 0 {
		bigK = 5
	}
	f := make([]feature, len(g.Layers))
	for i := range g.Layers {
		l := &g.Layers[i]
		c := &rep.Layers[i]
		ft := feature{macs: float64(c.MACs), bytes: float64(c.WeightBytes + c.ReadBytes + c.WriteBytes), ovh: ovhLayer}
		switch l.Op {
		case arch.OpConv:
			ft.class = classConvKxK
			if l.Kernel == 1 && l.Groups <= 1 {
				ft.class = classConv1x1
			}
		case arch.OpDepthwise:
			ft.class = classDepthwise
		case arch.OpFC:
			ft.class = classFC
		case arch.OpMatMul:
			ft.class = classMatMul
			ft.flags |= flagAttention
		default:
			ft.class = classElementwise
			ft.ovh = ovhElementwise
		}
		switch l.Op {
		case arch.OpSoftmax:
			ft.flags |= flagAttention
		case arch.OpZero:
			ft.ovh = ovhNone // no kernel runs
		case arch.OpAct:
			if l.Activation == arch.Identity {
				ft.ovh = ovhNone // a graph no-op (an identity cell)
				ft.bytes = 0
			}
		case arch.OpConv, arch.OpDepthwise:
			if l.Kernel >= bigK {
				ft.flags |= flagBigKernel
			}
		}
		switch l.Activation {
		case arch.HSwish:
			ft.flags |= flagHSwish
		case arch.Swish:
			ft.flags |= flagSwish
		case arch.GELU:
			ft.flags |= flagGELU
		}
		if strings.HasPrefix(l.Part, "se") {
			ft.flags |= flagSE
		}
		f[i] = ft
	}
	return f, nil
}

// layerTime returns the compute and memory roofs (ms), the penalty and the
// layer's total (ms).
func layerTime(p *Params, f *feature) (compute, memory, penalty, total float64) {
	eff := efficiencyOf(p, f.class)
	if f.macs > 0 {
		compute = f.macs / (p.PeakGMACs * eff) * 1e-6 // MAC / (GMAC/s) = ns; 1e-6 ms per ns
		if !p.MemoryFree {
			memory = f.bytes / p.BandwidthGBs * 1e-6
		}
	} else if !p.MemoryFree {
		memory = f.bytes / (p.BandwidthGBs * eff) * 1e-6
	}
	penalty = 1.0
	if f.flags != 0 {
		if f.flags&flagHSwish != 0 {
			penalty *= factor(p.Penalty.HSwish)
		}
		if f.flags&flagSwish != 0 {
			penalty *= factor(p.Penalty.Swish)
		}
		if f.flags&flagGELU != 0 {
			penalty *= factor(p.Penalty.GELU)
		}
		if f.flags&flagSE != 0 {
			penalty *= factor(p.Penalty.SE)
		}
		if f.flags&flagAttention != 0 {
			penalty *= factor(p.Penalty.Attention)
		}
		if f.flags&flagBigKernel != 0 {
			penalty *= factor(p.Penalty.BigKernel)
		}
	}
	total = max(compute, memory) * penalty
	switch f.ovh {
	case ovhLayer:
		total += p.LayerOverheadMS
	case ovhElementwise:
		total += p.ElementwiseOverheadMS
	}
	return compute, memory, penalty, total
}

func efficiencyOf(p *Params, c opClass) float64 {
	switch c {
	case classConv1x1:
		return p.Efficiency.Conv1x1
	case classConvKxK:
		return p.Efficiency.ConvKxK
	case classDepthwise:
		return p.Efficiency.Depthwise
	case classFC:
		return p.Efficiency.FC
	case classMatMul:
		return p.Efficiency.MatMul
	}
	return p.Efficiency.Elementwise
}

// eval prices compiled features: the sum of layer times plus the
// per-network constant. Summation is in layer order, so the result is the
// same on every machine.
func eval(p *Params, f []feature) float64 {
	t := p.NetworkOverheadMS
	for i := range f {
		_, _, _, lt := layerTime(p, &f[i])
		t += lt
	}
	return t
}

package latency

import (
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/fleetnas/fleetnas/arch"
)

// Measured is implemented by device models that hold measurements of
// whole networks (a benchmark table, the rows of a published table a
// model was calibrated on). A measurement is better than any prediction
// of it, so such a model's Latency returns the measurement for the
// networks it measured; Measurement tells a report which numbers those
// are.
type Measured interface {
	// Measurement returns the measured latency of n in ms and true, or
	// (0, false) when the model never measured n (its Latency is then a
	// prediction, or an error).
	Measurement(n *Net) (ms float64, ok bool)
}

// Of returns m's latency for n and whether it is a measurement (true) or
// a prediction (false).
func Of(m Model, n *Net) (ms float64, measured bool, err error) {
	if mm, ok := m.(Measured); ok {
		if v, ok := mm.Measurement(n); ok {
			return v, true, nil
		}
	}
	v, err := m.Latency(n)
	return v, false, err
}

// IsMeasured reports whether m's latency for n is a measurement.
func IsMeasured(m Model, n *Net) bool {
	mm, ok := m.(Measured)
	if !ok {
		return false
	}
	_, ok = mm.Measurement(n)
	return ok
}

// Fingerprint identifies a lowered network by its structure: two graphs
// with the same fingerprint almost surely compute the same thing, and
// SameStructure settles it. It is stable across runs and platforms, so it
// may be printed and stored.
type Fingerprint uint64

// String is the fingerprint in hex.
func (f Fingerprint) String() string { return fmt.Sprintf("%016x", uint64(f)) }

// FingerprintOf hashes the structure of g: the input image, and for each
// layer in execution order its op, input and output shapes, kernel,
// stride, groups, activation, batch norm, bias, matrix-product
// dimensions and wiring (which earlier layers' outputs it reads). Two
// things are left out because they do not change what the network
// computes: labels (layer names, block indices, parts), so that a
// search-space member and a zoo model that compute the same thing match
// whatever they are called; and layers that compute the identity (a
// global pool of a 1x1 map, a 1x1 stride-1 average pool, an identity
// activation), so that, for example, the zoo's MobileNet-MultiHW-MAX,
// which pools its 1x1 head output once more before the classifier, matches
// the multihw space's member that does not. A nil graph has fingerprint 0.
func FingerprintOf(g *arch.Graph) Fingerprint {
	if g == nil {
		return 0
	}
	c := canonical(g)
	h := hasher{s: 0x6a09e667f3bcc908} // any fixed seed: fingerprints are stored
	h.int(g.Resolution)
	if len(g.Tensors) > 0 {
		h.shape(g.Tensors[0])
	}
	h.int(len(c))
	for i := range c {
		l := c[i].l
		h.str(string(l.Op))
		h.shape(l.In)
		h.shape(l.Out)
		h.int(l.Kernel)
		h.int(l.Stride)
		h.int(l.Groups)
		h.str(string(l.Activation))
		h.bool(l.BN)
		h.bool(l.Bias)
		for _, d := range l.MatMul {
			h.int(d)
		}
		h.int(len(c[i].in))
		for _, in := range c[i].in {
			h.int(in)
		}
	}
	return Fingerprint(h.sum())
}

// canonLayer is a layer that is not an identity, with its inputs
// renumbered: tensor 0 is the input image, tensor k the output of the
// k-th kept layer, and an identity layer's output is its input.
type canonLayer struct {
	l  *arch.Layer
	in []int
}

// canonical lists the layers of g that FingerprintOf hashes.
func canonical(g *arch.Graph) []canonLayer {
	id := make([]int, len(g.Tensors)) // original tensor -> canonical id
	for i := range id {
		id[i] = -1 // never written: hashed as such, consistently
	}
	if len(id) > 0 {
		id[0] = 0
	}
	of := func(t int) int {
		if t < 0 || t >= len(id) {
			return -1
		}
		return id[t]
	}
	nin := 0
	for i := range g.Layers {
		nin += len(g.Layers[i].Inputs)
	}
	ins := make([]int, 0, nin) // one array for every layer's inputs
	out := make([]canonLayer, 0, len(g.Layers))
	for i := range g.Layers {
		l := &g.Layers[i]
		if isIdentity(l) {
			if l.Output >= 0 && l.Output < len(id) {
				id[l.Output] = of(l.Inputs[0])
			}
			continue
		}
		start := len(ins)
		for _, t := range l.Inputs {
			ins = append(ins, of(t))
		}
		out = append(out, canonLayer{l: l, in: ins[start:len(ins):len(ins)]})
		if l.Output >= 0 && l.Output < len(id) {
			id[l.Output] = len(out)
		}
	}
	return out
}

// isIdentity reports whether l passes its single input through unchanged.
func isIdentity(l *arch.Layer) bool {
	if len(l.Inputs) != 1 || l.In != l.Out || l.BN || l.Bias || l.Activation != arch.Identity {
		return false
	}
	switch l.Op {
	case arch.OpAct:
		return true
	case arch.OpGlobalPool:
		return l.In.H == 1 && l.In.W == 1
	case arch.OpAvgPool:
		return l.Kernel <= 1 && l.Stride <= 1
	}
	return false
}

// keptLayers counts the layers canonical keeps, without allocating: the
// cheap first test of a Lookup.
func keptLayers(g *arch.Graph) int {
	n := 0
	for i := range g.Layers {
		if !isIdentity(&g.Layers[i]) {
			n++
		}
	}
	return n
}

// hasher is a small, fast, deterministic 64-bit hash of a stream of
// integers. It need not resist attacks (matches are confirmed with
// SameStructure); it must be cheap, because a device model that holds
// measurements fingerprints every network it prices.
type hasher struct{ s uint64 }

func (h *hasher) u64(v uint64) {
	h.s = bits.RotateLeft64(h.s^(v*0x9e3779b97f4a7c15), 29) * 0xbf58476d1ce4e5b9
}

func (h *hasher) int(v int) { h.u64(uint64(int64(v))) }

func (h *hasher) bool(b bool) {
	if b {
		h.u64(1)
	} else {
		h.u64(0)
	}
}

func (h *hasher) shape(s arch.Shape) {
	h.int(s.H)
	h.int(s.W)
	h.int(s.C)
}

func (h *hasher) str(s string) {
	h.int(len(s))
	var w uint64
	for i := 0; i < len(s); i++ {
		w = w<<8 | uint64(s[i])
		if i%8 == 7 {
			h.u64(w)
			w = 0
		}
	}
	h.u64(w)
}

// sum finalises the state (SplitMix64's finaliser), so that nearby
// states give unrelated fingerprints.
func (h *hasher) sum() uint64 {
	z := h.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// SameStructure reports whether a and b agree on everything
// FingerprintOf hashes.
func SameStructure(a, b *arch.Graph) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Resolution != b.Resolution || (len(a.Tensors) > 0) != (len(b.Tensors) > 0) ||
		len(a.Tensors) > 0 && a.Tensors[0] != b.Tensors[0] || keptLayers(a) != keptLayers(b) {
		return false
	}
	ca, cb := canonical(a), canonical(b)
	for i := range ca {
		x, y := ca[i].l, cb[i].l
		if x.Op != y.Op || x.In != y.In || x.Out != y.Out || x.Kernel != y.Kernel || x.Stride != y.Stride ||
			x.Groups != y.Groups || x.Activation != y.Activation || x.BN != y.BN || x.Bias != y.Bias ||
			x.MatMul != y.MatMul || !slices.Equal(ca[i].in, cb[i].in) {
			return false
		}
	}
	return true
}

// MeasuredNet is one whole network measured on one device.
type MeasuredNet struct {
	// Name says what was measured (a table row such as "MobileNet-V2"),
	// for errors and reports.
	Name string
	Net  *Net
	MS   float64
}

// Lookup finds a device's measured networks by structure (FingerprintOf,
// confirmed by SameStructure), so that a network built another way — a
// search-space member identical to a measured zoo model, a model under
// another name — gets its measurement. It is immutable once built and
// safe for concurrent use. A nil *Lookup holds nothing.
type Lookup struct {
	nets []MeasuredNet
	byFP map[Fingerprint][]int
	// sizes holds the sizeOf of every measured graph: a network of
	// another size cannot match, and most networks a search prices are
	// turned away by this check without being hashed.
	sizes map[graphSize]bool
}

// graphSize is a necessary condition for two graphs to have the same
// structure, cheaper to compute than a fingerprint.
type graphSize struct{ resolution, layers int }

func sizeOf(g *arch.Graph) graphSize { return graphSize{g.Resolution, keptLayers(g)} }

// NewLookup indexes measured networks. Every network needs a graph and a
// positive finite latency; two entries of the same structure are an
// error (one network, two numbers: average repeated runs first).
func NewLookup(ms []MeasuredNet) (*Lookup, error) {
	l := &Lookup{nets: make([]MeasuredNet, len(ms)), byFP: make(map[Fingerprint][]int, len(ms)), sizes: map[graphSize]bool{}}
	for i, m := range ms {
		if m.Net == nil || m.Net.Graph == nil {
			return nil, fmt.Errorf("measured network %d (%s) has no graph to identify it by", i, m.Name)
		}
		if !(m.MS > 0) || math.IsInf(m.MS, 0) {
			return nil, fmt.Errorf("measured network %d (%s): latency %g is not a positive finite number of ms", i, m.Name, m.MS)
		}
		fp := FingerprintOf(m.Net.Graph)
		for _, j := range l.byFP[fp] {
			if SameStructure(l.nets[j].Net.Graph, m.Net.Graph) {
				return nil, fmt.Errorf("measured networks %d (%s) and %d (%s) have the same structure; one network needs one latency", j, l.nets[j].Name, i, m.Name)
			}
		}
		l.nets[i] = m
		l.byFP[fp] = append(l.byFP[fp], i)
		l.sizes[sizeOf(m.Net.Graph)] = true
	}
	return l, nil
}

// Find returns the measured network with the structure of n.
func (l *Lookup) Find(n *Net) (MeasuredNet, bool) {
	if l == nil || len(l.nets) == 0 || n == nil || n.Graph == nil || !l.sizes[sizeOf(n.Graph)] {
		return MeasuredNet{}, false
	}
	for _, j := range l.byFP[FingerprintOf(n.Graph)] {
		if SameStructure(l.nets[j].Net.Graph, n.Graph) {
			return l.nets[j], true
		}
	}
	return MeasuredNet{}, false
}

// Measurement implements Measured.
func (l *Lookup) Measurement(n *Net) (float64, bool) {
	m, ok := l.Find(n)
	return m.MS, ok
}

// Len is the number of measured networks.
func (l *Lookup) Len() int {
	if l == nil {
		return 0
	}
	return len(l.nets)
}

// Nets returns the measured networks in the order they were given.
func (l *Lookup) Nets() []MeasuredNet {
	if l == nil {
		return nil
	}
	return slices.Clone(l.nets)
}

// HeldOut is one measured network predicted by a model fitted without it
// (a leave-one-out or cross-validation fold): the raw material of a
// device's Accuracy, kept so that the error of latency ratios can be
// computed for whatever reference a fleet gives the device.
type HeldOut struct {
	Name        string
	Net         *Net
	MeasuredMS  float64
	PredictedMS float64
}

// WithRatios returns a copy of a with the held-out error of the latency
// ratio a search optimises, computed from the held-out predictions the
// absolute figures came from. For each held-out network m,
//
//	predicted ratio = PredictedMS(m) / refMS        measured ratio = MeasuredMS(m) / measRefMS
//
// where refMS is the reference latency as the search divides by it
// (measured or predicted) and measRefMS the reference's measured latency
// (refMS again for a target or a measured reference). ref is the
// reference network (nil for a target in ms); held-out networks of its
// structure are left out, because a network that is the reference has
// ratio 1 by measurement, not by prediction. When no network remains, the
// ratio figures stay empty. Any previous ratio figures of a
// are replaced.
func (a Accuracy) WithRatios(held []HeldOut, ref *Net, refMS, measRefMS float64) (Accuracy, error) {
	a.RatioN, a.RatioMAPE, a.RatioWithin10 = 0, 0, 0
	for _, v := range []float64{refMS, measRefMS} {
		if !(v > 0) || math.IsInf(v, 0) {
			return a, fmt.Errorf("reference latency %g is not a positive finite number of ms", v)
		}
	}
	var within float64
	for i, h := range held {
		if ref != nil && ref.Graph != nil && h.Net != nil && SameStructure(h.Net.Graph, ref.Graph) {
			continue
		}
		if !(h.MeasuredMS > 0) || math.IsInf(h.MeasuredMS, 0) || !(h.PredictedMS >= 0) || math.IsInf(h.PredictedMS, 0) {
			return a, fmt.Errorf("held-out network %d (%s): measured %g ms, predicted %g ms; want positive finite latencies", i, h.Name, h.MeasuredMS, h.PredictedMS)
		}
		pr, mr := h.PredictedMS/refMS, h.MeasuredMS/measRefMS
		ape := math.Abs(pr-mr) / mr
		a.RatioMAPE += 100 * ape
		if ape <= 0.10+1e-12 {
			within++
		}
		a.RatioN++
	}
	if a.RatioN == 0 {
		return a, nil
	}
	a.RatioMAPE /= float64(a.RatioN)
	a.RatioWithin10 = within / float64(a.RatioN)
	return a, nil
}

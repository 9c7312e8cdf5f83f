package lut

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/fleetnas/fleetnas/data"
	"github.com/fleetnas/fleetnas/space"
)

const fbnetPath = "fbnet/fbnet_lut_cifar100.csv"

// fbnetHeader is the header of HW-NAS-Bench's FBNet table as shipped.
var fbnetHeader = []string{"device", "layer", "op", "delta_ms_vs_k3_e1"}

// FBNet returns the embedded HW-NAS-Bench FBNet table of one device
// (pixel3, raspi4, eyeriss or fpga), keyed by the signatures of the fbnet
// space's blocks at its default 32 px, 100 classes. See ReadFBNet.
func FBNet(device string) (*Table, error) {
	b, err := data.File(fbnetPath)
	if err != nil {
		return nil, err
	}
	t, err := ReadFBNet(bytes.NewReader(b), fbnetPath, device)
	if err != nil {
		return nil, err
	}
	t.Source = fmt.Sprintf("HW-NAS-Bench FBNet CIFAR-100 lookup table, %s (via HELP, MIT; data/%s)", device, fbnetPath)
	return t, nil
}

// FBNetDevices lists the devices of the embedded FBNet table.
func FBNetDevices() ([]string, error) {
	b, err := data.File(fbnetPath)
	if err != nil {
		return nil, err
	}
	rows, err := readFBNetRows(bytes.NewReader(b), fbnetPath)
	if err != nil {
		return nil, err
	}
	return rows.deviceNames(), nil
}

// ReadFBNet builds the table of one device from an HW-NAS-Bench FBNet
// table (CSV with header device,layer,op,delta_ms_vs_k3_e1). Its layer -1
// row (op "BIAS...") is the latency of the whole network with every layer
// k3_e1; every other row is the extra latency of op instead of k3_e1 at
// one of the fbnet space's 22 layers, so a network costs BIAS plus its 22
// deltas.
//
// A per-op table cannot hold per-layer deltas directly, and an identity
// skip (a layer that keeps its shape) emits no block, so it can carry no
// entry. Each layer i therefore gets a baseline b_i (the skip delta where
// skip is the identity, else the layer's smallest delta), each block
// signature the entry delta - b_i, and the table the constant BIAS + sum
// b_i; the stem, head conv, pooling and classifier get 0. Latency of a
// fbnet network then equals BIAS plus its deltas exactly. Layers that
// share a signature must share their entries, or ReadFBNet fails.
func ReadFBNet(r io.Reader, name, device string) (*Table, error) {
	rows, err := readFBNetRows(r, name)
	if err != nil {
		return nil, err
	}
	d, ok := rows.devices[device]
	if !ok {
		return nil, fmt.Errorf("%s: no device %q; the table has %s", name, device, strings.Join(rows.deviceNames(), ", "))
	}
	layout, err := fbnetLayout()
	if err != nil {
		return nil, err
	}
	if !d.hasBias {
		return nil, fmt.Errorf("%s: device %s has no BIAS row (layer -1)", name, device)
	}
	nl, no := len(layout.layers), len(layout.ops)
	for i := range nl {
		for _, op := range layout.ops {
			if _, ok := d.delta[layerOp{i, op}]; !ok {
				return nil, fmt.Errorf("%s: device %s: no row for layer %d, op %s (the table needs %d layers x %d ops)", name, device, i, op, nl, no)
			}
		}
	}
	for k, line := range d.line {
		if k.layer >= nl {
			return nil, fmt.Errorf("%s:%d: device %s: layer %d, but the fbnet space has layers 0..%d", name, line, device, k.layer, nl-1)
		}
	}
	t := New("fbnet_"+device, "", 0)
	constant := d.bias
	type origin struct {
		ms    float64
		layer int
		op    string
	}
	seen := map[string]origin{}
	set := func(s Signature, ms float64, layer int, op string) error {
		key := s.String()
		if o, dup := seen[key]; dup {
			if math.Abs(o.ms-ms) > 1e-9 {
				return fmt.Errorf("%s: device %s: layer %d op %s and layer %d op %s are the same block (%s) but cost %g and %g ms over their baselines",
					name, device, o.layer, o.op, layer, op, key, o.ms, ms)
			}
			return nil
		}
		seen[key] = origin{ms, layer, op}
		if err := t.Set(s, ms); err != nil {
			return fmt.Errorf("%s: device %s: layer %d op %s: %w", name, device, layer, op, err)
		}
		return nil
	}
	for _, s := range layout.fixed {
		if err := set(s, 0, -1, "stem/head"); err != nil {
			return nil, err
		}
	}
	for i, l := range layout.layers {
		var base float64
		if l.identity {
			base = d.delta[layerOp{i, layout.ops[layout.skip]}]
		} else {
			base = math.Inf(1)
			for _, op := range layout.ops {
				base = math.Min(base, d.delta[layerOp{i, op}])
			}
		}
		constant += base
		for o, op := range layout.ops {
			s := l.sigs[o]
			if s == nil {
				continue // the identity skip: no block, its delta is the baseline
			}
			if err := set(*s, d.delta[layerOp{i, op}]-base, i, op); err != nil {
				return nil, err
			}
		}
	}
	t.Constant = constant
	return t, nil
}

// layerOp names one row of the table.
type layerOp struct {
	layer int
	op    string
}

// fbnetDevice holds one device's rows.
type fbnetDevice struct {
	hasBias bool
	bias    float64
	delta   map[layerOp]float64
	line    map[layerOp]int
}

type fbnetRows struct {
	devices map[string]*fbnetDevice
}

func (r *fbnetRows) deviceNames() []string {
	n := make([]string, 0, len(r.devices))
	for k := range r.devices {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// fbnetOpNames are the op names the fbnet space accepts.
func fbnetOpNames() ([]string, error) {
	sp, err := space.Get("fbnet")
	if err != nil {
		return nil, err
	}
	ds := sp.Decisions()
	if len(ds) == 0 {
		return nil, errors.New("lut: the fbnet space has no decisions")
	}
	return ds[0].Choices, nil
}

// readFBNetRows parses the CSV strictly: exact header, four fields per
// row, integer layers, known ops, finite deltas, no duplicate rows.
func readFBNetRows(r io.Reader, name string) (*fbnetRows, error) {
	ops, err := fbnetOpNames()
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: empty file: want the header %s", name, strings.Join(fbnetHeader, ","))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if !slices.Equal(header, fbnetHeader) {
		return nil, fmt.Errorf("%s:1: header %q, want %s", name, strings.Join(header, ","), strings.Join(fbnetHeader, ","))
	}
	rows := &fbnetRows{devices: map[string]*fbnetDevice{}}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(fbnetHeader) {
			return nil, fmt.Errorf("%s:%d: %d fields, want %d (%s)", name, line, len(rec), len(fbnetHeader), strings.Join(fbnetHeader, ","))
		}
		dev, layerStr, op, deltaStr := rec[0], rec[1], rec[2], rec[3]
		if dev == "" {
			return nil, fmt.Errorf("%s:%d: empty device", name, line)
		}
		layer, err := strconv.Atoi(layerStr)
		if err != nil || layer < -1 || layer > 1000 {
			return nil, fmt.Errorf("%s:%d: layer %q: want -1 (BIAS) or a layer index", name, line, layerStr)
		}
		delta, err := strconv.ParseFloat(deltaStr, 64)
		if err != nil || math.IsNaN(delta) || math.IsInf(delta, 0) {
			return nil, fmt.Errorf("%s:%d: delta %q is not a finite number (ms)", name, line, deltaStr)
		}
		d := rows.devices[dev]
		if d == nil {
			d = &fbnetDevice{delta: map[layerOp]float64{}, line: map[layerOp]int{}}
			rows.devices[dev] = d
		}
		key := layerOp{layer, op}
		if layer == -1 {
			if !strings.HasPrefix(op, "BIAS") {
				return nil, fmt.Errorf("%s:%d: layer -1 is the BIAS row; op %q does not start with BIAS", name, line, op)
			}
			if delta < 0 {
				return nil, fmt.Errorf("%s:%d: BIAS %g ms is negative", name, line, delta)
			}
			key.op = "BIAS"
			d.hasBias, d.bias = true, delta
		} else if !slices.Contains(ops, op) {
			return nil, fmt.Errorf("%s:%d: unknown op %q; one of %s, or BIAS on layer -1", name, line, op, strings.Join(ops, ", "))
		}
		if first, dup := d.line[key]; dup {
			return nil, fmt.Errorf("%s:%d: device %s, layer %d, op %s appears twice (first on line %d)", name, line, dev, layer, op, first)
		}
		d.line[key] = line
		if layer >= 0 {
			d.delta[key] = delta
		}
	}
	if len(rows.devices) == 0 {
		return nil, fmt.Errorf("%s: %w (only a header)", name, errNoEntries)
	}
	return rows, nil
}

// fbnetLayerSigs is one searchable layer: the signature of each op (nil
// for the identity skip, which emits no block).
type fbnetLayerSigs struct {
	identity bool
	sigs     []*Signature
}

type fbnetLayoutSigs struct {
	ops    []string
	skip   int // index of "skip" in ops
	fixed  []Signature
	layers []fbnetLayerSigs
}

// fbnetLayout derives every (layer, op) signature from the fbnet space
// itself, by building the network that uses one op at every layer, so the
// table stays keyed exactly as the space builds its networks.
func fbnetLayout() (*fbnetLayoutSigs, error) {
	sp, err := space.Get("fbnet")
	if err != nil {
		return nil, err
	}
	ds := sp.Decisions()
	if len(ds) == 0 {
		return nil, errors.New("lut: the fbnet space has no decisions")
	}
	l := &fbnetLayoutSigs{ops: ds[0].Choices, skip: slices.Index(ds[0].Choices, "skip")}
	for _, d := range ds {
		if !slices.Equal(d.Choices, l.ops) {
			return nil, fmt.Errorf("lut: fbnet decision %s has other ops than the first", d.Name)
		}
	}
	if l.skip < 0 {
		return nil, errors.New(`lut: the fbnet space has no "skip" op`)
	}
	nl := len(ds)
	l.layers = make([]fbnetLayerSigs, nl)
	for i := range l.layers {
		l.layers[i].sigs = make([]*Signature, len(l.ops))
	}
	sigsOf := func(o int) ([]Signature, error) {
		choice := make([]int, nl)
		for i := range choice {
			choice[i] = o
		}
		n, err := sp.Network(choice, space.Options{})
		if err != nil {
			return nil, err
		}
		g, err := n.Lower(0)
		if err != nil {
			return nil, err
		}
		return Signatures(g)
	}
	const head, tail = 1, 3 // stem; head conv, pooling, classifier
	order := []int{}
	for o := range l.ops {
		if o != l.skip {
			order = append(order, o)
		}
	}
	order = append(order, l.skip) // the skip layout needs the identity layers first
	for _, o := range order {
		sigs, err := sigsOf(o)
		if err != nil {
			return nil, fmt.Errorf("lut: fbnet network of all %s: %w", l.ops[o], err)
		}
		if len(sigs) < head+tail {
			return nil, fmt.Errorf("lut: fbnet network of all %s has %d blocks", l.ops[o], len(sigs))
		}
		fixed := append(slices.Clone(sigs[:head]), sigs[len(sigs)-tail:]...)
		if l.fixed == nil {
			l.fixed = fixed
		} else if !slices.Equal(fixed, l.fixed) {
			return nil, fmt.Errorf("lut: fbnet network of all %s has another stem or head", l.ops[o])
		}
		mid := sigs[head : len(sigs)-tail]
		if o != l.skip {
			if len(mid) != nl {
				return nil, fmt.Errorf("lut: fbnet network of all %s has %d searchable blocks, want %d", l.ops[o], len(mid), nl)
			}
			for i := range mid {
				s := mid[i]
				l.layers[i].sigs[o] = &s
				l.layers[i].identity = s.Stride == 1 && s.In.C == s.Out
			}
			continue
		}
		j := 0
		for i := range l.layers {
			if l.layers[i].identity {
				continue
			}
			if j >= len(mid) {
				return nil, fmt.Errorf("lut: fbnet network of all skip has %d searchable blocks, fewer than its non-identity layers", len(mid))
			}
			s := mid[j]
			l.layers[i].sigs[o] = &s
			j++
		}
		if j != len(mid) {
			return nil, fmt.Errorf("lut: fbnet network of all skip has %d searchable blocks, want %d", len(mid), j)
		}
	}
	return l, nil
}

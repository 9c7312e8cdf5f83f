package lut

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/fleetnas/fleetnas/arch"
)

// Signature is the canonical description of one block as a latency table
// sees it: everything that changes the work the block does on a device,
// nothing else. Batch norm and conv biases are left out on purpose: mobile
// runtimes fold batch norm into the convolution's weights and bias, so a
// conv with BN and one with a bias run the same kernel.
//
// The zero value is not a valid signature; build one with Signatures or
// ParseSignature, or fill every common field.
type Signature struct {
	// Op is the arch block kind.
	Op arch.Kind
	// In is the block's input feature map.
	In arch.Shape
	// Out is the block's output channels.
	Out int
	// Kernel is the main spatial kernel (a uib's middle depthwise, 3 for
	// resnet_basic), 0 for kinds without one.
	Kernel int
	// Stride is the block's stride (1 for kinds without one).
	Stride int
	// Expanded is the width after the expand conv (ibn, fused_ibn, uib), the
	// compressed width (tucker), and In.C for every other kind or when an
	// ibn or fused_ibn has no expand conv.
	Expanded int
	// Groups of the block's 1x1 (ibn) or main (conv) convolutions; 1 when dense.
	Groups int
	// SE is the squeeze-excite reduced width, 0 without squeeze-excite.
	SE int
	// Act is the block's activation (identity for kinds without one).
	Act arch.Activation
	// Residual reports whether the block's residual add is present.
	Residual bool

	// The fields below are kind-specific and appear in the string form
	// only when they are set.

	// ExpandConv marks an ibn or fused_ibn whose expand conv is present
	// although it keeps the width (Expanded == In.C), as FBNet's IRF
	// block at expansion 1 has; without it Expanded == In.C means no
	// expand conv.
	ExpandConv bool
	// Mid is a tucker block's kxk conv width.
	Mid int
	// SEGate is the squeeze-excite gate when it is not the default hard
	// sigmoid (only "sigmoid").
	SEGate arch.Activation
	// StartDW and EndDW are a uib's start and end depthwise kernels.
	StartDW, EndDW int
	// StartDWDownsample marks a uib whose stride (> 1) is applied by the
	// start depthwise.
	StartDWDownsample bool
	// LayerScale marks a uib or mhsa with layer scale.
	LayerScale bool
	// Attention shape of an mhsa block; KVStride and KVKernel only when the
	// keys and values are downsampled.
	Heads, KeyDim, ValueDim, KVStride, KVKernel int
	MultiQuery                                  bool
	// Ops are a nb201_cell's six edge ops.
	Ops [6]string
}

// maxDim bounds every size a signature may hold, so that parsing hostile
// input cannot overflow the distance arithmetic.
const maxDim = 1 << 20

// String returns the canonical form, the table key:
//
//	<op>:in=<H>x<W>x<C>,out=<N>,k=<K>,s=<S>,exp=<E>,g=<G>,se=<R>,act=<A>,res=<0|1>[,<extra>=<v>...]
//
// The ten common fields always appear, in this order. Extras follow, in
// the fixed order expand_conv, mid, se_gate, start_dw, end_dw,
// start_dw_downsample, layer_scale, heads, key_dim, value_dim, kv_stride,
// kv_kernel, multi_query, ops, and only when set (booleans as 1; ops as the
// six edge ops joined by "|"). For example
//
//	ibn:in=112x112x24,out=32,k=3,s=2,exp=144,g=1,se=0,act=relu,res=0
//	ibn:in=28x28x48,out=48,k=5,s=1,exp=192,g=1,se=48,act=relu,res=1
//	nb201_cell:in=32x32x16,out=16,k=0,s=1,exp=16,g=1,se=0,act=identity,res=0,ops=none|skip_connect|nor_conv_1x1|nor_conv_3x3|avg_pool_3x3|none
func (s Signature) String() string {
	b := make([]byte, 0, 96)
	b = append(b, s.Op...)
	b = append(b, ":in="...)
	b = strconv.AppendInt(b, int64(s.In.H), 10)
	b = append(b, 'x')
	b = strconv.AppendInt(b, int64(s.In.W), 10)
	b = append(b, 'x')
	b = strconv.AppendInt(b, int64(s.In.C), 10)
	num := func(name string, v int) {
		b = append(b, ',')
		b = append(b, name...)
		b = append(b, '=')
		b = strconv.AppendInt(b, int64(v), 10)
	}
	flag := func(name string, v bool) {
		if v {
			num(name, 1)
		}
	}
	opt := func(name string, v int) {
		if v != 0 {
			num(name, v)
		}
	}
	num("out", s.Out)
	num("k", s.Kernel)
	num("s", s.Stride)
	num("exp", s.Expanded)
	num("g", s.Groups)
	num("se", s.SE)
	b = append(b, ",act="...)
	b = append(b, s.Act...)
	num("res", boolInt(s.Residual))
	flag("expand_conv", s.ExpandConv)
	opt("mid", s.Mid)
	if s.SEGate != "" {
		b = append(b, ",se_gate="...)
		b = append(b, s.SEGate...)
	}
	opt("start_dw", s.StartDW)
	opt("end_dw", s.EndDW)
	flag("start_dw_downsample", s.StartDWDownsample)
	flag("layer_scale", s.LayerScale)
	opt("heads", s.Heads)
	opt("key_dim", s.KeyDim)
	opt("value_dim", s.ValueDim)
	opt("kv_stride", s.KVStride)
	opt("kv_kernel", s.KVKernel)
	flag("multi_query", s.MultiQuery)
	if s.Ops != ([6]string{}) {
		b = append(b, ",ops="...)
		b = append(b, strings.Join(s.Ops[:], "|")...)
	}
	return string(b)
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

// commonFields are the ten fields every signature string starts with.
var commonFields = []string{"in", "out", "k", "s", "exp", "g", "se", "act", "res"}

// extraFields lists the optional fields in canonical order.
var extraFields = []string{"expand_conv", "mid", "se_gate", "start_dw", "end_dw", "start_dw_downsample",
	"layer_scale", "heads", "key_dim", "value_dim", "kv_stride", "kv_kernel", "multi_query", "ops"}

// extrasOf says which optional fields each kind may carry.
var extrasOf = map[arch.Kind][]string{
	arch.IBN:      {"expand_conv", "se_gate"},
	arch.FusedIBN: {"expand_conv", "se_gate"},
	arch.Tucker:   {"mid"},
	arch.UIB:      {"start_dw", "end_dw", "start_dw_downsample", "layer_scale"},
	arch.MHSA:     {"layer_scale", "heads", "key_dim", "value_dim", "kv_stride", "kv_kernel", "multi_query"},
	arch.Cell:     {"ops"},
}

// Read-only copies of arch's name lists, taken once so that validating a
// signature in a search loop does not copy them on every call. Nothing
// writes to them.
var (
	knownKinds   = arch.Kinds()
	knownActs    = arch.Activations()
	knownCellOps = arch.CellOps()
)

// validAct reports whether a is an activation a signature may name: a
// block activation, or identity for kinds without one.
func validAct(a arch.Activation) bool {
	return slices.Contains(knownActs, a)
}

// ParseSignature reads the canonical string form (see Signature.String).
// Only the canonical form is accepted: fields in order, no spaces, no
// extras that are unset or that do not apply to the kind, so that
// ParseSignature(s).String() == s for every accepted s.
func ParseSignature(str string) (Signature, error) {
	s, err := parseSignature(str)
	if err != nil {
		return Signature{}, fmt.Errorf("signature %q: %w", str, err)
	}
	return s, nil
}

func parseSignature(str string) (Signature, error) {
	var s Signature
	op, rest, ok := strings.Cut(str, ":")
	if !ok {
		return s, errors.New(`want "<op>:in=HxWxC,out=...", no ":" after the op kind`)
	}
	s.Op = arch.Kind(op)
	if !slices.Contains(knownKinds, s.Op) {
		return s, fmt.Errorf("unknown op kind %q; one of %s", op, joinKinds())
	}
	fields := strings.Split(rest, ",")
	if len(fields) < len(commonFields) {
		return s, fmt.Errorf("%d fields, want at least the %d common ones (%s)", len(fields), len(commonFields), strings.Join(commonFields, ","))
	}
	for i, name := range commonFields {
		k, v, ok := strings.Cut(fields[i], "=")
		if !ok || k != name {
			return s, fmt.Errorf("field %d is %q, want %s=...", i+1, fields[i], name)
		}
		var err error
		switch name {
		case "in":
			s.In, err = parseShape(v)
		case "out":
			s.Out, err = parseDim(v, 1)
		case "k":
			s.Kernel, err = parseDim(v, 0)
		case "s":
			s.Stride, err = parseDim(v, 1)
		case "exp":
			s.Expanded, err = parseDim(v, 1)
		case "g":
			s.Groups, err = parseDim(v, 1)
		case "se":
			s.SE, err = parseDim(v, 0)
		case "act":
			s.Act = arch.Activation(v)
			if !validAct(s.Act) {
				err = fmt.Errorf("unknown activation %q", v)
			}
		case "res":
			s.Residual, err = parseFlag(v)
		}
		if err != nil {
			return s, fmt.Errorf("field %s: %w", name, err)
		}
	}
	next := 0 // index into extraFields: extras must come in canonical order
	for _, f := range fields[len(commonFields):] {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return s, fmt.Errorf("field %q is not name=value", f)
		}
		at := slices.Index(extraFields, k)
		switch {
		case slices.Contains(commonFields, k):
			return s, fmt.Errorf("field %s appears twice", k)
		case at < 0:
			return s, fmt.Errorf("unknown field %q; the optional fields are %s", k, strings.Join(extraFields, ", "))
		case !slices.Contains(extrasOf[s.Op], k):
			return s, fmt.Errorf("field %s does not apply to a %s", k, s.Op)
		case at < next:
			return s, fmt.Errorf("field %s is out of order (canonical order: %s)", k, strings.Join(extraFields, ", "))
		}
		next = at + 1
		if err := s.setExtra(k, v); err != nil {
			return s, fmt.Errorf("field %s: %w", k, err)
		}
	}
	if err := s.validate(); err != nil {
		return s, err
	}
	return s, nil
}

// setExtra sets one optional field; unset values (0, false) are
// rejected because the canonical form omits them.
func (s *Signature) setExtra(k, v string) error {
	var err error
	switch k {
	case "expand_conv":
		s.ExpandConv, err = parseSetFlag(v)
	case "mid":
		s.Mid, err = parseDim(v, 1)
	case "se_gate":
		s.SEGate = arch.Activation(v)
		if s.SEGate != arch.Sigmoid {
			err = fmt.Errorf("%q: only sigmoid is written (hsigmoid is the default and is omitted)", v)
		}
	case "start_dw":
		s.StartDW, err = parseDim(v, 1)
	case "end_dw":
		s.EndDW, err = parseDim(v, 1)
	case "start_dw_downsample":
		s.StartDWDownsample, err = parseSetFlag(v)
	case "layer_scale":
		s.LayerScale, err = parseSetFlag(v)
	case "heads":
		s.Heads, err = parseDim(v, 1)
	case "key_dim":
		s.KeyDim, err = parseDim(v, 1)
	case "value_dim":
		s.ValueDim, err = parseDim(v, 1)
	case "kv_stride":
		s.KVStride, err = parseDim(v, 1)
	case "kv_kernel":
		s.KVKernel, err = parseDim(v, 1)
	case "multi_query":
		s.MultiQuery, err = parseSetFlag(v)
	case "ops":
		ops := strings.Split(v, "|")
		if len(ops) != 6 {
			return fmt.Errorf("%q: a cell has 6 edge ops joined by |, got %d", v, len(ops))
		}
		for i, o := range ops {
			if !slices.Contains(knownCellOps, o) {
				return fmt.Errorf("edge %d: unknown op %q; one of %s", i, o, strings.Join(knownCellOps, ", "))
			}
			s.Ops[i] = o
		}
	}
	return err
}

// validate checks ranges and the cross-field rules that the canonical
// form relies on; it is what makes String and ParseSignature inverses.
func (s *Signature) validate() error {
	if !slices.Contains(knownKinds, s.Op) {
		return fmt.Errorf("unknown op kind %q; one of %s", s.Op, joinKinds())
	}
	for _, d := range []struct {
		name string
		v    int
		min  int
	}{
		{"in height", s.In.H, 1}, {"in width", s.In.W, 1}, {"in channels", s.In.C, 1},
		{"out", s.Out, 1}, {"k", s.Kernel, 0}, {"s", s.Stride, 1}, {"exp", s.Expanded, 1},
		{"g", s.Groups, 1}, {"se", s.SE, 0}, {"mid", s.Mid, 0}, {"start_dw", s.StartDW, 0},
		{"end_dw", s.EndDW, 0}, {"heads", s.Heads, 0}, {"key_dim", s.KeyDim, 0},
		{"value_dim", s.ValueDim, 0}, {"kv_stride", s.KVStride, 0}, {"kv_kernel", s.KVKernel, 0},
	} {
		if d.v < d.min || d.v > maxDim {
			return fmt.Errorf("%s must be in %d..%d, got %d", d.name, d.min, maxDim, d.v)
		}
	}
	if !validAct(s.Act) {
		return fmt.Errorf("unknown activation %q", s.Act)
	}
	if s.SEGate != "" && s.SEGate != arch.Sigmoid {
		return fmt.Errorf("se_gate %q: only sigmoid is recorded (hsigmoid is the default)", s.SEGate)
	}
	if s.SEGate != "" && s.SE == 0 {
		return errors.New("se_gate without squeeze-excite (se=0)")
	}
	if s.ExpandConv && s.Expanded != s.In.C {
		return fmt.Errorf("expand_conv is only recorded when the expand conv keeps the width (exp=%d, in channels %d)", s.Expanded, s.In.C)
	}
	if s.StartDWDownsample && (s.StartDW == 0 || s.Stride == 1) {
		return errors.New("start_dw_downsample needs a start depthwise (start_dw) and a stride > 1")
	}
	if (s.KVStride != 0) != (s.KVKernel != 0) {
		return errors.New("kv_stride and kv_kernel come together (downsampled keys and values)")
	}
	if s.Ops != ([6]string{}) || s.Op == arch.Cell {
		for i, o := range s.Ops {
			if !slices.Contains(knownCellOps, o) {
				return fmt.Errorf("ops: edge %d: unknown cell op %q; one of %s", i, o, strings.Join(knownCellOps, ", "))
			}
		}
	}
	allowed := extrasOf[s.Op]
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"expand_conv", s.ExpandConv}, {"mid", s.Mid != 0}, {"se_gate", s.SEGate != ""},
		{"start_dw", s.StartDW != 0}, {"end_dw", s.EndDW != 0}, {"start_dw_downsample", s.StartDWDownsample},
		{"layer_scale", s.LayerScale}, {"heads", s.Heads != 0}, {"key_dim", s.KeyDim != 0},
		{"value_dim", s.ValueDim != 0}, {"kv_stride", s.KVStride != 0}, {"kv_kernel", s.KVKernel != 0},
		{"multi_query", s.MultiQuery}, {"ops", s.Ops != ([6]string{})},
	} {
		if f.set && !slices.Contains(allowed, f.name) {
			return fmt.Errorf("field %s does not apply to a %s", f.name, s.Op)
		}
	}
	return nil
}

func joinKinds() string {
	s := make([]string, len(knownKinds))
	for i, k := range knownKinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// parseDim reads a canonical decimal integer (no sign, no leading zeros)
// in min..maxDim.
func parseDim(v string, min int) (int, error) {
	if v == "" || (len(v) > 1 && v[0] == '0') || strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, fmt.Errorf("%q is not a canonical non-negative integer", v)
	}
	n, err := strconv.Atoi(v)
	if err != nil || n > maxDim {
		return 0, fmt.Errorf("%q is larger than the %d supported", v, maxDim)
	}
	if n < min {
		return 0, fmt.Errorf("%q must be at least %d", v, min)
	}
	return n, nil
}

func parseShape(v string) (arch.Shape, error) {
	p := strings.Split(v, "x")
	if len(p) != 3 {
		return arch.Shape{}, fmt.Errorf("%q is not HxWxC", v)
	}
	var d [3]int
	for i := range p {
		n, err := parseDim(p[i], 1)
		if err != nil {
			return arch.Shape{}, fmt.Errorf("shape %q: %w", v, err)
		}
		d[i] = n
	}
	return arch.Shape{H: d[0], W: d[1], C: d[2]}, nil
}

func parseFlag(v string) (bool, error) {
	switch v {
	case "0":
		return false, nil
	case "1":
		return true, nil
	}
	return false, fmt.Errorf("%q must be 0 or 1", v)
}

// parseSetFlag reads an optional boolean, which is only written when true.
func parseSetFlag(v string) (bool, error) {
	if v != "1" {
		return false, fmt.Errorf("%q: an optional flag is written only when set, as 1", v)
	}
	return true, nil
}

// Signatures returns the signature of every block of g that has layers,
// in block order. Blocks that lower to nothing contribute no signature
// (arch always emits at least one layer per block today).
func Signatures(g *arch.Graph) ([]Signature, error) {
	bs, err := blockSignatures(g)
	if err != nil {
		return nil, err
	}
	out := make([]Signature, len(bs))
	for i, b := range bs {
		out[i] = b.sig
	}
	return out, nil
}

// blockSig is a signature with the index of the block it describes.
type blockSig struct {
	block int
	sig   Signature
}

// blockSignatures computes the signatures in one pass over the layers.
func blockSignatures(g *arch.Graph) ([]blockSig, error) {
	if g == nil || g.Network == nil {
		return nil, errors.New("lut: a graph with its network is needed (lower it with arch.Network.Lower)")
	}
	n := g.Network
	if len(g.BlockOut) != len(n.Blocks) {
		return nil, fmt.Errorf("lut: the graph has %d block outputs for %d blocks", len(g.BlockOut), len(n.Blocks))
	}
	if len(g.Tensors) == 0 {
		return nil, errors.New("lut: the graph has no tensors")
	}
	out := make([]blockSig, 0, len(n.Blocks))
	li := 0
	for i := range n.Blocks {
		start := li
		for li < len(g.Layers) && g.Layers[li].Block == i {
			li++
		}
		if li == start {
			continue
		}
		in := 0
		if i > 0 {
			in = g.BlockOut[i-1]
		}
		o := g.BlockOut[i]
		if in < 0 || in >= len(g.Tensors) || o < 0 || o >= len(g.Tensors) {
			return nil, fmt.Errorf("lut: block %d: tensor ids %d, %d out of range", i, in, o)
		}
		s, err := signatureOf(&n.Blocks[i], g.Tensors[in], g.Tensors[o], g.Layers[start:li])
		if err != nil {
			return nil, fmt.Errorf("lut: block %d (%s): %w", i, n.Blocks[i].Type, err)
		}
		out = append(out, blockSig{block: i, sig: s})
	}
	if li != len(g.Layers) {
		return nil, fmt.Errorf("lut: layer %d (%s) is out of block order", li, g.Layers[li].Name)
	}
	return out, nil
}

// signatureOf derives a block's signature from its definition and its
// lowered layers. Widths that arch computes (expanded, SE, tucker widths)
// are read from the layers, so they always agree with the lowering.
func signatureOf(b *arch.Block, in, out arch.Shape, layers []arch.Layer) (Signature, error) {
	s := Signature{
		Op:       b.Type,
		In:       in,
		Out:      out.C,
		Stride:   1,
		Expanded: in.C,
		Groups:   1,
		Act:      b.Activation,
	}
	if s.Act == "" {
		s.Act = arch.Identity
	}
	part := func(name string) (arch.Layer, bool) {
		for _, l := range layers {
			if l.Part == name {
				return l, true
			}
		}
		return arch.Layer{}, false
	}
	switch b.Type {
	case arch.Conv, arch.DWSep, arch.IBN, arch.FusedIBN, arch.Tucker:
		s.Kernel, s.Stride = b.Kernel, b.StrideOrOne()
	case arch.UIB:
		s.Kernel, s.Stride = b.MiddleDW, b.StrideOrOne()
		s.StartDW, s.EndDW = b.StartDW, b.EndDW
		s.StartDWDownsample = b.StartDWDownsample && b.StartDW > 0 && s.Stride > 1
		s.LayerScale = b.LayerScale
	case arch.ResBasic:
		s.Kernel, s.Stride = 3, b.StrideOrOne()
	case arch.MHSA:
		s.Heads, s.KeyDim, s.ValueDim, s.MultiQuery, s.LayerScale = b.Heads, b.KeyDim, b.ValueDim, b.MultiQuery, b.LayerScale
		if b.KVStride > 1 {
			s.KVStride, s.KVKernel = b.KVStride, b.KVKernel
			if s.KVKernel == 0 {
				s.KVKernel = 3 // arch's default for downsampled keys and values
			}
		}
	case arch.Cell:
		if len(b.Ops) != 6 {
			return s, fmt.Errorf("a cell has 6 edge ops, got %d", len(b.Ops))
		}
		copy(s.Ops[:], b.Ops)
	}
	if b.Type == arch.Conv || b.Type == arch.IBN {
		s.Groups = max(b.Groups, 1)
	}
	switch b.Type {
	case arch.IBN, arch.FusedIBN, arch.UIB:
		if l, ok := part("expand"); ok {
			s.Expanded = l.Out.C
			s.ExpandConv = b.Type != arch.UIB && l.Out.C == in.C
		}
	case arch.Tucker:
		if l, ok := part("compress"); ok {
			s.Expanded = l.Out.C
		}
		if l, ok := part("conv"); ok {
			s.Mid = l.Out.C
		}
	}
	if l, ok := part("se.reduce"); ok {
		s.SE = l.Out.C
		if e, ok := part("se.expand"); ok && e.Activation == arch.Sigmoid {
			s.SEGate = arch.Sigmoid
		}
	}
	_, s.Residual = part("residual")
	if err := s.validate(); err != nil {
		return s, err
	}
	return s, nil
}

// distance orders table entries by how close they are to a missing
// signature: another op kind is far (100), then the log2 ratios of the
// sizes, kernel and stride differences, and one per differing flag.
func distance(a, b Signature) float64 {
	var d float64
	if a.Op != b.Op {
		d += 100
	}
	lr := func(x, y int) float64 {
		if x == y {
			return 0
		}
		return math.Abs(math.Log2(float64(max(x, 1)) / float64(max(y, 1))))
	}
	d += lr(a.In.H, b.In.H) + lr(a.In.W, b.In.W) + lr(a.In.C, b.In.C) + lr(a.Out, b.Out) + lr(a.Expanded, b.Expanded)
	d += math.Abs(float64(a.Kernel-b.Kernel))/2 + math.Abs(float64(a.Stride-b.Stride))
	d += lr(a.Groups, b.Groups) + lr(a.SE+1, b.SE+1) + lr(a.Mid+1, b.Mid+1)
	for _, diff := range []bool{
		a.Act != b.Act, a.Residual != b.Residual, a.ExpandConv != b.ExpandConv, a.SEGate != b.SEGate,
		a.StartDW != b.StartDW, a.EndDW != b.EndDW, a.StartDWDownsample != b.StartDWDownsample,
		a.LayerScale != b.LayerScale, a.Heads != b.Heads, a.KeyDim != b.KeyDim, a.ValueDim != b.ValueDim,
		a.KVStride != b.KVStride, a.KVKernel != b.KVKernel, a.MultiQuery != b.MultiQuery,
	} {
		if diff {
			d++
		}
	}
	for i := range a.Ops {
		if a.Ops[i] != b.Ops[i] {
			d++
		}
	}
	return d
}

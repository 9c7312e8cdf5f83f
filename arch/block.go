package arch

import (
	"fmt"
	"sort"
	"strings"
)

// Format is the value of the "format" field of the JSON form. It changes only
// when a released JSON file would be read differently.
const Format = "fleetnas.network/v1"

// Kind names a block type in the JSON form.
type Kind string

// The block kinds. Their fields and defaults are documented in docs/network-json.md.
const (
	// Conv is a kxk convolution, batch norm (unless bn is false) and activation.
	Conv Kind = "conv"
	// DWSep is a depthwise separable convolution: kxk depthwise + BN + act,
	// then 1x1 conv + BN + act (MobileNetV1). Residual only when asked for.
	DWSep Kind = "dwsep"
	// IBN is the inverted bottleneck: 1x1 expand (skipped when the expansion
	// ratio is <= 1), kxk depthwise, optional squeeze-excite, linear 1x1
	// projection, residual when stride 1 and input == output channels.
	IBN Kind = "ibn"
	// FusedIBN replaces the expand and depthwise convs by one kxk conv.
	FusedIBN Kind = "fused_ibn"
	// Tucker is 1x1 compress, kxk conv, linear 1x1 (MobileNet EdgeTPU V2).
	Tucker Kind = "tucker"
	// UIB is MobileNetV4's universal inverted bottleneck: optional start
	// depthwise, 1x1 expand, optional middle depthwise, 1x1 projection,
	// optional end depthwise, optional layer scale.
	UIB Kind = "uib"
	// MHSA is MobileNetV4's (multi-query) multi-head self-attention block.
	MHSA Kind = "mhsa"
	// BatchNorm is a stand-alone batch norm and activation (NAS-Bench-201's
	// last BN-ReLU before pooling).
	BatchNorm Kind = "bn"
	// GlobalPool averages over the spatial dimensions.
	GlobalPool Kind = "gpool"
	// FC is a fully connected layer on a 1x1 input.
	FC Kind = "fc"
	// Cell is a NAS-Bench-201 cell: four nodes, six edges, each edge one of
	// CellOps; channels and resolution are kept.
	Cell Kind = "nb201_cell"
	// ResBasic is the NAS-Bench-201 residual reduction block:
	// ReLU-conv3x3(stride)-BN, ReLU-conv3x3-BN, shortcut avgpool2x2 + 1x1 conv.
	ResBasic Kind = "resnet_basic"
)

// Kinds lists every block kind, in documentation order.
var kinds = []Kind{Conv, DWSep, IBN, FusedIBN, Tucker, UIB, MHSA, BatchNorm, GlobalPool, FC, Cell, ResBasic}

// Kinds returns every block kind in documentation order.
func Kinds() []Kind { return append([]Kind(nil), kinds...) }

// Activation names a nonlinearity.
type Activation string

// The activations.
const (
	ReLU      Activation = "relu"
	ReLU6     Activation = "relu6"
	HSwish    Activation = "hswish"
	Swish     Activation = "swish"
	GELU      Activation = "gelu"
	Identity  Activation = "identity"
	HSigmoid  Activation = "hsigmoid"
	Sigmoid   Activation = "sigmoid"
	noneGiven Activation = ""
)

var activations = []Activation{ReLU, ReLU6, HSwish, Swish, GELU, Identity}

// Activations returns the activations a block may use.
func Activations() []Activation { return append([]Activation(nil), activations...) }

func validActivation(a Activation) bool {
	for _, b := range activations {
		if a == b {
			return true
		}
	}
	return false
}

// CellOps are the NAS-Bench-201 edge operations, in the benchmark's order.
var cellOps = []string{"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"}

// CellOps returns the NAS-Bench-201 edge operations in the benchmark's order.
func CellOps() []string { return append([]string(nil), cellOps...) }

// Block is one entry of a network. Only the fields of its kind may be set;
// Validate says which. Zero values mean "not set" and take the documented
// default of the kind.
type Block struct {
	Type       Kind       `json:"type"`
	Kernel     int        `json:"kernel,omitempty"`
	Stride     int        `json:"stride,omitempty"`
	Filters    int        `json:"filters,omitempty"`
	Activation Activation `json:"activation,omitempty"`
	// Groups splits the 1x1 convolutions of an ibn (FBNet's g2 ops) or a
	// conv into groups; 0 or 1 means dense.
	Groups int `json:"groups,omitempty"`
	// Expansion is the expanded width relative to the block's input
	// channels, rounded with MakeDivisible(in*expansion, divisor).
	Expansion float64 `json:"expansion,omitempty"`
	// ExpandAlways keeps an ibn's 1x1 expand conv at expansion <= 1, as
	// FBNet's IRF block does; Model Garden drops it.
	ExpandAlways bool `json:"expand_always,omitempty"`
	// SERatio enables squeeze-excite with reduced width
	// MakeDivisible(max(1, int(expanded*ratio)), divisor).
	SERatio float64 `json:"se_ratio,omitempty"`
	// SEGate is the SE gating function: hsigmoid (default) or sigmoid.
	SEGate Activation `json:"se_gate,omitempty"`
	// Residual: absent = add the input when stride is 1 and input and
	// output channels match (dwsep: never); true = require it; false = never.
	Residual *bool `json:"residual,omitempty"`
	// BN: absent = batch norm after each conv (true); false = none.
	BN *bool `json:"bn,omitempty"`
	// Bias: absent = no conv bias (conv) / a bias (fc).
	Bias *bool `json:"bias,omitempty"`

	// Tucker widths: MakeDivisible(in*InputRatio) and MakeDivisible(filters*OutputRatio).
	InputRatio  float64 `json:"input_ratio,omitempty"`
	OutputRatio float64 `json:"output_ratio,omitempty"`

	// UIB depthwise kernels (0 = absent) and where the stride is applied.
	StartDW  int `json:"start_dw,omitempty"`
	MiddleDW int `json:"middle_dw,omitempty"`
	EndDW    int `json:"end_dw,omitempty"`
	// StartDWDownsample puts a UIB's stride on the start depthwise instead
	// of the middle one (Model Garden's middle_dw_downsample=False).
	StartDWDownsample bool `json:"start_dw_downsample,omitempty"`
	// LayerScale multiplies a UIB or MHSA output by a trainable per-channel
	// vector before the residual add.
	LayerScale bool `json:"layer_scale,omitempty"`

	// Attention (mhsa).
	Heads      int  `json:"heads,omitempty"`
	KeyDim     int  `json:"key_dim,omitempty"`
	ValueDim   int  `json:"value_dim,omitempty"`
	KVStride   int  `json:"kv_stride,omitempty"`
	KVKernel   int  `json:"kv_kernel,omitempty"`
	MultiQuery bool `json:"multi_query,omitempty"`

	// Ops are a nb201_cell's six edge operations in NAS-Bench-201 order:
	// 0->1, 0->2, 1->2, 0->3, 1->3, 2->3.
	Ops []string `json:"ops,omitempty"`
}

// Network is an ordered list of blocks applied to a square input image.
type Network struct {
	Format string `json:"format"`
	Name   string `json:"name,omitempty"`
	// Resolution is the native input resolution; cost and latency can be
	// asked for at any other.
	Resolution    int `json:"resolution"`
	InputChannels int `json:"input_channels,omitempty"`
	// Divisor rounds expanded and squeeze-excite widths (Model Garden's
	// divisible_by): 8 when absent, 1 for MobileNetV1.
	Divisor int     `json:"divisor,omitempty"`
	Blocks  []Block `json:"blocks"`
}

// Bool returns a pointer to b, for the optional boolean fields.
func Bool(b bool) *bool { return &b }

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

// HasBN reports whether the block's convolutions are followed by batch norm.
func (b *Block) HasBN() bool { return boolOr(b.BN, true) }

// HasBias reports whether the block's convolutions (or fc) carry a bias.
func (b *Block) HasBias() bool { return boolOr(b.Bias, b.Type == FC) }

// StrideOrOne returns the stride, 1 when unset.
func (b *Block) StrideOrOne() int {
	if b.Stride == 0 {
		return 1
	}
	return b.Stride
}

// InChannels returns the input channels of the network (3 when unset).
func (n *Network) InChannels() int {
	if n.InputChannels == 0 {
		return 3
	}
	return n.InputChannels
}

// Div returns the width divisor (8 when unset).
func (n *Network) Div() int {
	if n.Divisor == 0 {
		return 8
	}
	return n.Divisor
}

// Clone returns a deep copy, so that callers may edit a network they were given.
func (n *Network) Clone() *Network {
	c := *n
	c.Blocks = make([]Block, len(n.Blocks))
	for i, b := range n.Blocks {
		c.Blocks[i] = b.clone()
	}
	return &c
}

func (b Block) clone() Block {
	cp := func(p *bool) *bool {
		if p == nil {
			return nil
		}
		v := *p
		return &v
	}
	b.Residual, b.BN, b.Bias = cp(b.Residual), cp(b.BN), cp(b.Bias)
	if b.Ops != nil {
		b.Ops = append([]string(nil), b.Ops...)
	}
	return b
}

// BlockError is a validation error that names the offending block and field.
type BlockError struct {
	Index int    // position in Network.Blocks
	Type  Kind   // the block's kind, if known
	Field string // JSON field name, empty when the block as a whole is wrong
	Msg   string
}

func (e *BlockError) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "block %d", e.Index)
	if e.Type != "" {
		fmt.Fprintf(&sb, " (%s)", e.Type)
	}
	if e.Field != "" {
		fmt.Fprintf(&sb, ": field %q", e.Field)
	}
	sb.WriteString(": ")
	sb.WriteString(e.Msg)
	return sb.String()
}

func joinNames[T ~string](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}

func kindNames() string       { return joinNames(kinds) }
func activationNames() string { return joinNames(activations) }

// fieldsOf lists the JSON fields each kind accepts besides "type".
var fieldsOf = map[Kind][]string{
	Conv:       {"kernel", "stride", "filters", "activation", "groups", "bn", "bias"},
	DWSep:      {"kernel", "stride", "filters", "activation", "residual", "bn"},
	IBN:        {"kernel", "stride", "filters", "activation", "groups", "expansion", "expand_always", "se_ratio", "se_gate", "residual"},
	FusedIBN:   {"kernel", "stride", "filters", "activation", "expansion", "se_ratio", "se_gate", "residual"},
	Tucker:     {"kernel", "stride", "filters", "activation", "input_ratio", "output_ratio", "residual"},
	UIB:        {"stride", "filters", "activation", "expansion", "start_dw", "middle_dw", "end_dw", "start_dw_downsample", "layer_scale", "residual"},
	MHSA:       {"filters", "heads", "key_dim", "value_dim", "kv_stride", "kv_kernel", "multi_query", "layer_scale"},
	BatchNorm:  {"activation"},
	GlobalPool: {},
	FC:         {"filters", "activation", "bias"},
	Cell:       {"filters", "ops"},
	ResBasic:   {"stride", "filters"},
}

// setFields returns the JSON names of the fields that are set (non-zero).
func (b *Block) setFields() []string {
	var s []string
	add := func(cond bool, name string) {
		if cond {
			s = append(s, name)
		}
	}
	add(b.Kernel != 0, "kernel")
	add(b.Stride != 0, "stride")
	add(b.Filters != 0, "filters")
	add(b.Activation != noneGiven, "activation")
	add(b.Groups != 0, "groups")
	add(b.Expansion != 0, "expansion")
	add(b.ExpandAlways, "expand_always")
	add(b.SERatio != 0, "se_ratio")
	add(b.SEGate != noneGiven, "se_gate")
	add(b.Residual != nil, "residual")
	add(b.BN != nil, "bn")
	add(b.Bias != nil, "bias")
	add(b.InputRatio != 0, "input_ratio")
	add(b.OutputRatio != 0, "output_ratio")
	add(b.StartDW != 0, "start_dw")
	add(b.MiddleDW != 0, "middle_dw")
	add(b.EndDW != 0, "end_dw")
	add(b.StartDWDownsample, "start_dw_downsample")
	add(b.LayerScale, "layer_scale")
	add(b.Heads != 0, "heads")
	add(b.KeyDim != 0, "key_dim")
	add(b.ValueDim != 0, "value_dim")
	add(b.KVStride != 0, "kv_stride")
	add(b.KVKernel != 0, "kv_kernel")
	add(b.MultiQuery, "multi_query")
	add(b.Ops != nil, "ops")
	return s
}

// FieldsOf returns the JSON fields a kind accepts (besides "type"), sorted.
func FieldsOf(k Kind) []string {
	f := append([]string(nil), fieldsOf[k]...)
	sort.Strings(f)
	return f
}

// Package zoo builds the reference MobileNets — V1, V2, V3-Large/Small,
// EdgeTPU, Multi-AVG/MAX (Chu et al.'s multi-hardware models), their
// segmentation variants and MobileNetV4 Conv-S/M/L and Hybrid-M/L — as
// arch networks at any width multiplier, input resolution and class count.
//
// The block tables are TensorFlow Model Garden's (official/vision/modeling/
// backbones/mobilenet.py), embedded from data/models/reference_models.json,
// and they are read with Model Garden's rules: width rounding by
// make_divisible with the finegrain last-layer exemption, divisor 1 for
// MobileNetV1, expansion widths derived from the already-rounded input
// channels, residuals only where shapes allow. The classifier head is
// global pooling and a dense layer, as in Model Garden's
// ClassificationModel.
package zoo

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/data"
)

// Options choose the variant of a reference model.
type Options struct {
	// Width is the width multiplier (Model Garden's filter_size_scale);
	// 0 means 1.0.
	Width float64
	// Resolution of the input image; 0 means the model's native one.
	Resolution int
	// Classes of the classifier head; 0 means 1000. Ignored with Backbone.
	Classes int
	// Backbone drops the classifier head (what Model Garden's
	// backbone.count_params() counts).
	Backbone bool
}

// Info describes a reference model.
type Info struct {
	Name string `json:"name"`
	// Resolution is the native input resolution (224 except the larger
	// MobileNetV4 models, which the MobileNetV4 paper evaluates at 256 and 384).
	Resolution int      `json:"resolution"`
	Notes      []string `json:"notes,omitempty"`
}

// nativeResolution holds the MobileNetV4 paper's evaluation resolutions
// (Qin et al. 2024, Table 5); every other model is 224.
var nativeResolution = map[string]int{
	"MobileNetV4ConvMedium":    256,
	"MobileNetV4ConvLarge":     384,
	"MobileNetV4HybridMedium":  256,
	"MobileNetV4HybridLarge":   384,
	"MobileNetV4ConvMediumSeg": 256,
}

type spec struct {
	Name       string      `json:"name"`
	SpecName   string      `json:"spec_name"`
	Blocks     []specBlock `json:"blocks"`
	ModelNotes []string    `json:"model_notes"`
}

type specBlock struct {
	BlockFn            string   `json:"block_fn"`
	KernelSize         *int     `json:"kernel_size"`
	Strides            *int     `json:"strides"`
	Filters            *int     `json:"filters"`
	UseBias            *bool    `json:"use_bias"`
	UseNormalization   *bool    `json:"use_normalization"`
	Activation         *string  `json:"activation"`
	ExpandRatio        *float64 `json:"expand_ratio"`
	SERatio            *float64 `json:"se_ratio"`
	UseDepthwise       *bool    `json:"use_depthwise"`
	UseResidual        *bool    `json:"use_residual"`
	MiddleDWDownsample *bool    `json:"middle_dw_downsample"`
	StartDW            int      `json:"start_dw_kernel_size"`
	MiddleDW           int      `json:"middle_dw_kernel_size"`
	EndDW              int      `json:"end_dw_kernel_size"`
	UseLayerScale      bool     `json:"use_layer_scale"`
	UseMultiQuery      bool     `json:"use_multi_query"`
	DownsamplingDW     int      `json:"downsampling_dw_kernel_size"`
	NumHeads           int      `json:"num_heads"`
	KeyDim             int      `json:"key_dim"`
	ValueDim           int      `json:"value_dim"`
	QueryHStrides      int      `json:"query_h_strides"`
	QueryWStrides      int      `json:"query_w_strides"`
	KVStrides          int      `json:"kv_strides"`
}

// Zoo is the set of reference models, parsed once from the embedded specs.
// It is immutable after New and safe for concurrent use.
type Zoo struct {
	specs map[string]spec
	order []string
}

// New parses the embedded reference specs.
func New() (*Zoo, error) {
	var file struct {
		Models []spec `json:"models"`
	}
	if err := json.Unmarshal(data.MustFile("models/reference_models.json"), &file); err != nil {
		return nil, fmt.Errorf("embedded reference_models.json: %w", err)
	}
	z := &Zoo{specs: map[string]spec{}}
	for _, m := range file.Models {
		z.specs[m.Name] = m
		z.order = append(z.order, m.Name)
	}
	return z, nil
}

// Names returns the model names in Model Garden's order.
func (z *Zoo) Names() []string { return append([]string(nil), z.order...) }

// Info returns a model's description.
func (z *Zoo) Info(name string) (Info, error) {
	s, err := z.lookup(name)
	if err != nil {
		return Info{}, err
	}
	return Info{Name: s.Name, Resolution: native(s.Name), Notes: s.ModelNotes}, nil
}

func native(name string) int {
	if r, ok := nativeResolution[name]; ok {
		return r
	}
	return 224
}

// aliases accept the names people type; keys are lower case without
// separators.
var aliases = map[string]string{
	"mobilenetv1": "MobileNetV1", "mobilenetv2": "MobileNetV2",
	"mobilenetv3large": "MobileNetV3Large", "mobilenetv3small": "MobileNetV3Small",
	"mobilenetedgetpu": "MobileNetV3EdgeTPU", "edgetpu": "MobileNetV3EdgeTPU",
	"multiavg": "MobileNetMultiAVG", "multimax": "MobileNetMultiMAX",
	"mobilenetmultihwavg": "MobileNetMultiAVG", "mobilenetmultihwmax": "MobileNetMultiMAX",
	"mnv4convs": "MobileNetV4ConvSmall", "mnv4convm": "MobileNetV4ConvMedium", "mnv4convl": "MobileNetV4ConvLarge",
	"mnv4hybridm": "MobileNetV4HybridMedium", "mnv4hybridl": "MobileNetV4HybridLarge",
}

func normalise(s string) string {
	return strings.NewReplacer("-", "", "_", "", " ", "", ".", "").Replace(strings.ToLower(s))
}

func (z *Zoo) lookup(name string) (spec, error) {
	if s, ok := z.specs[name]; ok {
		return s, nil
	}
	key := normalise(name)
	for n, s := range z.specs {
		if normalise(n) == key {
			return s, nil
		}
	}
	if n, ok := aliases[key]; ok {
		return z.specs[n], nil
	}
	names := z.Names()
	sort.Strings(names)
	return spec{}, fmt.Errorf("unknown model %q; one of %s", name, strings.Join(names, ", "))
}

var activationOf = map[string]arch.Activation{
	"relu": arch.ReLU, "relu6": arch.ReLU6, "hard_swish": arch.HSwish,
	"swish": arch.Swish, "gelu": arch.GELU, "linear": arch.Identity,
}

// Build returns a reference model as a network.
func (z *Zoo) Build(name string, opt Options) (*arch.Network, error) {
	s, err := z.lookup(name)
	if err != nil {
		return nil, err
	}
	width := opt.Width
	if width == 0 {
		width = 1
	}
	if math.IsNaN(width) || width <= 0 || width > 8 {
		return nil, fmt.Errorf("width multiplier must be in (0, 8], got %g", opt.Width)
	}
	if opt.Classes < 0 {
		return nil, fmt.Errorf("classes must be positive, got %d", opt.Classes)
	}
	isV1 := s.SpecName == "MobileNetV1"
	div := 8
	if isV1 {
		div = 1
	}
	n := &arch.Network{Format: arch.Format, Name: s.Name, Resolution: native(s.Name), Divisor: div}
	if width != 1 {
		n.Name = fmt.Sprintf("%s-%gx", s.Name, width)
	}
	if opt.Resolution != 0 {
		n.Resolution = opt.Resolution
	}
	for i, sb := range s.Blocks {
		b, err := convert(sb, width, div, i == len(s.Blocks)-1 && !isV1 && width < 1)
		if err != nil {
			return nil, fmt.Errorf("%s block %d (%s): %w", s.Name, i, sb.BlockFn, err)
		}
		n.Blocks = append(n.Blocks, b)
	}
	if !opt.Backbone {
		classes := opt.Classes
		if classes == 0 {
			classes = 1000
		}
		n.Blocks = append(n.Blocks, arch.Block{Type: arch.GlobalPool}, arch.Block{Type: arch.FC, Filters: classes})
	}
	if err := n.Validate(); err != nil {
		return nil, fmt.Errorf("%s at width %g, resolution %d: %w", s.Name, width, n.Resolution, err)
	}
	return n, nil
}

// convert maps one Model Garden BlockSpec to an arch block, scaling its
// filters by the width multiplier (the last block keeps its width when
// exempt, Model Garden's finegrain_classification_mode).
func convert(sb specBlock, width float64, div int, exempt bool) (arch.Block, error) {
	var b arch.Block
	act := arch.ReLU6
	if sb.Activation != nil {
		a, ok := activationOf[*sb.Activation]
		if !ok {
			return b, fmt.Errorf("unknown activation %q", *sb.Activation)
		}
		act = a
	}
	ival := func(p *int, def int) int {
		if p == nil {
			return def
		}
		return *p
	}
	filters := 0
	if sb.Filters != nil && *sb.Filters > 0 {
		f := float64(*sb.Filters)
		if exempt {
			f /= width
		}
		filters = arch.MakeDivisible(f*width, div, 8)
	}
	stride := ival(sb.Strides, 1)
	if stride == 1 {
		stride = 0 // the JSON default
	}
	expand := 6.0
	if sb.ExpandRatio != nil {
		expand = *sb.ExpandRatio
	}
	residual := func() *bool {
		if sb.UseResidual != nil && !*sb.UseResidual {
			return arch.Bool(false)
		}
		return nil
	}
	se := 0.0
	if sb.SERatio != nil && *sb.SERatio > 0 && *sb.SERatio <= 1 {
		se = *sb.SERatio
	}
	switch sb.BlockFn {
	case "convbn":
		b = arch.Block{Type: arch.Conv, Kernel: ival(sb.KernelSize, 3), Stride: stride, Filters: filters, Activation: act}
		if sb.UseNormalization != nil && !*sb.UseNormalization {
			b.BN = arch.Bool(false)
		}
		if sb.UseBias != nil && *sb.UseBias {
			b.Bias = arch.Bool(true)
		}
	case "depsepconv":
		b = arch.Block{Type: arch.DWSep, Kernel: ival(sb.KernelSize, 3), Stride: stride, Filters: filters, Activation: act}
	case "invertedbottleneck", "fused_ib":
		kind := arch.IBN
		if sb.BlockFn == "fused_ib" || (sb.UseDepthwise != nil && !*sb.UseDepthwise) {
			kind = arch.FusedIBN
		}
		b = arch.Block{Type: kind, Kernel: ival(sb.KernelSize, 3), Stride: stride, Filters: filters,
			Activation: act, Expansion: expand, SERatio: se, Residual: residual()}
	case "uib":
		b = arch.Block{Type: arch.UIB, Stride: stride, Filters: filters, Activation: act, Expansion: expand,
			StartDW: sb.StartDW, MiddleDW: sb.MiddleDW, EndDW: sb.EndDW,
			StartDWDownsample: stride > 1 && sb.MiddleDWDownsample != nil && !*sb.MiddleDWDownsample,
			LayerScale:        sb.UseLayerScale, Residual: residual()}
	case "mhsa":
		if sb.QueryHStrides > 1 || sb.QueryWStrides > 1 {
			return b, fmt.Errorf("query strides > 1 are not supported")
		}
		b = arch.Block{Type: arch.MHSA, Heads: sb.NumHeads, KeyDim: sb.KeyDim, ValueDim: sb.ValueDim,
			MultiQuery: sb.UseMultiQuery, LayerScale: sb.UseLayerScale}
		if sb.KVStrides > 1 {
			b.KVStride = sb.KVStrides
			b.KVKernel = sb.DownsamplingDW
		}
	case "gpooling":
		b = arch.Block{Type: arch.GlobalPool}
	default:
		return b, fmt.Errorf("unsupported block_fn %q", sb.BlockFn)
	}
	return b, nil
}

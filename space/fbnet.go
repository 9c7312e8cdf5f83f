package space

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fleetnas/fleetnas/arch"
)

// fbnetOps are the nine candidate ops of every searchable layer, in
// HW-NAS-Bench's PRIMITIVES order (the op index of its op_idx_list):
// kernel, expansion, and g2 for grouped (2 groups) 1x1 convolutions.
var fbnetOps = []string{"k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip"}

// fbnetOp is what an op name means for the IRF block.
type fbnetOp struct {
	kernel, expansion, groups int
	skip                      bool
}

// fbnetOpSpecs follows fbnetOps index for index.
var fbnetOpSpecs = []fbnetOp{
	{3, 1, 1, false}, {3, 1, 2, false}, {3, 3, 1, false}, {3, 6, 1, false},
	{5, 1, 1, false}, {5, 1, 2, false}, {5, 3, 1, false}, {5, 6, 1, false},
	{skip: true},
}

// The FBNet macro architecture as HW-NAS-Bench builds it for CIFAR-100
// (hw_nas_bench_api/fbnet_models/model_infer.py, FBNet_Infer with a
// "cifar" dataset): FBNet-v1 stage widths and depths, but a stride-1 stem
// and stride 1 in the second stage, so that a 32x32 input ends at 4x4
// instead of collapsing to 1x1, and a 1504-wide head instead of 1984.
const (
	fbnetStem   = 16
	fbnetHead   = 1504
	fbnetLayers = 22
)

var (
	fbnetStageChannels = []int{16, 24, 32, 64, 112, 184, 352}
	fbnetStageDepths   = []int{1, 4, 4, 4, 4, 4, 1}
	fbnetStageStrides  = []int{1, 1, 2, 2, 1, 2, 1}
)

// fbnetLayer is the shape of one searchable layer.
type fbnetLayer struct {
	in, out, stride int
}

// fbnetLayout lists the 22 searchable layers: the first layer of a stage
// takes the previous stage's width (the stem's for stage 1) and the
// stage's stride; the others keep the width at stride 1.
func fbnetLayout() []fbnetLayer {
	ls := make([]fbnetLayer, 0, fbnetLayers)
	in := fbnetStem
	for s, c := range fbnetStageChannels {
		for i := range fbnetStageDepths[s] {
			st := 1
			if i == 0 {
				st = fbnetStageStrides[s]
			}
			ls = append(ls, fbnetLayer{in: in, out: c, stride: st})
			in = c
		}
	}
	return ls
}

// fbnet is HW-NAS-Bench's FBNet search space on CIFAR-100.
type fbnet struct{}

// newFBNet returns the FBNet space.
func newFBNet() Space { return fbnet{} }

// Name is the space's identifier.
func (fbnet) Name() string { return "fbnet" }

// Description says what the space is and where it comes from.
func (fbnet) Description() string {
	return "FBNet space on CIFAR-100 as in HW-NAS-Bench: 22 layers x 9 ops (IRF k3/k5, e1/e3/e6, g2, skip) (Wu et al., CVPR 2019; Li et al., ICLR 2021)"
}

// Decisions lists the 22 searchable layers in network order, each with
// the nine ops in HW-NAS-Bench's order.
func (fbnet) Decisions() []Decision {
	ds := make([]Decision, fbnetLayers)
	for i := range ds {
		ds[i] = Decision{Name: fmt.Sprintf("layer_%d", i), Choices: slices.Clone(fbnetOps)}
	}
	return ds
}

// DefaultResolution is CIFAR-100's 32 pixels.
func (fbnet) DefaultResolution() int { return 32 }

// DefaultClasses is CIFAR-100's 100.
func (fbnet) DefaultClasses() int { return 100 }

// Network builds HW-NAS-Bench's CIFAR-100 FBNet: a 3x3 conv (stride 1, 16
// channels, BN, ReLU), the 22 searchable layers, a 1x1 conv to 1504
// channels (BN, ReLU), global pooling and the classifier. Other
// resolutions reuse this layout (HW-NAS-Bench's ImageNet layout differs).
//
// A searchable layer is FBNet's IRF block, an arch ibn with the 1x1 expand
// conv kept even at expansion 1 (expand_always), 2-group 1x1 convs (and
// the channel shuffle arch adds after the expand) for the g2 ops, ReLU, and
// the residual when the layer keeps its shape. "skip" is the identity, so
// no block, on a layer that keeps its shape; on a layer that changes width
// or strides it is a 1x1 conv with that stride, BN and ReLU, as
// HW-NAS-Bench's Skip op does.
func (s fbnet) Network(choice []int, opt Options) (*arch.Network, error) {
	name, err := s.Format(choice)
	if err != nil {
		return nil, err
	}
	res, classes, err := defaultedOptions(s, opt)
	if err != nil {
		return nil, err
	}
	blocks := []arch.Block{{Type: arch.Conv, Kernel: 3, Filters: fbnetStem, Activation: arch.ReLU}}
	for i, l := range fbnetLayout() {
		op := fbnetOpSpecs[choice[i]]
		stride := 0 // arch's "unset" is stride 1; keep the JSON form minimal
		if l.stride != 1 {
			stride = l.stride
		}
		switch {
		case op.skip && l.stride == 1 && l.in == l.out:
			continue
		case op.skip:
			blocks = append(blocks, arch.Block{Type: arch.Conv, Kernel: 1, Stride: stride, Filters: l.out, Activation: arch.ReLU})
		default:
			b := arch.Block{
				Type:         arch.IBN,
				Kernel:       op.kernel,
				Stride:       stride,
				Filters:      l.out,
				Activation:   arch.ReLU,
				Expansion:    float64(op.expansion),
				ExpandAlways: true,
			}
			if op.groups > 1 {
				b.Groups = op.groups
			}
			blocks = append(blocks, b)
		}
	}
	blocks = append(blocks,
		arch.Block{Type: arch.Conv, Kernel: 1, Filters: fbnetHead, Activation: arch.ReLU},
		arch.Block{Type: arch.GlobalPool},
		arch.Block{Type: arch.FC, Filters: classes},
	)
	return validated(&arch.Network{
		Format:     arch.Format,
		Name:       "fbnet:" + name,
		Resolution: res,
		// HW-NAS-Bench widens to exactly in*expansion; divisor 1 keeps
		// arch's width rounding from changing that.
		Divisor: 1,
		Blocks:  blocks,
	}, opt)
}

// Format returns the 22 op names separated by single spaces, as in the
// ops column of the embedded FBNet benchmark.
func (s fbnet) Format(choice []int) (string, error) {
	if err := Check(s, choice); err != nil {
		return "", err
	}
	names := make([]string, len(choice))
	for i, c := range choice {
		names[i] = fbnetOps[c]
	}
	return strings.Join(names, " "), nil
}

// Parse reads 22 op names. They are separated by whitespace or, when the
// string contains a comma, by commas (with optional spaces around each
// name), because architectures are often pasted from Python lists or CSV
// cells; an empty name between two commas is an error, not skipped.
func (s fbnet) Parse(str string) ([]int, error) {
	var names []string
	if strings.Contains(str, ",") {
		names = strings.Split(str, ",")
		for i := range names {
			names[i] = strings.TrimSpace(names[i])
			if names[i] == "" {
				return nil, fmt.Errorf("fbnet: %q: op %d is empty (two commas in a row, or a trailing comma)", str, i)
			}
		}
	} else {
		names = strings.Fields(str)
	}
	if len(names) != fbnetLayers {
		return nil, fmt.Errorf("fbnet: %q: want %d op names (one per layer), got %d", str, fbnetLayers, len(names))
	}
	choice := make([]int, len(names))
	for i, n := range names {
		c := slices.Index(fbnetOps, n)
		if c < 0 {
			return nil, fmt.Errorf("fbnet: %q: layer %d: unknown op %q; one of %s", str, i, n, strings.Join(fbnetOps, ", "))
		}
		choice[i] = c
	}
	return choice, nil
}

package space

import (
	"fmt"

	"github.com/fleetnas/fleetnas/arch"
)

// mnv3Like is TuNAS's MobileNetV3-like search space (Bender et al., CVPR
// 2020, "Can weight sharing outperform random architecture search?";
// google-research/tunas mobile_search_space_v3.py, mobilenet_v3_like_search):
//
//   - stem: conv (kernel 3 or 5) stride 2, hard-swish, then an optional
//     residual separable conv (kernel 3, 5 or 7; ReLU; linear 1x1);
//   - five stages with strides 2,2,2,1,2 and base widths 16,32,64,128,256:
//     a mandatory inverted bottleneck (the stride; no residual, even where
//     the shapes would allow one) and three optional residual ones, each
//     with kernel {3,5,7}, expansion {1..6} relative to its input (TuNAS
//     keeps the 1x1 expand conv at expansion 1) and squeeze-excite on or
//     off (ratio 0.25 of the expanded width rounded to 8, ReLU inside,
//     sigmoid gate); stages 1-2 use ReLU, stages 3-5 hard-swish;
//   - head: conv 1x1 (base 512) + BN + hard-swish, global pool, conv 1x1
//     (base 1024, bias, no BN) + hard-swish, classifier.
//
// Every block width (stem, stages and both head convs) is its own
// decision among the distinct values of TuNAS's scale_filters(base, m, 8)
// (round half up to a multiple of 8) over m in {0.5, 0.625, 0.75, 1, 1.25,
// 1.5, 2}, de-duplicated as TuNAS does. TuNAS's separate skip, kernel,
// expansion and SE choices of an optional layer are folded into one op
// decision, so that no decision is ever irrelevant.
//
// Canonical string: seven "/"-separated segments,
//
//	<width>:conv<3|5>,<sep> / <width>:<op>,<op>,<op>,<op> (x5) / head:<width>,<width>
//
// <sep> is "skip", "sep3", "sep5" or "sep7"; <op> is
// k<kernel>e<expansion> with an "se" suffix when squeeze-excite is on
// (k5e3se), or "skip" for the three optional layers of a stage. Widths are
// channel counts. Example (a member with MobileNetV3-Large-like choices):
//
//	16:conv3,sep3/24:k3e4,k3e3,skip,skip/48:k5e3se,k5e3se,k5e3se,skip/96:k3e6,k3e3,k3e2,k3e2/128:k3e6se,k3e6se,skip,skip/160:k5e6se,k5e6se,k5e6se,skip/head:1024,1280
type mnv3Like struct {
	mobileGrammar
	stemWidth, stemKernel, stemSep int
	stages                         []mobileStage
	headConv, headFinal            int
}

// tunasScaleFilters is TuNAS's scale_filters: filters*multiplier rounded
// half up to a multiple of base, at least base. Unlike Model Garden's
// make_divisible it has no 10% round-down protection; over this space's
// bases and multipliers both give the same set of widths.
func tunasScaleFilters(filters int, multiplier float64, base int) int {
	return max(int(float64(filters)*multiplier/float64(base)+0.5)*base, base)
}

func newMNV3Like() Space {
	s := &mnv3Like{mobileGrammar: mobileGrammar{space: "mnv3like", description: "TuNAS MobileNetV3-like space (Bender et al. 2020): per-block widths, kernel 3/5/7, expansion 1-6, optional SE, hard-swish in later stages, skippable layers"}}
	g := &s.mobileGrammar
	s.stemWidth = g.decideWidths("stem/width", mobileWidths(16, tunasScaleFilters))
	s.stemKernel = g.decide("stem/kernel", []string{"conv3", "conv5"})
	s.stemSep = g.decide("stem/sep", []string{"skip", "sep3", "sep5", "sep7"})
	g.segment("stem", "<width>:<conv3|conv5>,<skip|sep3|sep5|sep7>", s.stemWidth, "", s.stemKernel, s.stemSep)
	kernels, exps := []int{3, 5, 7}, []int{1, 2, 3, 4, 5, 6}
	first := mobileOpChoices(kernels, exps, true, false)
	optional := mobileOpChoices(kernels, exps, true, true)
	strides := [5]int{2, 2, 2, 1, 2}
	for i, base := range [5]int{16, 32, 64, 128, 256} {
		name := fmt.Sprintf("stage%d", i+1)
		st := mobileStage{stride: strides[i]}
		st.width = g.decideWidths(name+"/width", mobileWidths(base, tunasScaleFilters))
		st.layers = append(st.layers, g.decideOps(name+"/layer1", first))
		for j := 2; j <= 4; j++ {
			st.layers = append(st.layers, g.decideOps(fmt.Sprintf("%s/layer%d", name, j), optional))
		}
		s.stages = append(s.stages, st)
		g.segment(name, "<width>:<op>,<op>,<op>,<op>", st.width, "", st.layers...)
	}
	s.headConv = g.decideWidths("head/conv", mobileWidths(512, tunasScaleFilters))
	s.headFinal = g.decideWidths("head/final", mobileWidths(1024, tunasScaleFilters))
	g.segment("head", "head:<width>,<width>", -1, "head", s.headConv, s.headFinal)
	return s
}

// Network builds the network of a choice vector; it is validated before
// it is returned, so a caller never receives one that cannot be lowered.
func (s *mnv3Like) Network(choice []int, opt Options) (*arch.Network, error) {
	str, res, classes, err := s.start(choice, opt)
	if err != nil {
		return nil, err
	}
	stem := s.width(s.stemWidth, choice)
	blocks := []arch.Block{{Type: arch.Conv, Kernel: 3 + 2*choice[s.stemKernel], Stride: 2, Filters: stem, Activation: arch.HSwish}}
	if sep := choice[s.stemSep]; sep > 0 {
		// TuNAS's separable conv is depthwise + BN + ReLU, then a 1x1
		// conv + BN with no activation: an inverted bottleneck with
		// expansion 1 (no expand conv) is exactly that.
		blocks = append(blocks, arch.Block{Type: arch.IBN, Kernel: 1 + 2*sep, Stride: 1, Filters: stem,
			Activation: arch.ReLU, Expansion: 1, Residual: arch.Bool(true)})
	}
	for i, st := range s.stages {
		w := s.width(st.width, choice)
		act := arch.ReLU
		if i >= 2 {
			act = arch.HSwish
		}
		for j, d := range st.layers {
			op := s.op(d, choice)
			if op.Skip {
				continue
			}
			b := arch.Block{Type: arch.IBN, Kernel: op.Kernel, Stride: 1, Filters: w, Activation: act,
				Expansion: float64(op.Expansion), Residual: arch.Bool(j > 0)}
			if j == 0 {
				b.Stride = st.stride
			}
			// TuNAS always builds the 1x1 expand conv, also at expansion 1;
			// arch drops it there unless told otherwise.
			b.ExpandAlways = op.Expansion == 1
			if op.se {
				b.SERatio, b.SEGate = 0.25, arch.Sigmoid
			}
			blocks = append(blocks, b)
		}
	}
	blocks = append(blocks,
		arch.Block{Type: arch.Conv, Kernel: 1, Stride: 1, Filters: s.width(s.headConv, choice), Activation: arch.HSwish},
		arch.Block{Type: arch.GlobalPool},
		arch.Block{Type: arch.Conv, Kernel: 1, Stride: 1, Filters: s.width(s.headFinal, choice), Activation: arch.HSwish,
			BN: arch.Bool(false), Bias: arch.Bool(true)},
		arch.Block{Type: arch.FC, Filters: classes})
	return mobileNetwork(s.Name(), str, res, blocks, opt)
}

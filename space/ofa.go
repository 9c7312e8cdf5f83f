package space

import (
	"fmt"

	"github.com/fleetnas/fleetnas/arch"
)

// ofa is Once-for-All's MobileNetV3 space at width 1.2 (Cai et al., ICLR
// 2020; mit-han-lab/once-for-all ofa_mbv3_d234_e346_k357_w1.2), the space
// the built-in Samsung Note10 latency tables were measured for: a 3x3
// stride-2 stem conv to 24 channels (hard-swish), a fixed residual
// depthwise block, five stages of widths 32,48,96,136,192 with strides
// 2,2,2,1,2, depth 2 to 4, each layer a kernel in {3,5,7} and an expansion
// in {3,4,6}; squeeze-excite in stages 2, 4 and 5, hard-swish in stages 3
// to 5 as in MobileNetV3; then a 1x1 conv to 1152, global pooling, a 1x1
// conv to 1536 (bias, no BN) and the classifier.
//
// Depth is expressed the way the other spaces do it: the first two layers
// of a stage are mandatory, the third and fourth may be skipped.
//
// Canonical string: five "/"-separated stages of four comma-separated ops,
// <op> being k<kernel>e<expansion> or "skip" (third and fourth layers), e.g.
//
//	k3e4,k3e4,skip,skip/k5e3,k5e3,k5e3,skip/k3e6,k3e6,skip,skip/k5e4,k5e4,k5e4,k5e4/k7e6,k7e6,skip,skip
type ofa struct {
	mobileGrammar
	stages []mobileStage
}

var (
	ofaWidths  = [5]int{32, 48, 96, 136, 192}
	ofaStrides = [5]int{2, 2, 2, 1, 2}
	ofaHSwish  = [5]bool{false, false, true, true, true}
	ofaSE      = [5]bool{false, true, false, true, true}
)

func newOFA() Space {
	s := &ofa{mobileGrammar: mobileGrammar{space: "ofa", description: "Once-for-All MobileNetV3 space at width 1.2 (Cai et al. 2020): depth 2-4, kernel 3/5/7, expansion 3/4/6; priced by the Note10 tables"}}
	g := &s.mobileGrammar
	mandatory := mobileOpChoices([]int{3, 5, 7}, []int{3, 4, 6}, false, false)
	optional := mobileOpChoices([]int{3, 5, 7}, []int{3, 4, 6}, false, true)
	for i := range ofaWidths {
		name := fmt.Sprintf("stage%d", i+1)
		st := mobileStage{stride: ofaStrides[i], width: -1}
		for j := 1; j <= 4; j++ {
			ch := mandatory
			if j > 2 {
				ch = optional
			}
			st.layers = append(st.layers, g.decideOps(fmt.Sprintf("%s/layer%d", name, j), ch))
		}
		g.segment(name, "<op>,<op>,<op>,<op>", -1, "", st.layers...)
		s.stages = append(s.stages, st)
	}
	return s
}

// Network builds the network of a choice vector.
func (s *ofa) Network(choice []int, opt Options) (*arch.Network, error) {
	str, res, classes, err := s.start(choice, opt)
	if err != nil {
		return nil, err
	}
	blocks := []arch.Block{
		{Type: arch.Conv, Kernel: 3, Stride: 2, Filters: 24, Activation: arch.HSwish},
		// OFA's first block: expansion 1 (no expand conv), residual.
		{Type: arch.IBN, Kernel: 3, Filters: 24, Expansion: 1, Activation: arch.ReLU},
	}
	for i, st := range s.stages {
		for j, d := range st.layers {
			op := s.op(d, choice)
			if op.Skip {
				continue
			}
			b := arch.Block{Type: arch.IBN, Kernel: op.Kernel, Filters: ofaWidths[i], Activation: arch.ReLU, Expansion: float64(op.Expansion)}
			if j == 0 {
				b.Stride = st.stride
			}
			if ofaHSwish[i] {
				b.Activation = arch.HSwish
			}
			if ofaSE[i] {
				b.SERatio = 0.25
			}
			blocks = append(blocks, b)
		}
	}
	blocks = append(blocks,
		arch.Block{Type: arch.Conv, Kernel: 1, Filters: 1152, Activation: arch.HSwish},
		arch.Block{Type: arch.GlobalPool},
		arch.Block{Type: arch.Conv, Kernel: 1, Filters: 1536, Activation: arch.HSwish, BN: arch.Bool(false), Bias: arch.Bool(true)},
		arch.Block{Type: arch.FC, Filters: classes})
	return mobileNetwork(s.Name(), str, res, blocks, opt)
}

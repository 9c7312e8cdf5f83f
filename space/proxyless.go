package space

import (
	"fmt"
	"strings"

	"github.com/fleetnas/fleetnas/arch"
)

// proxyless is the ProxylessNAS mobile search space (Cai et al., ICLR 2019;
// mit-han-lab/proxylessnas search/imagenet_arch_search.py and
// super_proxyless.py): a 3x3 stride-2 stem conv to 32 channels, a fixed
// MBConv (expansion 1, kernel 3) to 16, then 21 searchable MBConv layers
// in six stages with widths 24,40,80,96,192,320, 4,4,4,4,4,1 layers and
// first-layer strides 2,2,2,1,2,1, then a 1x1 conv to 1280, global
// pooling and the classifier. Activations are ReLU6. Each layer picks a
// kernel in {3,5,7} and an expansion in {3,6}; a layer may also be
// skipped when it keeps its input shape, i.e. every layer but the first of
// each stage (ProxylessNAS adds its Zero op exactly there).
//
// Canonical string: six "/"-separated stages of comma-separated ops,
//
//	<op>,<op>,<op>,<op> / (x5) / <op>
//
// where <op> is k<kernel>e<expansion> (k3e3, k3e6, k5e3, k5e6, k7e3,
// k7e6) or "skip" for the second to fourth layer of a stage. Example
// (the ops of the published ProxylessNAS-Mobile):
//
//	k5e3,k3e3,skip,skip/k7e3,k3e3,k5e3,k5e3/k7e6,k5e3,k5e3,k5e3/k5e6,k5e3,k5e3,k5e3/k7e6,k7e6,k7e3,k7e3/k7e6
//
// The published ProxylessNAS-Mobile widens the first stage to 32
// channels, so that exact model is not a member; the space keeps 24,
// which is what the search used and what the Pixel 1 latency table holds.
type proxyless struct {
	mobileGrammar
	stages []mobileStage
	widths []int
}

func newProxyless() Space {
	s := &proxyless{mobileGrammar: mobileGrammar{space: "proxyless", description: "ProxylessNAS mobile space (Cai et al. 2019): 21 MBConv layers, kernel 3/5/7, expansion 3/6, skippable non-first layers, ReLU6"}}
	g := &s.mobileGrammar
	first := mobileOpChoices([]int{3, 5, 7}, []int{3, 6}, false, false)
	optional := mobileOpChoices([]int{3, 5, 7}, []int{3, 6}, false, true)
	widths := [6]int{24, 40, 80, 96, 192, 320}
	counts := [6]int{4, 4, 4, 4, 4, 1}
	strides := [6]int{2, 2, 2, 1, 2, 1}
	for i := range widths {
		name := fmt.Sprintf("stage%d", i+1)
		st := mobileStage{stride: strides[i], width: -1}
		st.layers = append(st.layers, g.decideOps(name+"/layer1", first))
		for j := 2; j <= counts[i]; j++ {
			st.layers = append(st.layers, g.decideOps(fmt.Sprintf("%s/layer%d", name, j), optional))
		}
		shape := strings.TrimSuffix(strings.Repeat("<op>,", counts[i]), ",")
		g.segment(name, shape, -1, "", st.layers...)
		s.stages = append(s.stages, st)
		s.widths = append(s.widths, widths[i])
	}
	return s
}

// Network builds the network of a choice vector; it is validated before
// it is returned, so a caller never receives one that cannot be lowered.
func (s *proxyless) Network(choice []int, opt Options) (*arch.Network, error) {
	str, res, classes, err := s.start(choice, opt)
	if err != nil {
		return nil, err
	}
	blocks := []arch.Block{
		{Type: arch.Conv, Kernel: 3, Stride: 2, Filters: 32, Activation: arch.ReLU6},
		// ProxylessNAS's first block: an MBConv with expansion 1 has no
		// expand conv, i.e. depthwise + linear projection, no shortcut
		// (32 -> 16 channels).
		{Type: arch.IBN, Kernel: 3, Stride: 1, Filters: 16, Activation: arch.ReLU6, Expansion: 1},
	}
	for i, st := range s.stages {
		for j, d := range st.layers {
			op := s.op(d, choice)
			if op.Skip {
				continue
			}
			stride := 1
			if j == 0 {
				stride = st.stride
			}
			// The identity shortcut of ProxylessNAS (stride 1 and equal
			// widths) is the arch default residual rule.
			blocks = append(blocks, arch.Block{Type: arch.IBN, Kernel: op.Kernel, Stride: stride, Filters: s.widths[i],
				Activation: arch.ReLU6, Expansion: float64(op.Expansion)})
		}
	}
	blocks = append(blocks,
		arch.Block{Type: arch.Conv, Kernel: 1, Stride: 1, Filters: 1280, Activation: arch.ReLU6},
		arch.Block{Type: arch.GlobalPool},
		arch.Block{Type: arch.FC, Filters: classes})
	return mobileNetwork(s.Name(), str, res, blocks, opt)
}

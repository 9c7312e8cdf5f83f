package supernet

import (
	"fmt"
	"maps"
	"slices"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/space"
)

// decisionKind says how warmup treats a decision.
type decisionKind int

const (
	kindWidth decisionKind = iota // a filter-count decision (filter warmup)
	kindOp                        // an operation decision (op warmup)
)

// layout is the map from choice vectors to supernet positions. It is read
// from the typed structure a space.Mobile publishes, so it depends on what
// the space says its choices mean, never on decision names or choice
// text.
type layout struct {
	radix  []int
	kinds  []decisionKind
	widths map[int][]int            // width decision -> channel count of each choice
	ops    map[int][]space.MobileOp // layer decision -> op of each choice
	// stemKernel and sepKernel are the kernels of the stem conv and of
	// the stem's separable conv.
	stemKernel, sepKernel int
	stemSep               int // decision index
	sepOn                 int // choice index that turns the separable conv on
	// stages lists each stage's layer decisions, in network order.
	stages  [][]int
	kernels []int // distinct kernel sizes of the layer ops, ascending
	// largest is, for each layer decision, the choice of the largest
	// kernel and, among those, the largest expansion: the op whose
	// weights hold every other op's (see WarmupChoice).
	largest map[int]int
}

// newLayout reads the structure of sp; it fails for a space that is not a
// space.Mobile, or whose structure does not cover its decisions one to
// one or has choices the supernet cannot share weights between.
func newLayout(sp space.Space) (*layout, error) {
	if sp == nil {
		return nil, fmt.Errorf("supernet: no search space given")
	}
	mob, ok := sp.(space.Mobile)
	if !ok {
		return nil, fmt.Errorf("supernet: search space %q is not supported: weight sharing needs a space.Mobile (a stem, stages and layers with typed choices), such as multihw", sp.Name())
	}
	st := mob.Structure()
	ds := sp.Decisions()
	l := &layout{radix: make([]int, len(ds)), kinds: make([]decisionKind, len(ds)),
		widths: map[int][]int{}, ops: map[int][]space.MobileOp{}, largest: map[int]int{},
		stemKernel: st.StemKernel, sepKernel: st.SepKernel}
	for i, d := range ds {
		l.radix[i] = len(d.Choices)
	}
	// claim checks that the structure's decision d is one of the space's,
	// seen once, with one typed value per choice.
	seen := make([]bool, len(ds))
	claim := func(what string, d, n int) error {
		switch {
		case d < 0 || d >= len(ds):
			return fmt.Errorf("supernet: %s: the %s decision is %d, the space has decisions 0..%d", sp.Name(), what, d, len(ds)-1)
		case seen[d]:
			return fmt.Errorf("supernet: %s: decision %s appears twice in the structure, the second time as the %s", sp.Name(), ds[d].Name, what)
		case n != len(ds[d].Choices):
			return fmt.Errorf("supernet: %s: decision %s (the %s) has %d choices, the structure gives %d", sp.Name(), ds[d].Name, what, len(ds[d].Choices), n)
		}
		seen[d] = true
		return nil
	}
	width := func(what string, o space.OneOf[int]) error {
		if err := claim(what, o.Decision, len(o.Choices)); err != nil {
			return err
		}
		for c, w := range o.Choices {
			if w <= 0 {
				return fmt.Errorf("supernet: %s: decision %s: width choice %d is %d channels", sp.Name(), ds[o.Decision].Name, c, w)
			}
		}
		l.widths[o.Decision], l.kinds[o.Decision] = o.Choices, kindWidth
		return nil
	}
	if err := width("stem width", st.StemWidth); err != nil {
		return nil, err
	}
	if err := claim("stem separable conv", st.StemSep.Decision, len(st.StemSep.Choices)); err != nil {
		return nil, err
	}
	l.stemSep, l.sepOn = st.StemSep.Decision, -1
	for c, on := range st.StemSep.Choices {
		if !on {
			continue
		}
		if l.sepOn >= 0 {
			return nil, fmt.Errorf("supernet: %s: decision %s turns the stem's separable conv on with two choices, %d and %d", sp.Name(), ds[l.stemSep].Name, l.sepOn, c)
		}
		l.sepOn = c
	}
	if l.sepOn < 0 {
		return nil, fmt.Errorf("supernet: %s: decision %s has no choice that turns the stem's separable conv on", sp.Name(), ds[l.stemSep].Name)
	}
	l.kinds[l.stemSep] = kindOp
	l.largest[l.stemSep] = l.sepOn
	kernels := map[int]bool{}
	for s, stage := range st.Stages {
		if err := width(fmt.Sprintf("stage %d width", s+1), stage.Width); err != nil {
			return nil, err
		}
		layers := make([]int, len(stage.Layers))
		for j, layer := range stage.Layers {
			d := layer.Decision
			if err := claim(fmt.Sprintf("stage %d layer %d", s+1, j+1), d, len(layer.Choices)); err != nil {
				return nil, err
			}
			best := -1
			for c, o := range layer.Choices {
				if o.Skip {
					continue
				}
				// A smaller depthwise kernel shares the centre of the
				// largest, which only an odd kernel has.
				if o.Kernel <= 0 || o.Kernel%2 == 0 || o.Expansion <= 0 {
					return nil, fmt.Errorf("supernet: %s: decision %s: choice %d is %s; the supernet needs odd kernels and positive expansions", sp.Name(), ds[d].Name, c, o)
				}
				kernels[o.Kernel] = true
				if best < 0 || o.Kernel > layer.Choices[best].Kernel || o.Kernel == layer.Choices[best].Kernel && o.Expansion > layer.Choices[best].Expansion {
					best = c
				}
			}
			if best < 0 {
				return nil, fmt.Errorf("supernet: %s: decision %s has only skips", sp.Name(), ds[d].Name)
			}
			l.ops[d], l.kinds[d], l.largest[d] = layer.Choices, kindOp, best
			layers[j] = d
		}
		l.stages = append(l.stages, layers)
	}
	for d, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("supernet: %s: decision %s is not part of the space's structure", sp.Name(), ds[d].Name)
		}
	}
	l.kernels = slices.Sorted(maps.Keys(kernels))
	if len(l.kernels) == 0 {
		return nil, fmt.Errorf("supernet: %s: the layer ops have no kernel sizes", sp.Name())
	}
	return l, nil
}

// position is where a block of a candidate sits in the supernet: the name
// of its slot group ("stem.conv", "stem.sep", "stage3.layer2",
// "head.conv1", ...) and the block kind and kernel the network must have
// there.
type position struct {
	name   string
	kind   arch.Kind
	kernel int
}

// positions lists the supernet position of every block of the network of
// choice, in block order.
func (l *layout) positions(choice []int) []position {
	ps := []position{{name: "stem.conv", kind: arch.Conv, kernel: l.stemKernel}}
	if choice[l.stemSep] == l.sepOn {
		ps = append(ps, position{name: "stem.sep", kind: arch.DWSep, kernel: l.sepKernel})
	}
	for s, layers := range l.stages {
		for j, d := range layers {
			o := l.ops[d][choice[d]]
			if o.Skip {
				continue
			}
			ps = append(ps, position{name: fmt.Sprintf("stage%d.layer%d", s+1, j+1), kind: arch.IBN, kernel: o.Kernel})
		}
	}
	// The head's convs are 1x1, as space.MobileStructure says.
	return append(ps,
		position{name: "head.conv1", kind: arch.Conv, kernel: 1},
		position{name: "head.pool", kind: arch.GlobalPool},
		position{name: "head.conv2", kind: arch.Conv, kernel: 1},
		position{name: "head.fc", kind: arch.FC})
}

// widest returns the choice vector with every width at its largest, the
// stem's separable conv on and every layer at kernel k with the largest
// expansion: for the largest kernel, the candidate whose tensors are the
// supernet's slot sizes (widths and expansions only grow the channel
// counts).
func (l *layout) widest(k int) ([]int, error) {
	c := make([]int, len(l.radix))
	for d, ws := range l.widths {
		c[d] = widestIndex(ws)
	}
	c[l.stemSep] = l.sepOn
	for d, os := range l.ops {
		best := -1
		for j, o := range os {
			if !o.Skip && o.Kernel == k && (best < 0 || o.Expansion > os[best].Expansion) {
				best = j
			}
		}
		if best < 0 {
			return nil, fmt.Errorf("supernet: layer decision %d has no op with kernel %d", d, k)
		}
		c[d] = best
	}
	return c, nil
}

// checkBlocks verifies that a network's blocks are at the positions the
// layout expects, so that a change of the space's network builder gives
// an error instead of silently sharing the wrong weights.
func checkBlocks(net *arch.Network, ps []position) error {
	if len(net.Blocks) != len(ps) {
		return fmt.Errorf("supernet: the network %s has %d blocks, the supernet layout expects %d", net.Name, len(net.Blocks), len(ps))
	}
	for i, p := range ps {
		b := net.Blocks[i]
		if b.Type != p.kind || (p.kernel != 0 && b.Kernel != p.kernel) {
			return fmt.Errorf("supernet: block %d of %s is a %s (kernel %d), the supernet layout expects %s to be a %s (kernel %d)",
				i, net.Name, b.Type, b.Kernel, p.name, p.kind, p.kernel)
		}
	}
	return nil
}

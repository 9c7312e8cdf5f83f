package supernet

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/space"
)

// multihwStages is the number of stages of the multihw space and
// multihwLayers the number of layers per stage.
const (
	multihwStages = 5
	multihwLayers = 4
)

// op is one inverted-bottleneck choice of a layer decision, or a skip.
type op struct {
	skip              bool
	kernel, expansion int
}

// decisionKind says how warmup treats a decision.
type decisionKind int

const (
	kindWidth decisionKind = iota // a filter-count decision (filter warmup)
	kindOp                        // an operation decision (op warmup)
)

// layout is the multihw-specific map from choice vectors to supernet
// positions. It reads the space's decisions by name and choice text only,
// so it depends on the space's public contract (decision names and the
// canonical choice names), not on its internals.
type layout struct {
	radix     []int
	kinds     []decisionKind
	widths    map[int][]int // width decision -> channel count of each choice
	ops       map[int][]op  // layer decision -> op of each choice
	stemWidth int           // decision indices
	stemSep   int
	sepOn     int // choice index of "sep3" in the stem/sep decision
	stages    [multihwStages]stageLayout
	kernels   []int // distinct kernel sizes of the layer ops, ascending
	// largest is, for each layer decision, the choice of the largest
	// kernel and, among those, the largest expansion: the op whose
	// weights hold every other op's (see WarmupChoice).
	largest map[int]int
}

// stageLayout holds one stage's decision indices.
type stageLayout struct {
	width  int
	layers [multihwLayers]int
}

// newLayout reads the multihw decisions of sp; it fails for any other
// space, or for a multihw space whose decisions do not look as expected.
func newLayout(sp space.Space) (*layout, error) {
	if sp == nil {
		return nil, fmt.Errorf("supernet: no search space given")
	}
	if sp.Name() != "multihw" {
		return nil, fmt.Errorf("supernet: search space %q is not supported yet; the supernet implements the multihw space only", sp.Name())
	}
	ds := sp.Decisions()
	index := make(map[string]int, len(ds))
	l := &layout{radix: make([]int, len(ds)), kinds: make([]decisionKind, len(ds)),
		widths: map[int][]int{}, ops: map[int][]op{}, largest: map[int]int{}}
	for i, d := range ds {
		index[d.Name] = i
		l.radix[i] = len(d.Choices)
		l.kinds[i] = kindOp
	}
	find := func(name string) (int, error) {
		i, ok := index[name]
		if !ok {
			return 0, fmt.Errorf("supernet: multihw space has no decision %q", name)
		}
		return i, nil
	}
	width := func(name string) (int, error) {
		i, err := find(name)
		if err != nil {
			return 0, err
		}
		ws := make([]int, len(ds[i].Choices))
		for j, c := range ds[i].Choices {
			w, err := strconv.Atoi(c)
			if err != nil || w <= 0 {
				return 0, fmt.Errorf("supernet: decision %s: width choice %q is not a positive channel count", name, c)
			}
			ws[j] = w
		}
		l.widths[i], l.kinds[i] = ws, kindWidth
		return i, nil
	}
	var err error
	if l.stemWidth, err = width("stem/width"); err != nil {
		return nil, err
	}
	if l.stemSep, err = find("stem/sep"); err != nil {
		return nil, err
	}
	l.sepOn = -1
	for j, c := range ds[l.stemSep].Choices {
		switch c {
		case "sep3":
			l.sepOn = j
		case "skip":
		default:
			return nil, fmt.Errorf("supernet: decision stem/sep: unknown choice %q", c)
		}
	}
	if l.sepOn < 0 {
		return nil, fmt.Errorf("supernet: decision stem/sep has no sep3 choice")
	}
	l.largest[l.stemSep] = l.sepOn
	kernels := map[int]bool{}
	for s := range multihwStages {
		st := &l.stages[s]
		if st.width, err = width(fmt.Sprintf("stage%d/width", s+1)); err != nil {
			return nil, err
		}
		for j := range multihwLayers {
			name := fmt.Sprintf("stage%d/layer%d", s+1, j+1)
			if st.layers[j], err = find(name); err != nil {
				return nil, err
			}
			d := st.layers[j]
			os := make([]op, len(ds[d].Choices))
			for c, text := range ds[d].Choices {
				o, ok := parseOp(text)
				if !ok {
					return nil, fmt.Errorf("supernet: decision %s: unknown op %q", name, text)
				}
				if !o.skip {
					kernels[o.kernel] = true
				}
				os[c] = o
			}
			l.ops[d] = os
			best := -1
			for c, o := range os {
				if !o.skip && (best < 0 || o.kernel > os[best].kernel || o.kernel == os[best].kernel && o.expansion > os[best].expansion) {
					best = c
				}
			}
			if best < 0 {
				return nil, fmt.Errorf("supernet: decision %s has only skips", name)
			}
			l.largest[d] = best
		}
	}
	if n := 2 + multihwStages*(1+multihwLayers); len(ds) != n {
		return nil, fmt.Errorf("supernet: multihw space has %d decisions, expected %d", len(ds), n)
	}
	l.kernels = slices.Sorted(maps.Keys(kernels))
	if len(l.kernels) == 0 {
		return nil, fmt.Errorf("supernet: multihw layer ops have no kernel sizes")
	}
	return l, nil
}

// parseOp reads "skip" or "k<kernel>e<expansion>".
func parseOp(s string) (op, bool) {
	if s == "skip" {
		return op{skip: true}, true
	}
	ks, es, ok := strings.Cut(strings.TrimPrefix(s, "k"), "e")
	if !ok || !strings.HasPrefix(s, "k") {
		return op{}, false
	}
	k, err1 := strconv.Atoi(ks)
	e, err2 := strconv.Atoi(es)
	if err1 != nil || err2 != nil || k <= 0 || k%2 == 0 || e <= 0 {
		return op{}, false
	}
	return op{kernel: k, expansion: e}, true
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
	ps := []position{{name: "stem.conv", kind: arch.Conv, kernel: 3}}
	if choice[l.stemSep] == l.sepOn {
		ps = append(ps, position{name: "stem.sep", kind: arch.DWSep, kernel: 3})
	}
	for s, st := range l.stages {
		for j, d := range st.layers {
			o := l.ops[d][choice[d]]
			if o.skip {
				continue
			}
			ps = append(ps, position{name: fmt.Sprintf("stage%d.layer%d", s+1, j+1), kind: arch.IBN, kernel: o.kernel})
		}
	}
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
			if !o.skip && o.kernel == k && (best < 0 || o.expansion > os[best].expansion) {
				best = j
			}
		}
		if best < 0 {
			return nil, fmt.Errorf("supernet: a multihw layer has no op with kernel %d", k)
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
		return fmt.Errorf("supernet: the multihw network %s has %d blocks, the supernet layout expects %d", net.Name, len(net.Blocks), len(ps))
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

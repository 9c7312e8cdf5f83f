package space

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/fleetnas/fleetnas/arch"
)

// The two multi-hardware models of Chu et al. 2020 written as multihw
// choice strings, so that the CLI and the documentation can show them and
// a search can be seeded with them. The test suite decodes both and checks
// them block by block against the zoo's Model Garden tables.
const (
	// MultiAVGChoice is MobileNet-MultiHW-AVG (Model Garden's
	// MobileNetMultiAVG), the model chosen for the best average latency
	// over the paper's devices.
	MultiAVGChoice = "32:skip/32:k3e3,k3e2,skip,skip/64:k5e5,k3e3,k3e2,k3e3/128:k5e6,k3e3,k3e3,k3e3/160:k3e6,k3e4,skip,skip/192:k3e6,k5e4,k5e4,k5e4"
	// MultiMAXChoice is MobileNet-MultiHW-MAX (Model Garden's
	// MobileNetMultiMAX), the model chosen for the best worst-case latency
	// over the paper's devices.
	MultiMAXChoice = "32:skip/32:k3e3,skip,skip,skip/64:k5e6,k3e2,k3e2,skip/128:k5e6,k3e4,k3e3,k3e3/128:k3e6,k3e3,skip,skip/160:k3e6,k5e4,k3e5,k5e4"
)

// mobileWidthMultipliers returns TuNAS's per-block filter multipliers,
// shared by the multihw and mnv3like spaces (a function, not a variable, so
// that no caller can change them for everyone).
func mobileWidthMultipliers() [7]float64 { return [7]float64{0.5, 0.625, 0.75, 1, 1.25, 1.5, 2} }

// multiHW is the multi-hardware search space of Chu et al. 2020
// ("Discovering Multi-Hardware Mobile Models via Architecture Search"),
// reconstructed from TuNAS's MobileNetV3-like space with the paper's
// hardware-friendly restrictions (ReLU only, no squeeze-excite, kernels 3
// and 5) so that MobileNet-MultiHW-AVG and -MAX are members.
//
// Network: a 3x3 stride-2 stem conv with an optional residual 3x3
// separable conv; five stages with strides 2,2,2,1,2 and base widths
// 16,32,64,128,256, each a mandatory inverted bottleneck (carrying the
// stride) followed by three optional residual ones; a fixed head conv 1x1
// 960, global pool, conv 1x1 1280 (BN, no bias), classifier. Expansion is
// relative to the block's input width, all activations are ReLU.
//
// Width choices are the distinct values of arch.ScaleFilters(base, m, 8)
// over m in {0.5, 0.625, 0.75, 1, 1.25, 1.5, 2}: several multipliers round
// to the same width at small bases (16*0.625, 16*0.75 and 16 all give 16),
// and offering them separately would make different choice vectors name
// the same network. TuNAS de-duplicates its filter choices the same way.
//
// Canonical string: six segments separated by "/":
//
//	<stem width>:<sep> / <width>:<op>,<op>,<op>,<op>  (x5, stages 1..5)
//
// <sep> is "skip" or "sep3" (the residual separable conv); <op> is
// k<kernel>e<expansion> with kernel 3 or 5 and expansion 1..6, or "skip"
// for the three optional layers of a stage (the first layer is mandatory).
// Widths are written as channel counts: stem and stage 1 take 8, 16, 24,
// 32; stage 2 16..64; stages 3-5 seven widths each. Example (Multi-MAX):
//
//	32:skip/32:k3e3,skip,skip,skip/64:k5e6,k3e2,k3e2,skip/128:k5e6,k3e4,k3e3,k3e3/128:k3e6,k3e3,skip,skip/160:k3e6,k5e4,k3e5,k5e4
type multiHW struct {
	mobileGrammar
	// structure holds the decisions by role with their typed choices;
	// Network builds from it alone, so what Structure tells a caller is
	// what Network builds.
	structure MobileStructure
}

// mobileStage records, for one stage of mnv3like, proxyless or ofa, which
// decisions choose its width and its layers, and the stride of its first
// layer. (multihw exports the same facts typed, as a MobileStage.)
type mobileStage struct {
	stride int
	width  int   // decision index; -1 when the space fixes the width
	layers []int // decision indices
}

func newMultiHW() Space {
	s := &multiHW{mobileGrammar: mobileGrammar{space: "multihw", description: "multi-hardware MobileNet space of Chu et al. 2020 (ReLU, no SE, k3/k5, per-stage widths), reconstructed so that MobileNet-MultiHW-AVG and -MAX are members"}}
	g := &s.mobileGrammar
	m := &s.structure
	m.StemKernel, m.StemStride, m.SepKernel = 3, 2, 3
	m.HeadWidth, m.FinalWidth = 960, 1280
	m.StemWidth = g.widthsOf(g.decideWidths("stem/width", mobileWidths(16, arch.ScaleFilters)))
	m.StemSep = OneOf[bool]{
		Decision: g.decide("stem/sep", []string{"skip", fmt.Sprintf("sep%d", m.SepKernel)}),
		Choices:  []bool{false, true},
	}
	g.segment("stem", "<width>:<skip|sep3>", m.StemWidth.Decision, "", m.StemSep.Decision)
	first := mobileOpChoices([]int{3, 5}, []int{1, 2, 3, 4, 5, 6}, false, false)
	optional := mobileOpChoices([]int{3, 5}, []int{1, 2, 3, 4, 5, 6}, false, true)
	strides := [5]int{2, 2, 2, 1, 2}
	for i, base := range [5]int{16, 32, 64, 128, 256} {
		name := fmt.Sprintf("stage%d", i+1)
		st := MobileStage{Stride: strides[i]}
		st.Width = g.widthsOf(g.decideWidths(name+"/width", mobileWidths(base, arch.ScaleFilters)))
		st.Layers = append(st.Layers, g.plainOpsOf(g.decideOps(name+"/layer1", first)))
		for j := 2; j <= 4; j++ {
			st.Layers = append(st.Layers, g.plainOpsOf(g.decideOps(fmt.Sprintf("%s/layer%d", name, j), optional)))
		}
		layers := make([]int, len(st.Layers))
		for j, l := range st.Layers {
			layers[j] = l.Decision
		}
		g.segment(name, "<width>:<op>,<op>,<op>,<op>", st.Width.Decision, "", layers...)
		m.Stages = append(m.Stages, st)
	}
	return s
}

// Structure returns the decisions by role with their typed choices (see
// MobileStructure), a copy of the structure Network builds from.
func (s *multiHW) Structure() MobileStructure { return s.structure.clone() }

// Network builds the network of a choice vector; it is validated before
// it is returned, so a caller never receives one that cannot be lowered.
func (s *multiHW) Network(choice []int, opt Options) (*arch.Network, error) {
	str, res, classes, err := s.start(choice, opt)
	if err != nil {
		return nil, err
	}
	m := &s.structure
	stem := m.StemWidth.Value(choice)
	blocks := []arch.Block{{Type: arch.Conv, Kernel: m.StemKernel, Stride: m.StemStride, Filters: stem, Activation: arch.ReLU}}
	if m.StemSep.Value(choice) {
		blocks = append(blocks, arch.Block{Type: arch.DWSep, Kernel: m.SepKernel, Stride: 1, Filters: stem,
			Activation: arch.ReLU, Residual: arch.Bool(true)})
	}
	for _, st := range m.Stages {
		w := st.Width.Value(choice)
		for j, layer := range st.Layers {
			op := layer.Value(choice)
			if op.Skip {
				continue
			}
			stride := 1
			if j == 0 {
				stride = st.Stride
			}
			// Residual is left to the arch default (stride 1 and equal
			// widths), which is Model Garden's rule: Multi-MAX's stage-4
			// first layer (128 -> 128, stride 1) is residual there too.
			blocks = append(blocks, arch.Block{Type: arch.IBN, Kernel: op.Kernel, Stride: stride, Filters: w,
				Activation: arch.ReLU, Expansion: float64(op.Expansion)})
		}
	}
	blocks = append(blocks,
		arch.Block{Type: arch.Conv, Kernel: 1, Stride: 1, Filters: m.HeadWidth, Activation: arch.ReLU},
		arch.Block{Type: arch.GlobalPool},
		arch.Block{Type: arch.Conv, Kernel: 1, Stride: 1, Filters: m.FinalWidth, Activation: arch.ReLU},
		arch.Block{Type: arch.FC, Filters: classes})
	return mobileNetwork(s.Name(), str, res, blocks, opt)
}

// mobileGrammar is the canonical-string machinery shared by the
// MobileNet-style spaces (multihw, proxyless, mnv3like): decisions in
// choice-vector order and a list of "/"-separated segments, each an
// optional head (a decision or a fixed label) followed by ':' and a
// comma-separated list of decisions. Every decision appears exactly once
// in exactly one segment and every token is a choice name, so Format and
// Parse are inverse bijections between choice vectors and strings.
type mobileGrammar struct {
	space       string
	description string
	decisions   []Decision
	index       []map[string]int // per decision: choice name -> index
	segments    []mobileSegment
	// widths and ops hold, per decision, the typed value of each choice
	// of a width or an op decision (nil for other decisions). Networks
	// are built from these values and the choice names are written from
	// them, so that no name is ever parsed back into a value.
	widths [][]int
	ops    [][]mobileOp
}

// mobileSegment is one "/"-separated part of a canonical string.
type mobileSegment struct {
	name  string // for errors: "stem", "stage3", "head"
	shape string // what the segment looks like, for errors
	head  int    // decision written before ':' (-1: none)
	label string // fixed text written before ':' when head < 0 ("" = no ':')
	items []int  // decisions written comma-separated
}

// Name is the space's registry key.
func (g *mobileGrammar) Name() string { return g.space }

// Description names the space and its source for listings.
func (g *mobileGrammar) Description() string { return g.description }

// DefaultResolution and DefaultClasses are ImageNet's 224 and 1000, the
// setting every MobileNet-style space was published with.
func (g *mobileGrammar) DefaultResolution() int { return 224 }

// DefaultClasses is ImageNet's 1000.
func (g *mobileGrammar) DefaultClasses() int { return 1000 }

// start formats the choice vector and applies the default options: the
// common prologue of every MobileNet-style space's Network.
func (g *mobileGrammar) start(choice []int, opt Options) (str string, res, classes int, err error) {
	if str, err = g.Format(choice); err != nil {
		return "", 0, 0, err
	}
	if res, classes, err = defaultedOptions(g, opt); err != nil {
		return "", 0, 0, err
	}
	return str, res, classes, nil
}

// decide appends a decision and returns its index in the choice vector.
func (g *mobileGrammar) decide(name string, choices []string) int {
	idx := make(map[string]int, len(choices))
	for i, c := range choices {
		if _, dup := idx[c]; dup {
			panic(fmt.Sprintf("space %s: decision %s lists choice %q twice", g.space, name, c))
		}
		idx[c] = i
	}
	g.decisions = append(g.decisions, Decision{Name: name, Choices: append([]string(nil), choices...)})
	g.index = append(g.index, idx)
	g.widths = append(g.widths, nil)
	g.ops = append(g.ops, nil)
	return len(g.decisions) - 1
}

// decideWidths appends a decision among channel counts, each choice named
// by its count in decimal, and returns its index.
func (g *mobileGrammar) decideWidths(name string, widths []int) int {
	names := make([]string, len(widths))
	for i, w := range widths {
		names[i] = strconv.Itoa(w)
	}
	d := g.decide(name, names)
	g.widths[d] = slices.Clone(widths)
	return d
}

// decideOps appends a decision among ops, each choice named by its
// String, and returns its index.
func (g *mobileGrammar) decideOps(name string, ops []mobileOp) int {
	names := make([]string, len(ops))
	for i, o := range ops {
		names[i] = o.String()
	}
	d := g.decide(name, names)
	g.ops[d] = slices.Clone(ops)
	return d
}

// widthsOf returns width decision d typed.
func (g *mobileGrammar) widthsOf(d int) OneOf[int] {
	return OneOf[int]{Decision: d, Choices: slices.Clone(g.widths[d])}
}

// plainOpsOf returns op decision d typed, for a space whose ops have no
// squeeze-excite (MobileOp has no place for it).
func (g *mobileGrammar) plainOpsOf(d int) OneOf[MobileOp] {
	ops := make([]MobileOp, len(g.ops[d]))
	for i, o := range g.ops[d] {
		if o.se {
			panic(fmt.Sprintf("space %s: decision %s has a squeeze-excite op, which MobileOp cannot hold", g.space, g.decisions[d].Name))
		}
		ops[i] = o.MobileOp
	}
	return OneOf[MobileOp]{Decision: d, Choices: ops}
}

// segment appends a segment of the canonical string.
func (g *mobileGrammar) segment(name, shape string, head int, label string, items ...int) {
	g.segments = append(g.segments, mobileSegment{name: name, shape: shape, head: head, label: label, items: items})
}

// Decisions returns a copy, so that callers cannot edit the space.
func (g *mobileGrammar) Decisions() []Decision {
	out := make([]Decision, len(g.decisions))
	for i, d := range g.decisions {
		out[i] = Decision{Name: d.Name, Choices: append([]string(nil), d.Choices...)}
	}
	return out
}

// check is space.Check without needing the Space value.
func (g *mobileGrammar) check(choice []int) error {
	if len(choice) != len(g.decisions) {
		return fmt.Errorf("%s: a choice vector has %d entries (one per decision), got %d", g.space, len(g.decisions), len(choice))
	}
	for i, c := range choice {
		if c < 0 || c >= len(g.decisions[i].Choices) {
			return fmt.Errorf("%s: decision %d (%s): choice %d out of range 0..%d", g.space, i, g.decisions[i].Name, c, len(g.decisions[i].Choices)-1)
		}
	}
	return nil
}

// Format writes the canonical string of a choice vector.
func (g *mobileGrammar) Format(choice []int) (string, error) {
	if err := g.check(choice); err != nil {
		return "", err
	}
	var sb strings.Builder
	for i, seg := range g.segments {
		if i > 0 {
			sb.WriteByte('/')
		}
		switch {
		case seg.head >= 0:
			sb.WriteString(g.decisions[seg.head].Choices[choice[seg.head]])
			sb.WriteByte(':')
		case seg.label != "":
			sb.WriteString(seg.label)
			sb.WriteByte(':')
		}
		for j, d := range seg.items {
			if j > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(g.decisions[d].Choices[choice[d]])
		}
	}
	return sb.String(), nil
}

// Parse reads a canonical string strictly: exact segment and item counts,
// and every token one of its decision's choice names.
func (g *mobileGrammar) Parse(s string) ([]int, error) {
	parts := strings.Split(s, "/")
	if len(parts) != len(g.segments) {
		names := make([]string, len(g.segments))
		for i, seg := range g.segments {
			names[i] = seg.name
		}
		return nil, fmt.Errorf("%s: %q has %d \"/\"-separated segments, expected %d (%s)",
			g.space, s, len(parts), len(g.segments), strings.Join(names, "/"))
	}
	choice := make([]int, len(g.decisions))
	for i, seg := range g.segments {
		part := parts[i]
		body := part
		if seg.head >= 0 || seg.label != "" {
			before, after, ok := strings.Cut(part, ":")
			if !ok {
				return nil, fmt.Errorf("%s: %s segment %q has no ':'; expected %s", g.space, seg.name, part, seg.shape)
			}
			if seg.head >= 0 {
				c, err := g.token(seg.head, before)
				if err != nil {
					return nil, err
				}
				choice[seg.head] = c
			} else if before != seg.label {
				return nil, fmt.Errorf("%s: %s segment %q starts with %q; expected %s", g.space, seg.name, part, before, seg.shape)
			}
			body = after
		}
		items := strings.Split(body, ",")
		if len(items) != len(seg.items) {
			return nil, fmt.Errorf("%s: %s segment %q has %d comma-separated entries, expected %d (%s)",
				g.space, seg.name, part, len(items), len(seg.items), seg.shape)
		}
		for j, d := range seg.items {
			c, err := g.token(d, items[j])
			if err != nil {
				return nil, err
			}
			choice[d] = c
		}
	}
	return choice, nil
}

// token resolves one token of decision d, naming the decision and its
// choices when the token is not one of them.
func (g *mobileGrammar) token(d int, tok string) (int, error) {
	if c, ok := g.index[d][tok]; ok {
		return c, nil
	}
	dec := g.decisions[d]
	hint := ""
	if strings.HasSuffix(dec.Name, "layer1") && tok == "skip" {
		hint = " (the first layer of a stage carries its stride and cannot be skipped)"
	}
	return 0, fmt.Errorf("%s: %s: got %q, expected one of %s%s", g.space, dec.Name, tok, strings.Join(dec.Choices, ", "), hint)
}

// width returns the channel count a choice vector picks for width
// decision d.
func (g *mobileGrammar) width(d int, choice []int) int { return g.widths[d][choice[d]] }

// op returns the op a choice vector picks for op decision d.
func (g *mobileGrammar) op(d int, choice []int) mobileOp { return g.ops[d][choice[d]] }

// mobileWidths lists the distinct widths a base width takes under TuNAS's
// multipliers, ascending, rounded with the given function (divisor 8).
func mobileWidths(base int, round func(int, float64, int) int) []int {
	var out []int
	last := 0
	for _, m := range mobileWidthMultipliers() {
		w := round(base, m, 8)
		if w == last {
			continue
		}
		if w < last {
			panic(fmt.Sprintf("width rounding of %d is not monotonic", base))
		}
		out = append(out, w)
		last = w
	}
	return out
}

// mobileOp is one op choice of a MobileNet-style space: a MobileOp, with
// squeeze-excite on or off (mnv3like offers both).
type mobileOp struct {
	MobileOp
	se bool
}

// String is the op's choice name: MobileOp's, with an "se" suffix when
// squeeze-excite is on (k5e3se).
func (o mobileOp) String() string {
	if o.se {
		return o.MobileOp.String() + "se"
	}
	return o.MobileOp.String()
}

// mobileOpChoices lists the ops over kernels x expansions (x SE off/on
// when withSE), with a skip first when skippable.
func mobileOpChoices(kernels, expansions []int, withSE, skippable bool) []mobileOp {
	var ops []mobileOp
	if skippable {
		ops = append(ops, mobileOp{MobileOp: MobileOp{Skip: true}})
	}
	for _, k := range kernels {
		for _, e := range expansions {
			o := MobileOp{Kernel: k, Expansion: e}
			ops = append(ops, mobileOp{MobileOp: o})
			if withSE {
				ops = append(ops, mobileOp{MobileOp: o, se: true})
			}
		}
	}
	return ops
}

// mobileNetwork assembles and validates a network, so that a space never
// hands out a network that cannot be lowered at its resolution.
func mobileNetwork(space, str string, resolution int, blocks []arch.Block, opt Options) (*arch.Network, error) {
	return validated(&arch.Network{Format: arch.Format, Name: space + ":" + str, Resolution: resolution, Blocks: blocks}, opt)
}

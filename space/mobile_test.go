package space

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/fleetnas/fleetnas/arch"
)

// mobileTestStructure returns multihw's structure through the Mobile
// interface, as a consumer gets it.
func mobileTestStructure(t *testing.T) (Space, MobileStructure) {
	t.Helper()
	s, err := Get("multihw")
	if err != nil {
		t.Fatal(err)
	}
	m, ok := s.(Mobile)
	if !ok {
		t.Fatal("multihw does not implement Mobile")
	}
	return s, m.Structure()
}

// TestMobileImplementers: a Mobile space promises the network shape
// MobileStructure documents, which only multihw has (mnv3like's stem
// kernel and head widths, proxyless's and ofa's fixed first block do not
// fit it).
func TestMobileImplementers(t *testing.T) {
	for _, name := range Names() {
		s, err := Get(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := s.(Mobile); ok != (name == "multihw") {
			t.Errorf("%s: implements Mobile = %v", name, ok)
		}
	}
}

// mobileTestOpName matches an inverted-bottleneck choice name.
var mobileTestOpName = regexp.MustCompile(`^k([0-9]+)e([0-9]+)$`)

// TestMultiHWStructureDecisions checks the structure against the space's
// decisions and the published shape: every decision appears once with as
// many typed values as it has choices, each value says what its choice's
// name says (read here from the name, independently of the space's
// code), and the fixed facts are those of the package doc.
func TestMultiHWStructureDecisions(t *testing.T) {
	s, m := mobileTestStructure(t)
	ds := s.Decisions()
	seen := make([]bool, len(ds))
	claim := func(what string, d, n int) {
		t.Helper()
		if d < 0 || d >= len(ds) {
			t.Fatalf("%s: decision %d out of range", what, d)
		}
		if seen[d] {
			t.Errorf("%s: decision %d (%s) appears twice", what, d, ds[d].Name)
		}
		seen[d] = true
		if n != len(ds[d].Choices) {
			t.Errorf("%s (%s): %d typed choices, the decision has %d", what, ds[d].Name, n, len(ds[d].Choices))
		}
	}
	width := func(what string, o OneOf[int]) {
		t.Helper()
		claim(what, o.Decision, len(o.Choices))
		for c, w := range o.Choices {
			if name := ds[o.Decision].Choices[c]; name != strconv.Itoa(w) {
				t.Errorf("%s choice %d: named %q, typed %d", what, c, name, w)
			}
		}
	}

	width("stem width", m.StemWidth)
	claim("stem sep", m.StemSep.Decision, len(m.StemSep.Choices))
	for c, on := range m.StemSep.Choices {
		want := map[string]bool{"skip": false, "sep3": true}
		name := ds[m.StemSep.Decision].Choices[c]
		if w, ok := want[name]; !ok || w != on {
			t.Errorf("stem sep choice %d: named %q, typed %v", c, name, on)
		}
	}
	if m.StemKernel != 3 || m.StemStride != 2 || m.SepKernel != 3 {
		t.Errorf("stem: kernel %d stride %d, separable kernel %d; want 3, 2, 3", m.StemKernel, m.StemStride, m.SepKernel)
	}
	if m.HeadWidth != 960 || m.FinalWidth != 1280 {
		t.Errorf("head: %d and %d channels, want 960 and 1280", m.HeadWidth, m.FinalWidth)
	}
	var strides []int
	for i, st := range m.Stages {
		strides = append(strides, st.Stride)
		width(fmt.Sprintf("stage %d width", i+1), st.Width)
		if len(st.Layers) != 4 {
			t.Errorf("stage %d: %d layers, want 4", i+1, len(st.Layers))
		}
		for j, l := range st.Layers {
			what := fmt.Sprintf("stage %d layer %d", i+1, j+1)
			claim(what, l.Decision, len(l.Choices))
			skips := 0
			for c, op := range l.Choices {
				name := ds[l.Decision].Choices[c]
				if name == "skip" {
					skips++
					if !op.Skip || op.Kernel != 0 || op.Expansion != 0 {
						t.Errorf("%s choice %d: named skip, typed %+v", what, c, op)
					}
					continue
				}
				sub := mobileTestOpName.FindStringSubmatch(name)
				if sub == nil {
					t.Fatalf("%s choice %d: %q is neither skip nor k<kernel>e<expansion>", what, c, name)
				}
				k, _ := strconv.Atoi(sub[1])
				e, _ := strconv.Atoi(sub[2])
				if op != (MobileOp{Kernel: k, Expansion: e}) {
					t.Errorf("%s choice %d: named %q, typed %+v", what, c, name, op)
				}
			}
			if want := min(j, 1); skips != want {
				t.Errorf("%s: %d skip choices, want %d (only the first layer is mandatory)", what, skips, want)
			}
		}
	}
	if !slices.Equal(strides, []int{2, 2, 2, 1, 2}) {
		t.Errorf("stage strides %v, want 2 2 2 1 2", strides)
	}
	for d, ok := range seen {
		if !ok {
			t.Errorf("decision %d (%s) is not in the structure", d, ds[d].Name)
		}
	}
}

// TestMultiHWStructureNetworks builds networks of many choice vectors and
// walks their blocks with the structure: each block must be the one the
// structure says the vector picks (kind, width, kernel, stride,
// expansion, skips), and the lowered graph must have a residual add
// exactly where MobileStructure's rule puts one.
func TestMultiHWStructureNetworks(t *testing.T) {
	s, m := mobileTestStructure(t)
	choices := Sample(s, 300, 7)
	for _, str := range []string{MultiAVGChoice, MultiMAXChoice} {
		c, err := s.Parse(str)
		if err != nil {
			t.Fatal(err)
		}
		choices = append(choices, c)
	}
	const classes = 10
	for _, choice := range choices {
		n, err := s.Network(choice, Options{Resolution: 32, Classes: classes})
		if err != nil {
			t.Fatal(err)
		}
		g, err := n.Lower(0)
		if err != nil {
			t.Fatal(err)
		}
		residual := map[int]bool{}
		for _, l := range g.Layers {
			if l.Op == arch.OpAdd {
				residual[l.Block] = true
			}
		}
		i := 0
		next := func(what string) arch.Block {
			t.Helper()
			if i >= len(n.Blocks) {
				t.Fatalf("%s: %d blocks, the structure expects %s next", n.Name, len(n.Blocks), what)
			}
			i++
			return n.Blocks[i-1]
		}
		stem := m.StemWidth.Value(choice)
		if b := next("the stem"); b.Type != arch.Conv || b.Kernel != m.StemKernel || b.StrideOrOne() != m.StemStride || b.Filters != stem {
			t.Fatalf("%s: stem %+v, want a %dx%d conv, stride %d, %d filters", n.Name, b, m.StemKernel, m.StemKernel, m.StemStride, stem)
		}
		prev := stem
		if m.StemSep.Value(choice) {
			b := next("the stem's separable conv")
			if b.Type != arch.DWSep || b.Kernel != m.SepKernel || b.StrideOrOne() != 1 || b.Filters != stem || !residual[i-1] {
				t.Fatalf("%s: block %d %+v (residual %v), want the residual %dx%d separable conv with %d filters",
					n.Name, i-1, b, residual[i-1], m.SepKernel, m.SepKernel, stem)
			}
		}
		for si, st := range m.Stages {
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
				b := next(fmt.Sprintf("stage %d layer %d", si+1, j+1))
				if b.Type != arch.IBN || b.Kernel != op.Kernel || b.Expansion != float64(op.Expansion) || b.StrideOrOne() != stride || b.Filters != w {
					t.Fatalf("%s: block %d %+v, want stage %d layer %d: %s, stride %d, %d filters", n.Name, i-1, b, si+1, j+1, op, stride, w)
				}
				if want := stride == 1 && prev == w; residual[i-1] != want {
					t.Fatalf("%s: block %d (stage %d layer %d, %d -> %d, stride %d): residual %v, want %v", n.Name, i-1, si+1, j+1, prev, w, stride, residual[i-1], want)
				}
				prev = w
			}
		}
		for _, h := range []struct {
			kind    arch.Kind
			filters int
		}{{arch.Conv, m.HeadWidth}, {arch.GlobalPool, 0}, {arch.Conv, m.FinalWidth}, {arch.FC, classes}} {
			b := next(fmt.Sprintf("the head's %s", h.kind))
			if b.Type != h.kind || b.Filters != h.filters || (h.kind == arch.Conv && b.Kernel != 1) {
				t.Fatalf("%s: block %d %+v, want the head's %s with %d filters", n.Name, i-1, b, h.kind, h.filters)
			}
		}
		if i != len(n.Blocks) {
			t.Fatalf("%s: %d blocks, the structure accounts for %d", n.Name, len(n.Blocks), i)
		}
	}
}

// TestMultiHWStructureIsACopy: a caller that edits the structure it got
// changes neither the space's networks nor the next caller's structure.
func TestMultiHWStructureIsACopy(t *testing.T) {
	s, m := mobileTestStructure(t)
	choice, err := s.Parse(MultiMAXChoice)
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.Network(choice, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m.StemWidth.Choices[choice[m.StemWidth.Decision]] = 1
	m.StemSep.Choices[0] = true
	m.Stages[0].Width.Choices[0] = 1
	m.Stages[2].Layers[1].Choices[choice[m.Stages[2].Layers[1].Decision]] = MobileOp{Kernel: 7, Expansion: 9}
	m.Stages = m.Stages[:1]
	after, err := s.Network(choice, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before.Blocks, after.Blocks) {
		t.Error("editing the structure changed the space's networks")
	}
	again := s.(Mobile).Structure()
	if again.StemWidth.Choices[choice[again.StemWidth.Decision]] == 1 || again.StemSep.Choices[0] || len(again.Stages) != 5 ||
		again.Stages[0].Width.Choices[0] == 1 || again.Stages[2].Layers[1].Value(choice).Kernel == 7 {
		t.Error("editing the structure changed the space's own")
	}
}

package space

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/data"
	"github.com/fleetnas/fleetnas/zoo"
)

// The strings as written in the paper's terms, decoded by hand from Model
// Garden's MNMultiAVG/MAX_BLOCK_SPECS (data/models/reference_models.json):
// the constants must not drift from them.
const (
	testMultiAVG = "32:skip/32:k3e3,k3e2,skip,skip/64:k5e5,k3e3,k3e2,k3e3/128:k5e6,k3e3,k3e3,k3e3/160:k3e6,k3e4,skip,skip/192:k3e6,k5e4,k5e4,k5e4"
	testMultiMAX = "32:skip/32:k3e3,skip,skip,skip/64:k5e6,k3e2,k3e2,skip/128:k5e6,k3e4,k3e3,k3e3/128:k3e6,k3e3,skip,skip/160:k3e6,k5e4,k3e5,k5e4"
)

// mobileTestCount sums, by hand over the lowered graph, the trainable
// parameters (weights, biases, BN scale and shift), the parameters with
// BN moving statistics (Keras count_params) and the multiply-accumulates.
// It is deliberately independent of package cost.
func mobileTestCount(t *testing.T, n *arch.Network, resolution int) (params, withStats, macs int64) {
	t.Helper()
	g, err := n.Lower(resolution)
	if err != nil {
		t.Fatalf("lower %s: %v", n.Name, err)
	}
	for _, l := range g.Layers {
		in, out := int64(l.In.C), int64(l.Out.C)
		hw := int64(l.Out.H) * int64(l.Out.W)
		k := int64(l.Kernel)
		var p, bn int64
		switch l.Op {
		case arch.OpConv:
			groups := int64(max(l.Groups, 1))
			p = k * k * in / groups * out
			macs += hw * out * k * k * in / groups
			if l.Bias {
				p += out
			}
			if l.BN {
				bn = out
			}
		case arch.OpDepthwise:
			p = k * k * out
			macs += hw * out * k * k
			if l.Bias {
				p += out
			}
			if l.BN {
				bn = out
			}
		case arch.OpFC:
			p = in * out
			macs += in * out
			if l.Bias {
				p += out
			}
		case arch.OpAdd, arch.OpMul, arch.OpGlobalPool, arch.OpAct:
		default:
			t.Fatalf("%s: layer %s: op %s not expected in a MobileNet-style space", n.Name, l.Name, l.Op)
		}
		params += p + 2*bn
		withStats += p + 4*bn
	}
	return params, withStats, macs
}

// mobileTestSafe is the character set the canonical strings promise: no
// spaces, nothing a POSIX shell or a glob would interpret.
var mobileTestSafe = regexp.MustCompile(`^[A-Za-z0-9:,/._+-]+$`)

// mobileTestRoundTrip checks Format/Parse on random samples: inverse of
// each other, injective, shell-safe, and every sample builds a valid
// network at the default and at a smaller setting.
func mobileTestRoundTrip(t *testing.T, s Space, n int) {
	t.Helper()
	seen := map[string]string{}
	for i, c := range Sample(s, n, 42) {
		str, err := s.Format(c)
		if err != nil {
			t.Fatalf("sample %d: Format: %v", i, err)
		}
		if !mobileTestSafe.MatchString(str) {
			t.Fatalf("sample %d: %q has characters outside [A-Za-z0-9:,/._+-]", i, str)
		}
		back, err := s.Parse(str)
		if err != nil {
			t.Fatalf("sample %d: Parse(%q): %v", i, str, err)
		}
		if !mobileTestEqual(back, c) {
			t.Fatalf("sample %d: Parse(Format(%v)) = %v", i, c, back)
		}
		key := mobileTestKey(c)
		if prev, ok := seen[str]; ok && prev != key {
			t.Fatalf("two choice vectors %s and %s share the string %q", prev, key, str)
		}
		seen[str] = key
		net, err := s.Network(c, Options{})
		if err != nil {
			t.Fatalf("sample %d (%s): Network: %v", i, str, err)
		}
		if net.Resolution != s.DefaultResolution() {
			t.Fatalf("sample %d: resolution %d, want the default %d", i, net.Resolution, s.DefaultResolution())
		}
		if last := net.Blocks[len(net.Blocks)-1]; last.Type != arch.FC || last.Filters != s.DefaultClasses() {
			t.Fatalf("sample %d: last block %+v, want fc with %d classes", i, last, s.DefaultClasses())
		}
		if i%50 == 0 {
			small, err := s.Network(c, Options{Resolution: 160, Classes: 10})
			if err != nil {
				t.Fatalf("sample %d at 160/10: %v", i, err)
			}
			g, err := small.Lower(0)
			if err != nil {
				t.Fatal(err)
			}
			if out := g.Output(); out != (arch.Shape{H: 1, W: 1, C: 10}) {
				t.Fatalf("sample %d at 160/10: output %v", i, out)
			}
		}
	}
}

func mobileTestEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func mobileTestKey(c []int) string {
	s := make([]string, len(c))
	for i, v := range c {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ",")
}

// mobileTestNoIrrelevant checks that every choice of every decision
// matters: from a few random bases, changing one decision to any other
// choice changes the network's blocks.
func mobileTestNoIrrelevant(t *testing.T, s Space) {
	t.Helper()
	blocks := func(c []int) string {
		n, err := s.Network(c, Options{})
		if err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		n.Name = ""
		b, err := n.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, base := range Sample(s, 3, 7) {
		ref := blocks(base)
		for d, dec := range s.Decisions() {
			for c := range dec.Choices {
				if c == base[d] {
					continue
				}
				v := append([]int(nil), base...)
				v[d] = c
				if blocks(v) == ref {
					t.Fatalf("decision %s: choices %q and %q give the same network", dec.Name, dec.Choices[base[d]], dec.Choices[c])
				}
			}
		}
	}
}

// mobileTestBadChoices checks that Format and Network reject malformed
// choice vectors and options.
func mobileTestBadChoices(t *testing.T, s Space) {
	t.Helper()
	ds := s.Decisions()
	good := make([]int, len(ds))
	bad := [][]int{nil, good[:len(good)-1], append(append([]int(nil), good...), 0)}
	for d := range ds {
		for _, v := range []int{-1, len(ds[d].Choices)} {
			c := append([]int(nil), good...)
			c[d] = v
			bad = append(bad, c)
		}
	}
	for _, c := range bad {
		if _, err := s.Format(c); err == nil {
			t.Errorf("Format(%v) accepted a bad choice vector", c)
		}
		if _, err := s.Network(c, Options{}); err == nil {
			t.Errorf("Network(%v) accepted a bad choice vector", c)
		}
	}
	for _, o := range []Options{{Resolution: -1}, {Classes: -5}, {Resolution: 8}} {
		if _, err := s.Network(good, o); err == nil {
			t.Errorf("Network with %+v: no error", o)
		}
	}
	// Decisions must be a copy.
	ds[0].Choices[0] = "mutated"
	if s.Decisions()[0].Choices[0] == "mutated" {
		t.Error("Decisions exposes the space's own slices")
	}
}

// mobileTestParseErrors checks that each bad string is rejected with an
// error quoting the offending token.
func mobileTestParseErrors(t *testing.T, s Space, cases map[string]string) {
	t.Helper()
	for in, want := range cases {
		_, err := s.Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) accepted a bad string", in)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v; want the error to mention %s", in, err, want)
		}
	}
}

func TestMultiHWReferenceChoiceConstants(t *testing.T) {
	if MultiAVGChoice != testMultiAVG || MultiMAXChoice != testMultiMAX {
		t.Fatal("MultiAVGChoice/MultiMAXChoice differ from the strings decoded from Model Garden")
	}
}

// TestMultiHWReferenceModels decodes the two reference strings and checks
// the networks against the zoo's Model Garden versions block by block,
// layer shape by layer shape, and against Model Garden's own expected
// backbone parameter counts.
func TestMultiHWReferenceModels(t *testing.T) {
	s := newMultiHW()
	z, err := zoo.New()
	if err != nil {
		t.Fatal(err)
	}
	expected := mobileTestMGParams(t)
	for _, tc := range []struct{ name, choice string }{
		{"MobileNetMultiAVG", MultiAVGChoice},
		{"MobileNetMultiMAX", MultiMAXChoice},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := s.Parse(tc.choice)
			if err != nil {
				t.Fatal(err)
			}
			if back, _ := s.Format(c); back != tc.choice {
				t.Fatalf("round trip: %q", back)
			}
			got, err := s.Network(c, Options{})
			if err != nil {
				t.Fatal(err)
			}
			want, err := z.Build(tc.name, zoo.Options{})
			if err != nil {
				t.Fatal(err)
			}
			// The zoo follows Model Garden's ClassificationModel, which pools
			// again before the dense layer; on a 1x1 map that is a no-op, so
			// pooling blocks are compared by position of the rest.
			gb, wb := mobileTestNoPoolBlocks(got.Blocks), mobileTestNoPoolBlocks(want.Blocks)
			if len(gb) != len(wb) {
				t.Fatalf("%d non-pool blocks, zoo has %d", len(gb), len(wb))
			}
			for i := range gb {
				a, b := gb[i], wb[i]
				if a.Type != b.Type || a.Kernel != b.Kernel || a.StrideOrOne() != b.StrideOrOne() || a.Filters != b.Filters ||
					a.Expansion != b.Expansion || a.Activation != b.Activation || a.SERatio != b.SERatio ||
					a.HasBN() != b.HasBN() || a.HasBias() != b.HasBias() {
					t.Errorf("block %d: space %+v, zoo %+v", i, a, b)
				}
			}
			gl, wl := mobileTestNoPoolLayers(t, got), mobileTestNoPoolLayers(t, want)
			if len(gl) != len(wl) {
				t.Fatalf("%d layers, zoo %d", len(gl), len(wl))
			}
			for i := range gl {
				a, b := gl[i], wl[i]
				if a.Op != b.Op || a.In != b.In || a.Out != b.Out || a.Kernel != b.Kernel || a.Stride != b.Stride || a.Activation != b.Activation {
					t.Errorf("layer %d: space %s %s %v->%v, zoo %s %s %v->%v", i, a.Name, a.Op, a.In, a.Out, b.Name, b.Op, b.In, b.Out)
				}
			}
			p, ps, macs := mobileTestCount(t, got, 0)
			wp, wps, wmacs := mobileTestCount(t, want, 0)
			if p != wp || ps != wps || macs != wmacs {
				t.Errorf("params %d/%d (with BN stats) MACs %d; zoo %d/%d MACs %d", p, ps, macs, wp, wps, wmacs)
			}
			// Model Garden's test expectation counts the backbone only
			// (everything up to the 1280 layer) with BN statistics.
			backbone := ps - (1280*1000 + 1000)
			if backbone != expected[tc.name] {
				t.Errorf("backbone params with BN stats %d, Model Garden expects %d", backbone, expected[tc.name])
			}
			t.Logf("%s: %d params, %.1fM MACs at 224", tc.name, p, float64(macs)/1e6)
		})
	}
}

func mobileTestNoPoolBlocks(bs []arch.Block) []arch.Block {
	var out []arch.Block
	for _, b := range bs {
		if b.Type != arch.GlobalPool {
			out = append(out, b)
		}
	}
	return out
}

func mobileTestNoPoolLayers(t *testing.T, n *arch.Network) []arch.Layer {
	t.Helper()
	g, err := n.Lower(0)
	if err != nil {
		t.Fatal(err)
	}
	var out []arch.Layer
	for _, l := range g.Layers {
		if l.Op != arch.OpGlobalPool {
			out = append(out, l)
		}
	}
	return out
}

// mobileTestMGParams reads Model Garden's expected backbone parameter
// counts at width 1.0.
func mobileTestMGParams(t *testing.T) map[string]int64 {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(data.MustFile("models/model_garden_expected_params.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, r := range rows[1:] {
		if r[1] == "1.00" {
			v, err := strconv.ParseInt(r[2], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			out[r[0]] = v
		}
	}
	return out
}

// TestMultiHWReferenceBlocksFromJSON re-derives the expected stage widths
// and ops straight from the Model Garden tables (independently of the zoo
// package) and checks the space's decoding of the two strings.
func TestMultiHWReferenceBlocksFromJSON(t *testing.T) {
	var spec struct {
		Models []struct {
			Name   string `json:"name"`
			Blocks []struct {
				BlockFn string   `json:"block_fn"`
				Kernel  *int     `json:"kernel_size"`
				Strides *int     `json:"strides"`
				Filters *int     `json:"filters"`
				Expand  *float64 `json:"expand_ratio"`
			} `json:"blocks"`
		} `json:"models"`
	}
	if err := json.Unmarshal(data.MustFile("models/reference_models.json"), &spec); err != nil {
		t.Fatal(err)
	}
	s := newMultiHW()
	for _, tc := range []struct{ name, choice string }{
		{"MobileNetMultiAVG", MultiAVGChoice}, {"MobileNetMultiMAX", MultiMAXChoice},
	} {
		var want []string
		for _, m := range spec.Models {
			if m.Name != tc.name {
				continue
			}
			for _, b := range m.Blocks {
				if b.BlockFn == "invertedbottleneck" {
					want = append(want, strconv.Itoa(*b.Kernel)+"/"+strconv.Itoa(*b.Strides)+"/"+strconv.Itoa(*b.Filters)+"/"+strconv.FormatFloat(*b.Expand, 'g', -1, 64))
				}
			}
		}
		if len(want) == 0 {
			t.Fatalf("%s not in reference_models.json", tc.name)
		}
		c, err := s.Parse(tc.choice)
		if err != nil {
			t.Fatal(err)
		}
		n, err := s.Network(c, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, b := range n.Blocks {
			if b.Type == arch.IBN {
				got = append(got, strconv.Itoa(b.Kernel)+"/"+strconv.Itoa(b.StrideOrOne())+"/"+strconv.Itoa(b.Filters)+"/"+strconv.FormatFloat(b.Expansion, 'g', -1, 64))
			}
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s IBNs (kernel/stride/filters/expansion):\n got %v\nwant %v", tc.name, got, want)
		}
	}
}

func TestMultiHWLog10Size(t *testing.T) {
	s := newMultiHW()
	// stem 4 widths x 2; stage widths 4,6,7,7,7; per stage 12 x 13^3 ops.
	want := math.Log10(4*2) + math.Log10(4*6*7*7*7) + 5*(math.Log10(12)+3*math.Log10(13))
	got := Log10Size(s)
	if math.Abs(got-want) > 1e-9 {
		t.Fatalf("Log10Size = %.6f, want %.6f", got, want)
	}
	if got < 26 || got > 28 {
		t.Fatalf("Log10Size = %.3f, outside the expected 1e26..1e28", got)
	}
	if n := len(s.Decisions()); n != 2+5*5 {
		t.Fatalf("%d decisions, want 27", n)
	}
	t.Logf("multihw: %d decisions, log10 size %.4f", len(s.Decisions()), got)
}

func TestMultiHWWidthChoices(t *testing.T) {
	s := newMultiHW()
	want := map[string]string{
		"stem/width":   "8 16 24 32",
		"stage1/width": "8 16 24 32",
		"stage2/width": "16 24 32 40 48 64",
		"stage3/width": "32 40 48 64 80 96 128",
		"stage4/width": "64 80 96 128 160 192 256",
		"stage5/width": "128 160 192 256 320 384 512",
	}
	for _, d := range s.Decisions() {
		if w, ok := want[d.Name]; ok {
			if got := strings.Join(d.Choices, " "); got != w {
				t.Errorf("%s: %s, want %s", d.Name, got, w)
			}
			delete(want, d.Name)
		}
	}
	if len(want) != 0 {
		t.Errorf("missing decisions %v", want)
	}
}

func TestMultiHWRoundTrip(t *testing.T) {
	s := newMultiHW()
	mobileTestRoundTrip(t, s, 400)
	mobileTestNoIrrelevant(t, s)
}

func TestMultiHWStemSep(t *testing.T) {
	s := newMultiHW()
	c, err := s.Parse("24:sep3/32:k3e3,skip,skip,skip/64:k5e6,k3e2,k3e2,skip/128:k5e6,k3e4,k3e3,k3e3/128:k3e6,k3e3,skip,skip/160:k3e6,k5e4,k3e5,k5e4")
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.Network(c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := n.Blocks[1]
	if b.Type != arch.DWSep || b.Kernel != 3 || b.Filters != 24 || b.Residual == nil || !*b.Residual || n.Blocks[0].Filters != 24 {
		t.Fatalf("stem: %+v %+v", n.Blocks[0], b)
	}
	g, err := n.Lower(0)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range g.Layers {
		if l.Block == 1 && l.Op == arch.OpAdd {
			found = true
		}
	}
	if !found {
		t.Fatal("the stem separable conv has no residual add")
	}
}

func TestMultiHWBadInput(t *testing.T) {
	s := newMultiHW()
	mobileTestBadChoices(t, s)
	ref := MultiMAXChoice
	mobileTestParseErrors(t, s, map[string]string{
		"": `"" has 1`,
		strings.TrimSuffix(ref, "/160:k3e6,k5e4,k3e5,k5e4"): "expected 6",
		ref + "/x": "expected 6",
		strings.Replace(ref, "32:skip", "32skip", 1):                 `"32skip" has no ':'`,
		strings.Replace(ref, "32:skip", "33:skip", 1):                `"33"`,
		strings.Replace(ref, "32:skip", "32.0:skip", 1):              `"32.0"`,
		strings.Replace(ref, "32:skip", "32:sep5", 1):                `"sep5"`,
		strings.Replace(ref, "32:k3e3,", "32:skip,", 1):              "cannot be skipped",
		strings.Replace(ref, "k5e6,k3e2", "k7e6,k3e2", 1):            `"k7e6"`,
		strings.Replace(ref, "k5e6,k3e2", "k5e7,k3e2", 1):            `"k5e7"`,
		strings.Replace(ref, "k5e6,k3e2", "K5E6,k3e2", 1):            `"K5E6"`,
		strings.Replace(ref, "k5e6,k3e2", "k5e6se,k3e2", 1):          `"k5e6se"`,
		strings.Replace(ref, "k5e6,k3e2", " k5e6,k3e2", 1):           `" k5e6"`,
		strings.Replace(ref, ",skip,skip,skip", ",skip,skip", 1):     "has 3 comma-separated entries, expected 4",
		strings.Replace(ref, "k5e4,k3e5,k5e4", "k5e4,k3e5,k5e4,", 1): "has 5 comma-separated",
		strings.Replace(ref, "/", "|", 1):                            "expected 6",
	})
}

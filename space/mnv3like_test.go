package space

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/arch"
)

// testMNV3 is a member close to MobileNetV3-Large in spirit, used as a
// well-formed reference string by the error tests.
const testMNV3 = "16:conv3,sep3/24:k3e4,k3e3,skip,skip/48:k5e3se,k5e3se,k5e3se,skip/96:k3e6,k3e3,k3e2,k3e2/128:k3e6se,k3e6se,skip,skip/160:k5e6se,k5e6se,k5e6se,skip/head:1024,1280"

func TestMNV3Layout(t *testing.T) {
	s := newMNV3Like()
	ds := s.Decisions()
	if len(ds) != 3+5*5+2 {
		t.Fatalf("%d decisions, want 30", len(ds))
	}
	want := map[string]string{
		"stem/width":   "8 16 24 32",
		"stem/kernel":  "conv3 conv5",
		"stem/sep":     "skip sep3 sep5 sep7",
		"stage1/width": "8 16 24 32",
		"stage2/width": "16 24 32 40 48 64",
		"stage3/width": "32 40 48 64 80 96 128",
		"stage4/width": "64 80 96 128 160 192 256",
		"stage5/width": "128 160 192 256 320 384 512",
		"head/conv":    "256 320 384 512 640 768 1024",
		"head/final":   "512 640 768 1024 1280 1536 2048",
	}
	for _, d := range ds {
		switch {
		case want[d.Name] != "":
			if got := strings.Join(d.Choices, " "); got != want[d.Name] {
				t.Errorf("%s: %s, want %s", d.Name, got, want[d.Name])
			}
		case strings.HasSuffix(d.Name, "/layer1"):
			if len(d.Choices) != 36 || d.Choices[0] != "k3e1" || d.Choices[1] != "k3e1se" || d.Choices[35] != "k7e6se" {
				t.Errorf("%s: %d choices %v", d.Name, len(d.Choices), d.Choices)
			}
		default:
			if len(d.Choices) != 37 || d.Choices[0] != "skip" {
				t.Errorf("%s: %d choices %v", d.Name, len(d.Choices), d.Choices)
			}
		}
	}
	size := math.Log10(4*2*4) + math.Log10(4*6*7*7*7) + 5*(math.Log10(36)+3*math.Log10(37)) + math.Log10(7*7)
	if got := Log10Size(s); math.Abs(got-size) > 1e-9 {
		t.Errorf("Log10Size %.6f, want %.6f", got, size)
	}
	t.Logf("mnv3like: %d decisions, log10 size %.4f", len(ds), Log10Size(s))
}

// TestMNV3SmallestByHand checks the all-zeros choice vector (every width at
// its smallest, conv3 stem, no separable conv, k3e1 first layers, every
// optional layer skipped) against a parameter count worked out by hand:
//
//	stem conv 3*3*3*8 + BN 2*8                        =    232
//	stage1 8->8 (s2): expand 8*8+16, dw 9*8+16, proj 8*8+16 =   248
//	stage2 8->16:  expand 64+16,  dw 72+16,  proj 128+32  =    328
//	stage3 16->32: expand 256+32, dw 144+32, proj 512+64  =   1040
//	stage4 32->64: expand 1024+64, dw 288+64, proj 2048+128 = 3616
//	stage5 64->128: expand 4096+128, dw 576+128, proj 8192+256 = 13376
//	head conv 128*256 + BN 512                        =  33280
//	final conv 256*512 + bias 512 (no BN)             = 131584
//	classifier 512*1000 + 1000                        = 513000
//	total                                             = 696704
//
// The 1x1 expand conv at expansion 1 is TuNAS's; Model Garden would drop it.
func TestMNV3SmallestByHand(t *testing.T) {
	s := newMNV3Like()
	c := make([]int, len(s.Decisions()))
	str, _ := s.Format(c)
	if want := "8:conv3,skip/8:k3e1,skip,skip,skip/16:k3e1,skip,skip,skip/32:k3e1,skip,skip,skip/64:k3e1,skip,skip,skip/128:k3e1,skip,skip,skip/head:256,512"; str != want {
		t.Fatalf("Format(zeros) = %s, want %s", str, want)
	}
	n, err := s.Network(c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p, _, _ := mobileTestCount(t, n, 0); p != 696704 {
		t.Fatalf("%d params, worked out by hand: 696704", p)
	}
}

// TestMNV3Structure checks the TuNAS details that parameter counts do not
// see: residuals, activations, SE width and gate, the separable stem conv.
func TestMNV3Structure(t *testing.T) {
	s := newMNV3Like()
	// Stage 3 and 4 both 128 wide: stage 4's first layer is stride 1 with
	// equal shapes, and TuNAS still gives it no residual.
	str := "24:conv5,sep7/32:k3e3,k5e2,skip,skip/64:k3e3,skip,skip,skip/128:k3e1,skip,skip,skip/128:k3e6se,k7e1se,skip,skip/256:k5e6se,skip,skip,skip/head:512,1024"
	c, err := s.Parse(str)
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.Network(c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := n.Lower(0)
	if err != nil {
		t.Fatal(err)
	}
	type info struct {
		add    bool
		expand bool
		seRed  int
		seGate arch.Activation
	}
	blocks := make([]info, len(n.Blocks))
	for _, l := range g.Layers {
		if l.Block < 0 {
			continue
		}
		b := &blocks[l.Block]
		switch l.Part {
		case "residual":
			b.add = true
		case "expand":
			b.expand = true
		case "se.reduce":
			b.seRed = l.Out.C
		case "se.expand":
			b.seGate = l.Activation
		}
	}
	want := []struct {
		typ     arch.Kind
		kernel  int
		filters int
		act     arch.Activation
		add     bool
		expand  bool
		seRed   int
	}{
		{arch.Conv, 5, 24, arch.HSwish, false, false, 0},
		{arch.IBN, 7, 24, arch.ReLU, true, false, 0}, // separable conv: dw + linear 1x1, residual
		{arch.IBN, 3, 32, arch.ReLU, false, true, 0},
		{arch.IBN, 5, 32, arch.ReLU, true, true, 0},
		{arch.IBN, 3, 64, arch.ReLU, false, true, 0},
		{arch.IBN, 3, 128, arch.HSwish, false, true, 0},   // k3e1: TuNAS keeps the expand conv
		{arch.IBN, 3, 128, arch.HSwish, false, true, 192}, // stride 1, 128 -> 128, no residual; SE 768/4
		{arch.IBN, 7, 128, arch.HSwish, true, true, 32},   // SE 128/4
		{arch.IBN, 5, 256, arch.HSwish, false, true, 192},
		{arch.Conv, 1, 512, arch.HSwish, false, false, 0},
		{arch.GlobalPool, 0, 0, "", false, false, 0},
		{arch.Conv, 1, 1024, arch.HSwish, false, false, 0},
		{arch.FC, 0, 1000, "", false, false, 0},
	}
	if len(n.Blocks) != len(want) {
		t.Fatalf("%d blocks, want %d: %+v", len(n.Blocks), len(want), n.Blocks)
	}
	for i, w := range want {
		b, got := n.Blocks[i], blocks[i]
		if b.Type != w.typ || b.Kernel != w.kernel || b.Filters != w.filters || b.Activation != w.act ||
			got.add != w.add || got.expand != w.expand || got.seRed != w.seRed {
			t.Errorf("block %d: %+v %+v, want %+v", i, b, got, w)
		}
		if w.seRed > 0 && got.seGate != arch.Sigmoid {
			t.Errorf("block %d: SE gate %s, want sigmoid (TuNAS's default)", i, got.seGate)
		}
	}
	if last := n.Blocks[11]; last.HasBN() || !last.HasBias() {
		t.Errorf("final 1x1 conv: TuNAS uses a bias and no batch norm, got %+v", last)
	}
	if n.Blocks[6].StrideOrOne() != 1 || n.Blocks[8].StrideOrOne() != 2 {
		t.Errorf("strides: stage 4 first %d, stage 5 first %d", n.Blocks[6].StrideOrOne(), n.Blocks[8].StrideOrOne())
	}
	if out := g.Tensors[g.BlockOut[8]]; out != (arch.Shape{H: 7, W: 7, C: 256}) {
		t.Errorf("stage 5 output %v, want 7x7x256", out)
	}
}

// mobileTestNote10Keys returns the Once-for-All table keys of the inverted
// bottlenecks of a network lowered at 224.
func mobileTestNote10Keys(t *testing.T, n *arch.Network) []string {
	t.Helper()
	g, err := n.Lower(224)
	if err != nil {
		t.Fatal(err)
	}
	type facts struct{ expand, idskip int }
	f := make([]facts, len(n.Blocks))
	for _, l := range g.Layers {
		if l.Block < 0 {
			continue
		}
		switch {
		case l.Op == arch.OpDepthwise:
			f[l.Block].expand = l.In.C
		case l.Op == arch.OpAdd:
			f[l.Block].idskip = 1
		}
	}
	var keys []string
	for i, b := range n.Blocks {
		if b.Type != arch.IBN {
			continue
		}
		in := g.Tensors[0]
		if i > 0 {
			in = g.Tensors[g.BlockOut[i-1]]
		}
		se, hs := 0, 0
		if b.SERatio > 0 {
			se = 1
		}
		if b.Activation == arch.HSwish {
			hs = 1
		}
		keys = append(keys, fmt.Sprintf("expanded_conv-input:%s-output:%s-expand:%d-kernel:%d-stride:%d-idskip:%d-se:%d-hs:%d",
			in, g.Tensors[g.BlockOut[i]], f[i].expand, b.Kernel, b.StrideOrOne(), f[i].idskip, se, hs))
	}
	return keys
}

// TestMNV3Note10Coverage enumerates every inverted-bottleneck configuration
// the space can produce at 224 (a layer's configuration depends only on its
// stage, position, op and the widths of its own and the previous stage) and
// counts how many have an entry in Once-for-All's Note10 table. The table
// covers OFA's own widths (24, 32, 48, 96, 136, 192), so most of this space
// is absent; the test pins the count so that a change in either shows up.
func TestMNV3Note10Coverage(t *testing.T) {
	s := newMNV3Like()
	m := s.(*mnv3Like)
	lut := mobileTestLUTKeys(t, "lut/note10_224.yaml")
	ds := s.Decisions()
	all := map[string]bool{}
	base := make([]int, len(ds))
	// Stem separable convs.
	for w := range ds[m.stemWidth].Choices {
		for sep := 1; sep < 4; sep++ {
			c := append([]int(nil), base...)
			c[m.stemWidth], c[m.stemSep] = w, sep
			n, err := s.Network(c, Options{})
			if err != nil {
				t.Fatal(err)
			}
			all[mobileTestNote10Keys(t, n)[0]] = true
		}
	}
	// Stage layers: first layer (input = previous width) and an optional
	// one (input = output), for every width pair and op.
	for i, st := range m.stages {
		prev := m.stemWidth
		if i > 0 {
			prev = m.stages[i-1].width
		}
		for pw := range ds[prev].Choices {
			for w := range ds[st.width].Choices {
				for op := range ds[st.layers[0]].Choices {
					c := append([]int(nil), base...)
					c[prev], c[st.width] = pw, w
					c[st.layers[0]] = op
					c[st.layers[1]] = op + 1 // the same op; index 0 is skip
					n, err := s.Network(c, Options{})
					if err != nil {
						t.Fatal(err)
					}
					for _, k := range mobileTestNote10Keys(t, n) {
						all[k] = true
					}
				}
			}
		}
	}
	found := 0
	for k := range all {
		if lut[k] {
			found++
			if testing.Verbose() {
				t.Log("in table:", k)
			}
		}
	}
	sep24 := "expanded_conv-input:112x112x24-output:112x112x24-expand:24-kernel:3-stride:1-idskip:1-se:0-hs:0"
	if !all[sep24] || !lut[sep24] {
		t.Errorf("the 24-channel 3x3 stem separable conv should be both in the space and in the table (%v, %v)", all[sep24], lut[sep24])
	}
	// 12 stem separable convs (4 widths x 3 kernels); first layers
	// 36 ops x width pairs 4*4 + 4*6 + 6*7 + 7*7 + 7*7 = 6480; optional
	// layers 36 x (4+6+7+7+7) = 1116; less 4*36 = 144 configurations that
	// stages 3 and 4 share (both run at 14x14 with hard-swish, and their
	// widths overlap at 64, 80, 96, 128).
	const wantAll, wantFound = 12 + 6480 + 1116 - 144, 64
	if len(all) != wantAll || found != wantFound {
		t.Errorf("%d distinct configurations, %d in the Note10 table; pinned %d, %d", len(all), found, wantAll, wantFound)
	}
	t.Logf("mnv3like: %d distinct inverted-bottleneck configurations at 224, %d of them in note10_224.yaml (%d expanded_conv entries there)",
		len(all), found, mobileTestCountPrefix(lut, "expanded_conv"))
}

func mobileTestCountPrefix(m map[string]bool, p string) int {
	n := 0
	for k := range m {
		if strings.HasPrefix(k, p) {
			n++
		}
	}
	return n
}

func TestMNV3RoundTrip(t *testing.T) {
	s := newMNV3Like()
	mobileTestRoundTrip(t, s, 400)
	mobileTestNoIrrelevant(t, s)
}

func TestMNV3BadInput(t *testing.T) {
	s := newMNV3Like()
	mobileTestBadChoices(t, s)
	ref := testMNV3
	if _, err := s.Parse(ref); err != nil {
		t.Fatalf("reference string: %v", err)
	}
	mobileTestParseErrors(t, s, map[string]string{
		"": "expected 7",
		strings.Replace(ref, "/head:1024,1280", "", 1):              "expected 7",
		strings.Replace(ref, "head:1024,1280", "1024,1280", 1):      `"1024,1280" has no ':'`,
		strings.Replace(ref, "head:1024,1280", "tail:1024,1280", 1): `starts with "tail"`,
		strings.Replace(ref, "head:1024,1280", "head:1000,1280", 1): `"1000"`,
		strings.Replace(ref, "head:1024,1280", "head:1024", 1):      "has 1 comma-separated entries, expected 2",
		strings.Replace(ref, "16:conv3", "16:conv7", 1):             `"conv7"`,
		strings.Replace(ref, "conv3,sep3", "conv3,sep9", 1):         `"sep9"`,
		strings.Replace(ref, "conv3,sep3", "sep3,conv3", 1):         `"sep3"`,
		strings.Replace(ref, "24:k3e4", "24:skip", 1):               "cannot be skipped",
		strings.Replace(ref, "24:k3e4", "24:k3e4SE", 1):             `"k3e4SE"`,
		strings.Replace(ref, "24:k3e4", "24:k3e4se2", 1):            `"k3e4se2"`,
		strings.Replace(ref, "24:k3e4", "24:k3e0", 1):               `"k3e0"`,
		strings.Replace(ref, "24:k3e4", "25:k3e4", 1):               `"25"`,
		strings.Replace(ref, "skip,skip/48", "skipse,skip/48", 1):   `"skipse"`,
	})
}

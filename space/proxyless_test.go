package space

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/data"
)

// testProxylessMobile is the op sequence of the published ProxylessNAS-Mobile
// (Cai et al. 2019, Figure 4; the same ops are TuNAS's
// PROXYLESSNAS_MOBILE_OPERATIONS in mobile_model_archive.py).
const testProxylessMobile = "k5e3,k3e3,skip,skip/k7e3,k3e3,k5e3,k5e3/k7e6,k5e3,k5e3,k5e3/k5e6,k5e3,k5e3,k5e3/k7e6,k7e6,k7e3,k7e3/k7e6"

// mobileTestLUTKeys reads the top-level keys of one of the embedded latency tables
// (each entry is an unindented "key:" line followed by indented fields).
func mobileTestLUTKeys(t *testing.T, name string) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data.MustFile(name)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == ' ' || line[0] == '#' {
			continue
		}
		keys[strings.TrimSuffix(line, ":")] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(keys) == 0 {
		t.Fatalf("%s: no keys", name)
	}
	return keys
}

// mobileTestProxylessKeys returns the Pixel 1 table keys of every layer of a
// network lowered at 224, in ProxylessNAS's latency-estimator naming.
func mobileTestProxylessKeys(t *testing.T, n *arch.Network) []string {
	t.Helper()
	g, err := n.Lower(224)
	if err != nil {
		t.Fatal(err)
	}
	in := func(b int) arch.Shape {
		if b == 0 {
			return g.Tensors[0]
		}
		return g.Tensors[g.BlockOut[b-1]]
	}
	var keys []string
	for i, b := range n.Blocks {
		out := g.Tensors[g.BlockOut[i]]
		switch {
		case i == 0:
			keys = append(keys, fmt.Sprintf("Conv-input:%s-output:%s", in(i), out))
		case b.Type == arch.IBN:
			idskip := 0
			for _, l := range g.Layers {
				if l.Block == i && l.Op == arch.OpAdd {
					idskip = 1
				}
			}
			keys = append(keys, fmt.Sprintf("expanded_conv-input:%s-output:%s-expand:%g-kernel:%d-stride:%d-idskip:%d",
				in(i), out, b.Expansion, b.Kernel, b.StrideOrOne(), idskip))
		case b.Type == arch.Conv:
			keys = append(keys, fmt.Sprintf("Conv_1-input:%s-output:%s", in(i), out))
			// ProxylessNAS names the classifier by the 7x7 map it pools.
			keys = append(keys, fmt.Sprintf("Logits-input:%s-output:%d", out, n.Blocks[len(n.Blocks)-1].Filters))
		}
	}
	return keys
}

// TestProxylessLUTCoverage checks that every layer the space can produce at
// 224 has an entry in ProxylessNAS's Pixel 1 latency table. A layer's key
// depends only on its position and op (the widths are fixed), so setting
// all 21 layers to each op in turn covers every layer configuration.
func TestProxylessLUTCoverage(t *testing.T) {
	s := newProxyless()
	lut := mobileTestLUTKeys(t, "lut/proxylessnas_pixel1_mobile.yaml")
	used := map[string]bool{}
	ds := s.Decisions()
	ops := ds[0].Choices // the mandatory first layer: every op but skip
	for _, op := range ops {
		c := make([]int, len(ds))
		for d := range ds {
			c[d] = s.(*proxyless).index[d][op]
		}
		n, err := s.Network(c, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range mobileTestProxylessKeys(t, n) {
			used[k] = true
			if !lut[k] {
				t.Errorf("op %s: no table entry %q", op, k)
			}
		}
	}
	// 3 fixed entries, the fixed first block and 6 ops at 11 distinct
	// (input, output) positions.
	if len(used) != 3+1+6*11 {
		t.Errorf("%d distinct layer configurations, want 70", len(used))
	}
	t.Logf("proxyless: all %d layer configurations at 224 are in the Pixel 1 table (%d entries)", len(used), len(lut))
}

// TestProxylessPublishedMobile checks parameter and MAC counts against
// the published ProxylessNAS-Mobile: 4.1M parameters and 320M MACs (Cai
// et al. 2019; 4,080,512 trainable parameters in pytorchcv's and the
// authors' PyTorch model). The published model widens stage 1 from 24 to
// 32 channels; widened the same way, the space's network must match the
// parameter count exactly, and as a member (24 channels) within 2%.
func TestProxylessPublishedMobile(t *testing.T) {
	s := newProxyless()
	c, err := s.Parse(testProxylessMobile)
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.Network(c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(n.Blocks); got != 2+19+3 {
		t.Fatalf("%d blocks, want 24 (stem, first MBConv, 19 searched layers, head)", got)
	}
	p, _, macs := mobileTestCount(t, n, 224)
	if math.Abs(float64(p)-4.1e6)/4.1e6 > 0.02 {
		t.Errorf("member version: %d params, published 4.1M", p)
	}
	if math.Abs(float64(macs)-320e6)/320e6 > 0.05 {
		t.Errorf("member version: %.1fM MACs, published 320M", float64(macs)/1e6)
	}
	wide := n.Clone()
	for i := range wide.Blocks {
		if wide.Blocks[i].Filters == 24 {
			wide.Blocks[i].Filters = 32
		}
	}
	wp, _, wmacs := mobileTestCount(t, wide, 224)
	if wp != 4080512 {
		t.Errorf("published (stage 1 at 32 channels): %d params, want 4080512", wp)
	}
	if math.Abs(float64(wmacs)-320e6)/320e6 > 0.03 {
		t.Errorf("published (stage 1 at 32 channels): %.1fM MACs, published 320M", float64(wmacs)/1e6)
	}
	t.Logf("ProxylessNAS-Mobile ops: member (stage 1 = 24) %d params %.1fM MACs; published widths %d params %.1fM MACs",
		p, float64(macs)/1e6, wp, float64(wmacs)/1e6)
}

func TestProxylessLayout(t *testing.T) {
	s := newProxyless()
	ds := s.Decisions()
	if len(ds) != 21 {
		t.Fatalf("%d decisions, want 21", len(ds))
	}
	for _, d := range ds {
		first := strings.HasSuffix(d.Name, "/layer1")
		want := "k3e3 k3e6 k5e3 k5e6 k7e3 k7e6"
		if !first {
			want = "skip " + want
		}
		if got := strings.Join(d.Choices, " "); got != want {
			t.Errorf("%s: %s, want %s", d.Name, got, want)
		}
	}
	want := 6*math.Log10(6) + 15*math.Log10(7)
	if got := Log10Size(s); math.Abs(got-want) > 1e-9 {
		t.Errorf("Log10Size %.6f, want %.6f", got, want)
	}
	t.Logf("proxyless: log10 size %.4f", Log10Size(s))
	// Stage strides and widths at 224: 112 (first block) -> 56, 28, 14, 14, 7, 7.
	c, _ := s.Parse(testProxylessMobile)
	n, _ := s.Network(c, Options{})
	g, err := n.Lower(0)
	if err != nil {
		t.Fatal(err)
	}
	var outs []string
	for i, b := range n.Blocks {
		if b.Type == arch.IBN {
			outs = append(outs, g.Tensors[g.BlockOut[i]].String())
		}
	}
	wantOuts := "112x112x16 56x56x24 56x56x24 28x28x40 28x28x40 28x28x40 28x28x40 14x14x80 14x14x80 14x14x80 14x14x80 " +
		"14x14x96 14x14x96 14x14x96 14x14x96 7x7x192 7x7x192 7x7x192 7x7x192 7x7x320"
	if got := strings.Join(outs, " "); got != wantOuts {
		t.Errorf("block outputs\n got %s\nwant %s", got, wantOuts)
	}
	for i, b := range n.Blocks {
		if b.Activation != "" && b.Activation != arch.ReLU6 {
			t.Errorf("block %d: activation %s, want relu6", i, b.Activation)
		}
	}
}

func TestProxylessRoundTrip(t *testing.T) {
	s := newProxyless()
	mobileTestRoundTrip(t, s, 400)
	mobileTestNoIrrelevant(t, s)
}

func TestProxylessBadInput(t *testing.T) {
	s := newProxyless()
	mobileTestBadChoices(t, s)
	ref := testProxylessMobile
	mobileTestParseErrors(t, s, map[string]string{
		"":                               "expected 6",
		strings.TrimSuffix(ref, "/k7e6"): "expected 6",
		ref + ",k3e3":                    `"k7e6,k3e3" has 2 comma-separated entries, expected 1`,
		strings.Replace(ref, "k5e3,k3e3,", "skip,k3e3,", 1):     "cannot be skipped",
		strings.Replace(ref, "/k7e6", "/skip", 1):               "cannot be skipped",
		strings.Replace(ref, "k5e3,k3e3,", "k5e4,k3e3,", 1):     `"k5e4"`,
		strings.Replace(ref, "k5e3,k3e3,", "k9e3,k3e3,", 1):     `"k9e3"`,
		strings.Replace(ref, "k5e3,k3e3,", "24:k5e3,k3e3,", 1):  `"24:k5e3"`,
		strings.Replace(ref, "k3e3,skip,skip", "k3e3,,skip", 1): `got ""`,
	})
}

package lut

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/data"
	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/space"
)

// yamlMeans reads a table the plain way (a map of key -> mean), as an
// independent reference for the readers.
func yamlMeans(t *testing.T, path string) map[string]float64 {
	t.Helper()
	var m map[string]struct {
		Mean float64 `yaml:"mean"`
	}
	if err := yaml.Unmarshal(data.MustFile(path), &m); err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for k, v := range m {
		out[k] = v.Mean
	}
	return out
}

func price(t *testing.T, tb *Table, n *arch.Network) float64 {
	t.Helper()
	net, err := latency.FromNetwork(n, 0)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := tb.Latency(net)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// TestNote10ExpandedConv: every expanded_conv key of every Note10 table,
// built as one arch ibn block with the key's settings, prices at exactly
// the key's mean. A 1x1 conv in front brings the input to the key's
// channels; the test gives it an entry of 0.
func TestNote10ExpandedConv(t *testing.T) {
	for _, res := range Note10Resolutions() {
		path := fmt.Sprintf("lut/note10_%d.yaml", res)
		means := yamlMeans(t, path)
		tb, err := Note10(res)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for key, mean := range means {
			if !strings.HasPrefix(key, "expanded_conv-") {
				continue
			}
			var h, w, c, oh, ow, oc, e, k, s, id, se, hs int
			if _, err := fmt.Sscanf(key, "expanded_conv-input:%dx%dx%d-output:%dx%dx%d-expand:%d-kernel:%d-stride:%d-idskip:%d-se:%d-hs:%d",
				&h, &w, &c, &oh, &ow, &oc, &e, &k, &s, &id, &se, &hs); err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			b := arch.Block{Type: arch.IBN, Kernel: k, Stride: s, Filters: oc, Expansion: float64(e) / float64(c),
				Activation: arch.ReLU, Residual: arch.Bool(id == 1)}
			if hs == 1 {
				b.Activation = arch.HSwish
			}
			if se == 1 {
				b.SERatio = 0.25
			}
			front := arch.Block{Type: arch.Conv, Kernel: 1, Filters: c, Activation: arch.ReLU}
			net := &arch.Network{Format: arch.Format, Resolution: h, Blocks: []arch.Block{front, b}}
			g := lower(t, net)
			sigs, err := Signatures(g)
			if err != nil {
				t.Fatal(err)
			}
			if err := tb.Set(sigs[0], 0); err != nil {
				t.Fatal(err)
			}
			if got := price(t, tb, net); got != mean {
				t.Errorf("%s: %g ms, want %g", key, got, mean)
			}
			n++
		}
		if n != 91 { // the first block and 5 stages x 18 (kernel, expansion, first or not)
			t.Errorf("%s: %d expanded_conv keys, want 91", path, n)
		}
	}
}

// ofaWidths is Once-for-All's MobileNetV3 at width 1.2 (the Note10
// tables' network): stage widths, strides, activations and SE.
var (
	ofaWidths  = []int{32, 48, 96, 136, 192}
	ofaStrides = []int{2, 2, 2, 1, 2}
	ofaHS      = []int{0, 0, 1, 1, 1}
	ofaSE      = []int{0, 1, 0, 1, 1}
)

// ofaNetwork builds a Once-for-All MobileNetV3 subnet from arch blocks and,
// independently, the list of table keys Once-for-All's estimator would
// query for it (with its own size arithmetic (f-1)/s+1).
func ofaNetwork(res int, depth []int, ks, es [][]int) (*arch.Network, []string) {
	blocks := []arch.Block{
		{Type: arch.Conv, Kernel: 3, Stride: 2, Filters: 24, Activation: arch.HSwish},
		{Type: arch.IBN, Kernel: 3, Filters: 24, Expansion: 1, Activation: arch.ReLU},
	}
	f := (res + 1) / 2
	keys := []string{
		fmt.Sprintf("Conv-input:%dx%dx3-output:%dx%dx24", res, res, f, f),
		fmt.Sprintf("expanded_conv-input:%dx%dx24-output:%dx%dx24-expand:24-kernel:3-stride:1-idskip:1-se:0-hs:0", f, f, f, f),
	}
	in := 24
	for st, w := range ofaWidths {
		for j := range depth[st] {
			s := 1
			if j == 0 {
				s = ofaStrides[st]
			}
			k, e := ks[st][j], es[st][j]
			b := arch.Block{Type: arch.IBN, Kernel: k, Stride: s, Filters: w, Expansion: float64(e), Activation: arch.ReLU}
			if ofaHS[st] == 1 {
				b.Activation = arch.HSwish
			}
			if ofaSE[st] == 1 {
				b.SERatio = 0.25
			}
			blocks = append(blocks, b)
			out := (f-1)/s + 1
			id := 0
			if s == 1 && in == w {
				id = 1
			}
			keys = append(keys, fmt.Sprintf("expanded_conv-input:%dx%dx%d-output:%dx%dx%d-expand:%d-kernel:%d-stride:%d-idskip:%d-se:%d-hs:%d",
				f, f, in, out, out, w, in*e, k, s, id, ofaSE[st], ofaHS[st]))
			f, in = out, w
		}
	}
	blocks = append(blocks,
		arch.Block{Type: arch.Conv, Kernel: 1, Filters: 1152, Activation: arch.HSwish},
		arch.Block{Type: arch.GlobalPool},
		arch.Block{Type: arch.Conv, Kernel: 1, Filters: 1536, Activation: arch.HSwish, BN: arch.Bool(false), Bias: arch.Bool(true)},
		arch.Block{Type: arch.FC, Filters: 1000},
	)
	keys = append(keys,
		fmt.Sprintf("Conv_1-input:%dx%dx192-output:%dx%dx1152", f, f, f, f),
		fmt.Sprintf("AvgPool2D-input:%dx%dx1152-output:1x1x1152", f, f),
		"Conv_2-input:1x1x1152-output:1x1x1536",
		"Logits-input:1x1x1536-output:1000",
	)
	return &arch.Network{Format: arch.Format, Name: "ofa", Resolution: res, Blocks: blocks}, keys
}

// TestNote10WholeNetworks: random Once-for-All subnets (depth 2-4, kernel
// 3/5/7, expansion 3/4/6 per layer) price at the sum of their keys' means.
func TestNote10WholeNetworks(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, res := range Note10Resolutions() {
		means := yamlMeans(t, fmt.Sprintf("lut/note10_%d.yaml", res))
		tb, err := Note10(res)
		if err != nil {
			t.Fatal(err)
		}
		for range 20 {
			depth := make([]int, 5)
			ks, es := make([][]int, 5), make([][]int, 5)
			for st := range depth {
				depth[st] = 2 + r.IntN(3)
				for range depth[st] {
					ks[st] = append(ks[st], []int{3, 5, 7}[r.IntN(3)])
					es[st] = append(es[st], []int{3, 4, 6}[r.IntN(3)])
				}
			}
			n, keys := ofaNetwork(res, depth, ks, es)
			var want float64
			for _, k := range keys {
				m, ok := means[k]
				if !ok {
					t.Fatalf("test built key %q that the table lacks", k)
				}
				want += m
			}
			if got := price(t, tb, n); math.Abs(got-want) > 1e-9 {
				t.Errorf("res %d depth %v: %g ms, want %g", res, depth, got, want)
			}
		}
	}
}

// proxylessMobileKeys are the table keys ProxylessNAS's estimator queries
// for the ops of the published ProxylessNAS-Mobile at 224, written out by
// hand from the space's stage layout (widths 24,40,80,96,192,320, strides
// 2,2,2,1,2,1, first block 32 -> 16).
var proxylessMobileKeys = []string{
	"Conv-input:224x224x3-output:112x112x32",
	"expanded_conv-input:112x112x32-output:112x112x16-expand:1-kernel:3-stride:1-idskip:0",
	// k5e3,k3e3,skip,skip
	"expanded_conv-input:112x112x16-output:56x56x24-expand:3-kernel:5-stride:2-idskip:0",
	"expanded_conv-input:56x56x24-output:56x56x24-expand:3-kernel:3-stride:1-idskip:1",
	// k7e3,k3e3,k5e3,k5e3
	"expanded_conv-input:56x56x24-output:28x28x40-expand:3-kernel:7-stride:2-idskip:0",
	"expanded_conv-input:28x28x40-output:28x28x40-expand:3-kernel:3-stride:1-idskip:1",
	"expanded_conv-input:28x28x40-output:28x28x40-expand:3-kernel:5-stride:1-idskip:1",
	"expanded_conv-input:28x28x40-output:28x28x40-expand:3-kernel:5-stride:1-idskip:1",
	// k7e6,k5e3,k5e3,k5e3
	"expanded_conv-input:28x28x40-output:14x14x80-expand:6-kernel:7-stride:2-idskip:0",
	"expanded_conv-input:14x14x80-output:14x14x80-expand:3-kernel:5-stride:1-idskip:1",
	"expanded_conv-input:14x14x80-output:14x14x80-expand:3-kernel:5-stride:1-idskip:1",
	"expanded_conv-input:14x14x80-output:14x14x80-expand:3-kernel:5-stride:1-idskip:1",
	// k5e6,k5e3,k5e3,k5e3
	"expanded_conv-input:14x14x80-output:14x14x96-expand:6-kernel:5-stride:1-idskip:0",
	"expanded_conv-input:14x14x96-output:14x14x96-expand:3-kernel:5-stride:1-idskip:1",
	"expanded_conv-input:14x14x96-output:14x14x96-expand:3-kernel:5-stride:1-idskip:1",
	"expanded_conv-input:14x14x96-output:14x14x96-expand:3-kernel:5-stride:1-idskip:1",
	// k7e6,k7e6,k7e3,k7e3
	"expanded_conv-input:14x14x96-output:7x7x192-expand:6-kernel:7-stride:2-idskip:0",
	"expanded_conv-input:7x7x192-output:7x7x192-expand:6-kernel:7-stride:1-idskip:1",
	"expanded_conv-input:7x7x192-output:7x7x192-expand:3-kernel:7-stride:1-idskip:1",
	"expanded_conv-input:7x7x192-output:7x7x192-expand:3-kernel:7-stride:1-idskip:1",
	// k7e6
	"expanded_conv-input:7x7x192-output:7x7x320-expand:6-kernel:7-stride:1-idskip:0",
	"Conv_1-input:7x7x320-output:7x7x1280",
	"Logits-input:7x7x1280-output:1000",
}

func TestPixel1ProxylessMobile(t *testing.T) {
	means := yamlMeans(t, "lut/proxylessnas_pixel1_mobile.yaml")
	var want float64
	for _, k := range proxylessMobileKeys {
		m, ok := means[k]
		if !ok {
			t.Fatalf("hand-written key %q is not in the table", k)
		}
		want += m
	}
	sp, err := space.Get("proxyless")
	if err != nil {
		t.Fatal(err)
	}
	c, err := sp.Parse("k5e3,k3e3,skip,skip/k7e3,k3e3,k5e3,k5e3/k7e6,k5e3,k5e3,k5e3/k5e6,k5e3,k5e3,k5e3/k7e6,k7e6,k7e3,k7e3/k7e6")
	if err != nil {
		t.Fatal(err)
	}
	net, err := latency.FromSpace(sp, c, 0)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := Pixel1()
	if err != nil {
		t.Fatal(err)
	}
	got, err := tb.Latency(net)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("ProxylessNAS-Mobile on Pixel 1: %g ms, want %g", got, want)
	}
	t.Logf("ProxylessNAS-Mobile (24-wide first stage) on the Pixel 1 table: %.3f ms", got)
}

// TestPixel1CoversSpace: every sampled proxyless network prices, and a
// network at another resolution or class count is unsupported.
func TestPixel1CoversSpace(t *testing.T) {
	sp, err := space.Get("proxyless")
	if err != nil {
		t.Fatal(err)
	}
	tb, err := Pixel1()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range space.Sample(sp, 200, 42) {
		net, err := latency.FromSpace(sp, c, 0)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := tb.Latency(net)
		if err != nil {
			t.Fatalf("%s: %v", net.Key, err)
		}
		if !(ms > 0) {
			t.Fatalf("%s: %g ms", net.Key, ms)
		}
	}
	c := space.Sample(sp, 1, 1)[0]
	for _, opt := range []space.Options{{Resolution: 192}, {Classes: 10}} {
		n, err := sp.Network(c, opt)
		if err != nil {
			t.Fatal(err)
		}
		net, err := latency.FromNetwork(n, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tb.Latency(net); !errors.Is(err, latency.ErrUnsupported) {
			t.Errorf("%+v: got %v, want ErrUnsupported", opt, err)
		}
	}
}

func TestNote10UnknownResolution(t *testing.T) {
	if _, err := Note10(200); err == nil || !strings.Contains(err.Error(), "160") {
		t.Errorf("got %v", err)
	}
}

const goodOFA = `Conv-input:224x224x3-output:112x112x24:
  count: 500
  mean: 0.99
  std: 0.01
expanded_conv-input:112x112x24-output:56x56x32-expand:144-kernel:3-stride:2-idskip:0-se:0-hs:0:
  count: 54
  mean: 4.8
  std: 0.08
Logits-input:1x1x1536-output:1000:
  mean: 0.67
`

const goodProxyless = `Conv-input:224x224x3-output:112x112x32:
  count: 982
  mean: 4.08
  var: 0.25
Logits-input:7x7x1280-output:1000:
  mean: 0.31
expanded_conv-input:112x112x16-output:56x56x24-expand:3-kernel:3-stride:2-idskip:0:
  mean: 6.24
`

func TestReadYAMLGood(t *testing.T) {
	tb, err := ReadOFA(strings.NewReader(goodOFA), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := ParseSignature("ibn:in=112x112x24,out=32,k=3,s=2,exp=144,g=1,se=0,act=relu,res=0")
	if ms, ok := tb.Lookup(s); !ok || ms != 4.8 {
		t.Errorf("lookup: %g %v", ms, ok)
	}
	p, err := ReadProxyless(strings.NewReader(goodProxyless), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Logits is split into the pool (its latency) and the classifier (0).
	pool, _ := ParseSignature("gpool:in=7x7x1280,out=1280,k=0,s=1,exp=1280,g=1,se=0,act=identity,res=0")
	fc, _ := ParseSignature("fc:in=1x1x1280,out=1000,k=0,s=1,exp=1280,g=1,se=0,act=identity,res=0")
	exp, _ := ParseSignature("ibn:in=112x112x16,out=24,k=3,s=2,exp=48,g=1,se=0,act=relu6,res=0")
	for _, c := range []struct {
		s  Signature
		ms float64
	}{{pool, 0.31}, {fc, 0}, {exp, 6.24}} {
		if ms, ok := p.Lookup(c.s); !ok || ms != c.ms {
			t.Errorf("%s: %g %v, want %g", c.s, ms, ok, c.ms)
		}
	}
}

// TestReadYAMLErrors: each malformed table is rejected with the file, the
// line and the key in the message.
func TestReadYAMLErrors(t *testing.T) {
	entry := func(key, body string) string { return key + ":\n" + body }
	mean := "  mean: 1.5\n"
	ec := "expanded_conv-input:56x56x32-output:56x56x32-expand:128-kernel:3-stride:1-idskip:1-se:0-hs:0"
	cases := []struct {
		name, in string
		want     []string
	}{
		{"empty", "", []string{"f.yaml", "empty"}},
		{"blank", "\n\n  \n", []string{"f.yaml", "empty"}},
		{"comment only", "# nothing\n", []string{"f.yaml", "no"}},
		{"not a mapping", "- a\n- b\n", []string{"f.yaml:1", "a list"}},
		{"syntax", "a: [1, 2\n", []string{"f.yaml", "invalid YAML"}},
		{"bad op", entry("Conv_9-input:1x1x3-output:1x1x3", mean), []string{"f.yaml:1", "Conv_9", "unknown op"}},
		{"bad key field", entry("Conv-input:224x224x3-outptu:112x112x24", mean), []string{"f.yaml:1", "outptu", "want output"}},
		{"bad shape", entry("Conv-input:224x224-output:112x112x24", mean), []string{"f.yaml:1", "HxWxC"}},
		{"missing field", entry("expanded_conv-input:56x56x32-output:56x56x32-expand:128-kernel:3-stride:1-idskip:1-se:0", mean), []string{"f.yaml:1", "8 fields"}},
		{"stride mismatch", entry("expanded_conv-input:56x56x32-output:56x56x32-expand:128-kernel:3-stride:2-idskip:0-se:0-hs:0", mean), []string{"f.yaml:1", "stride 2 on 56x56 gives 28x28"}},
		{"residual on stride 2", entry("expanded_conv-input:56x56x32-output:28x28x32-expand:128-kernel:3-stride:2-idskip:1-se:0-hs:0", mean), []string{"f.yaml:1", "idskip:1 needs stride 1"}},
		{"even kernel", entry(strings.Replace(ec, "kernel:3", "kernel:4", 1), mean), []string{"f.yaml:1", "odd"}},
		{"se 2", entry(strings.Replace(ec, "se:0", "se:2", 1), mean), []string{"f.yaml:1", "se 2"}},
		{"stem stride", entry("Conv-input:224x224x3-output:224x224x24", mean), []string{"f.yaml:1", "stride 2"}},
		{"pool shape", entry("AvgPool2D-input:7x7x96-output:1x1x48", mean), []string{"f.yaml:1", "global pooling"}},
		{"logits on a map", entry("Logits-input:7x7x96-output:1000", mean), []string{"f.yaml:1", "1x1 input"}},
		{"non-numeric mean", entry(ec, "  mean: fast\n"), []string{"f.yaml:2", ec, `mean "fast"`}},
		{"negative mean", entry(ec, "  mean: -1\n"), []string{"f.yaml:2", "mean", ">= 0"}},
		{"nan mean", entry(ec, "  mean: .nan\n"), []string{"f.yaml:2", "finite"}},
		{"no mean", entry(ec, "  count: 3\n"), []string{"f.yaml:1", "no mean"}},
		{"unknown field", entry(ec, mean+"  median: 1\n"), []string{"f.yaml:3", `unknown field "median"`}},
		{"duplicate field", entry(ec, mean+"  mean: 2\n"), []string{"f.yaml:3", `"mean" appears twice`}},
		{"value not mapping", ec + ": 1.5\n", []string{"f.yaml:1", "want a mapping"}},
		{"duplicate key", entry(ec, mean) + entry(ec, mean), []string{"f.yaml:3", "appears twice", "line 1"}},
		{"same op", entry("Conv_1-input:7x7x192-output:7x7x1152", mean) + entry("Conv_2-input:7x7x192-output:7x7x1152", mean), []string{"f.yaml:3", "same op", "line 1"}},
		{"two documents", entry(ec, mean) + "---\nfoo: 1\n", []string{"f.yaml", "another"}},
		{"huge dim", entry("Conv-input:224x224x3-output:112x112x99999999999999999999", mean), []string{"f.yaml:1", "larger"}},
	}
	for _, c := range cases {
		_, err := ReadOFA(strings.NewReader(c.in), "f.yaml")
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
	// ProxylessNAS keys have no se/hs and no separate pooling.
	for _, c := range []struct{ in, want string }{
		{entry(ec, mean), "6 fields"},
		{entry("AvgPool2D-input:7x7x96-output:1x1x96", mean), "unknown op"},
		{entry("expanded_conv-input:56x56x32-output:56x56x32-expand:0-kernel:3-stride:1-idskip:1", mean), "expand ratio 0"},
	} {
		_, err := ReadProxyless(strings.NewReader(c.in), "p.yaml")
		if err == nil || !strings.Contains(err.Error(), "p.yaml:1") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("proxyless %q: got %v, want p.yaml:1 and %q", c.in, err, c.want)
		}
	}
}

func FuzzReadOFA(f *testing.F) {
	f.Add([]byte(goodOFA))
	f.Add(data.MustFile("lut/note10_160.yaml")[:2000])
	f.Add([]byte("a: &x {mean: 1}\nb: *x\n"))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, in []byte) {
		tb, err := ReadOFA(strings.NewReader(string(in)), "fuzz.yaml")
		if err == nil && tb.Len() == 0 {
			t.Fatal("accepted a table without entries")
		}
	})
}

func FuzzReadProxyless(f *testing.F) {
	f.Add([]byte(goodProxyless))
	f.Add(data.MustFile("lut/proxylessnas_pixel1_mobile.yaml")[:2000])
	f.Fuzz(func(t *testing.T, in []byte) {
		tb, err := ReadProxyless(strings.NewReader(string(in)), "fuzz.yaml")
		if err == nil && tb.Len() == 0 {
			t.Fatal("accepted a table without entries")
		}
	})
}

package lut

import (
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/space"
)

func lower(t testing.TB, n *arch.Network) *arch.Graph {
	t.Helper()
	if n.Format == "" {
		n.Format = arch.Format
	}
	g, err := n.Lower(0)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestSignatureStrings checks signatures written out by hand from the
// block definitions (not from the code that computes them).
func TestSignatureStrings(t *testing.T) {
	n := &arch.Network{Resolution: 224, Blocks: []arch.Block{
		// OFA's stem and expand-ratio-1 first block.
		{Type: arch.Conv, Kernel: 3, Stride: 2, Filters: 24, Activation: arch.HSwish},
		{Type: arch.IBN, Kernel: 3, Filters: 24, Expansion: 1, Activation: arch.ReLU},
		// 24 * 6 = 144, stride 2: no residual.
		{Type: arch.IBN, Kernel: 5, Stride: 2, Filters: 32, Expansion: 6, Activation: arch.ReLU},
		// SE 0.25 of 128 = 32, TuNAS's sigmoid gate; residual.
		{Type: arch.IBN, Kernel: 3, Filters: 32, Expansion: 4, SERatio: 0.25, SEGate: arch.Sigmoid, Activation: arch.HSwish},
		// FBNet's IRF at expansion 1 keeps its expand conv; 2 groups.
		{Type: arch.IBN, Kernel: 3, Filters: 32, Expansion: 1, ExpandAlways: true, Groups: 2, Activation: arch.ReLU},
		{Type: arch.UIB, Stride: 2, Filters: 48, Expansion: 4, StartDW: 3, MiddleDW: 5, StartDWDownsample: true, Activation: arch.ReLU},
		{Type: arch.Tucker, Kernel: 3, Filters: 48, InputRatio: 0.25, OutputRatio: 0.75, Activation: arch.ReLU},
		{Type: arch.MHSA, Heads: 4, KeyDim: 16, ValueDim: 16, KVStride: 2, MultiQuery: true, LayerScale: true},
		{Type: arch.Cell, Ops: []string{"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "none"}},
		{Type: arch.Conv, Kernel: 1, Filters: 96, Activation: arch.HSwish},
		{Type: arch.GlobalPool},
		{Type: arch.Conv, Kernel: 1, Filters: 128, Activation: arch.HSwish, BN: arch.Bool(false), Bias: arch.Bool(true)},
		{Type: arch.FC, Filters: 1000},
	}}
	want := []string{
		"conv:in=224x224x3,out=24,k=3,s=2,exp=3,g=1,se=0,act=hswish,res=0",
		"ibn:in=112x112x24,out=24,k=3,s=1,exp=24,g=1,se=0,act=relu,res=1",
		"ibn:in=112x112x24,out=32,k=5,s=2,exp=144,g=1,se=0,act=relu,res=0",
		"ibn:in=56x56x32,out=32,k=3,s=1,exp=128,g=1,se=32,act=hswish,res=1,se_gate=sigmoid",
		"ibn:in=56x56x32,out=32,k=3,s=1,exp=32,g=2,se=0,act=relu,res=1,expand_conv=1",
		"uib:in=56x56x32,out=48,k=5,s=2,exp=128,g=1,se=0,act=relu,res=0,start_dw=3,start_dw_downsample=1",
		"tucker:in=28x28x48,out=48,k=3,s=1,exp=16,g=1,se=0,act=relu,res=1,mid=40",
		"mhsa:in=28x28x48,out=48,k=0,s=1,exp=48,g=1,se=0,act=identity,res=1,layer_scale=1,heads=4,key_dim=16,value_dim=16,kv_stride=2,kv_kernel=3,multi_query=1",
		"nb201_cell:in=28x28x48,out=48,k=0,s=1,exp=48,g=1,se=0,act=identity,res=0,ops=none|skip_connect|nor_conv_1x1|nor_conv_3x3|avg_pool_3x3|none",
		"conv:in=28x28x48,out=96,k=1,s=1,exp=48,g=1,se=0,act=hswish,res=0",
		"gpool:in=28x28x96,out=96,k=0,s=1,exp=96,g=1,se=0,act=identity,res=0",
		"conv:in=1x1x96,out=128,k=1,s=1,exp=96,g=1,se=0,act=hswish,res=0",
		"fc:in=1x1x128,out=1000,k=0,s=1,exp=128,g=1,se=0,act=identity,res=0",
	}
	sigs, err := Signatures(lower(t, n))
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != len(want) {
		t.Fatalf("%d signatures, want %d", len(sigs), len(want))
	}
	for i, s := range sigs {
		if got := s.String(); got != want[i] {
			t.Errorf("block %d:\n got %s\nwant %s", i, got, want[i])
		}
		back, err := ParseSignature(want[i])
		if err != nil {
			t.Errorf("block %d: %v", i, err)
		} else if back != s {
			t.Errorf("block %d: parse gives %+v, want %+v", i, back, s)
		}
	}
}

// TestSignatureRoundTripSpaces: every block of networks sampled from every
// built-in space round-trips through its string.
func TestSignatureRoundTripSpaces(t *testing.T) {
	for _, name := range space.Names() {
		sp, err := space.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range space.Sample(sp, 30, 7) {
			n, err := sp.Network(c, space.Options{})
			if err != nil {
				t.Fatal(err)
			}
			sigs, err := Signatures(lower(t, n))
			if err != nil {
				t.Fatalf("%s: %v", n.Name, err)
			}
			for _, s := range sigs {
				str := s.String()
				back, err := ParseSignature(str)
				if err != nil {
					t.Fatalf("%s: %v", n.Name, err)
				}
				if back != s || back.String() != str {
					t.Fatalf("%s: %s round-trips to %s", n.Name, str, back)
				}
			}
		}
	}
}

// TestSignatureDistinct: ops that differ only in a kind-specific detail
// get different signatures.
func TestSignatureDistinct(t *testing.T) {
	base := arch.Block{Type: arch.IBN, Kernel: 3, Filters: 16, Expansion: 1, Activation: arch.ReLU}
	variants := []arch.Block{base}
	b := base
	b.ExpandAlways = true
	variants = append(variants, b)
	b = base
	b.Expansion, b.SERatio = 4, 0.25
	variants = append(variants, b)
	b.SEGate = arch.Sigmoid
	variants = append(variants, b)
	b = base
	b.Residual = arch.Bool(false)
	variants = append(variants, b)
	uib := arch.Block{Type: arch.UIB, Filters: 16, Expansion: 4, MiddleDW: 3, Activation: arch.ReLU}
	variants = append(variants, uib)
	uib.StartDW = 3
	variants = append(variants, uib)
	uib.StartDW, uib.MiddleDW = 5, 0
	variants = append(variants, uib)
	seen := map[string]int{}
	for i, v := range variants {
		n := &arch.Network{Resolution: 16, InputChannels: 16, Blocks: []arch.Block{v}}
		sigs, err := Signatures(lower(t, n))
		if err != nil {
			t.Fatal(err)
		}
		s := sigs[0].String()
		if j, dup := seen[s]; dup {
			t.Errorf("variants %d and %d share %s", j, i, s)
		}
		seen[s] = i
	}
}

func TestParseSignatureErrors(t *testing.T) {
	good := "ibn:in=56x56x32,out=32,k=3,s=1,exp=128,g=1,se=32,act=hswish,res=1"
	cases := []struct{ in, want string }{
		{"", `no ":"`},
		{"transformer:in=1x1x1", `unknown op kind "transformer"`},
		{"ibn:in=56x56x32,out=32", "at least the 9 common"},
		{strings.Replace(good, "in=56x56x32", "in=56x56", 1), "HxWxC"},
		{strings.Replace(good, "in=56x56x32", "in=56x0x32", 1), "at least 1"},
		{strings.Replace(good, "k=3", "k=-3", 1), "canonical non-negative integer"},
		{strings.Replace(good, "k=3", "k=03", 1), "canonical"},
		{strings.Replace(good, "k=3", "kernel=3", 1), "want k="},
		{strings.Replace(good, "out=32,k=3", "k=3,out=32", 1), "want out="},
		{strings.Replace(good, "act=hswish", "act=mish", 1), `unknown activation "mish"`},
		{strings.Replace(good, "res=1", "res=2", 1), "0 or 1"},
		{strings.Replace(good, "exp=128", "exp=99999999999", 1), "larger than"},
		{good + ",colour=red", `unknown field "colour"`},
		{good + ",mid=3", "does not apply to a ibn"},
		{good + ",se_gate=hsigmoid", "only sigmoid"},
		{good + ",expand_conv=1", "keeps the width"},
		{good + ",expand_conv=0", "only when set"},
		{good + ",k=5", "appears twice"},
		{good + ",se_gate=sigmoid,expand_conv=1", "out of order"},
		{good + ",", "not name=value"},
		{"nb201_cell:in=8x8x16,out=16,k=0,s=1,exp=16,g=1,se=0,act=identity,res=0", "unknown cell op"},
		{"nb201_cell:in=8x8x16,out=16,k=0,s=1,exp=16,g=1,se=0,act=identity,res=0,ops=none|none", "6 edge ops"},
		{"uib:in=8x8x16,out=16,k=3,s=1,exp=64,g=1,se=0,act=relu,res=1,start_dw=3,start_dw_downsample=1", "stride > 1"},
		{"mhsa:in=8x8x16,out=16,k=0,s=1,exp=16,g=1,se=0,act=identity,res=1,heads=2,kv_stride=2", "come together"},
	}
	for _, c := range cases {
		_, err := ParseSignature(c.in)
		if err == nil {
			t.Errorf("%q: accepted", c.in)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %q does not mention %q", c.in, err, c.want)
		}
	}
}

func TestSignaturesNeedsNetwork(t *testing.T) {
	if _, err := Signatures(nil); err == nil {
		t.Error("nil graph accepted")
	}
	if _, err := Signatures(&arch.Graph{}); err == nil {
		t.Error("graph without network accepted")
	}
}

func FuzzParseSignature(f *testing.F) {
	f.Add("ibn:in=112x112x24,out=32,k=3,s=2,exp=144,g=1,se=0,act=relu,res=0")
	f.Add("ibn:in=56x56x32,out=32,k=3,s=1,exp=32,g=2,se=0,act=relu,res=1,expand_conv=1")
	f.Add("nb201_cell:in=28x28x48,out=48,k=0,s=1,exp=48,g=1,se=0,act=identity,res=0,ops=none|skip_connect|nor_conv_1x1|nor_conv_3x3|avg_pool_3x3|none")
	f.Add("mhsa:in=28x28x48,out=48,k=0,s=1,exp=48,g=1,se=0,act=identity,res=1,layer_scale=1,heads=4,key_dim=16,value_dim=16,kv_stride=2,kv_kernel=3,multi_query=1")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseSignature(in)
		if err != nil {
			return
		}
		if s.String() != in {
			t.Fatalf("accepted %q but writes %q", in, s.String())
		}
		back, err := ParseSignature(s.String())
		if err != nil || back != s {
			t.Fatalf("re-parse of %q: %v", in, err)
		}
		_ = distance(s, back)
	})
}

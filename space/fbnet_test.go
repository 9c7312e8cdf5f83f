package space

import (
	"bytes"
	"encoding/csv"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/data"
)

// fbnetTestLayers are the 22 searchable layers of HW-NAS-Bench's CIFAR
// FBNet written out by hand (input channels, output channels, stride,
// output resolution at 32x32), to check the layout code against.
var fbnetTestLayers = [22][4]int{
	{16, 16, 1, 32},
	{16, 24, 1, 32}, {24, 24, 1, 32}, {24, 24, 1, 32}, {24, 24, 1, 32},
	{24, 32, 2, 16}, {32, 32, 1, 16}, {32, 32, 1, 16}, {32, 32, 1, 16},
	{32, 64, 2, 8}, {64, 64, 1, 8}, {64, 64, 1, 8}, {64, 64, 1, 8},
	{64, 112, 1, 8}, {112, 112, 1, 8}, {112, 112, 1, 8}, {112, 112, 1, 8},
	{112, 184, 2, 4}, {184, 184, 1, 4}, {184, 184, 1, 4}, {184, 184, 1, 4},
	{184, 352, 1, 4},
}

// fbnetTestCounts computes parameters and MACs of a choice vector straight
// from HW-NAS-Bench's PyTorch module definitions (ConvBlock: grouped 1x1
// conv to in*e, BN, kxk depthwise, BN, grouped 1x1 conv, BN; Skip: nothing,
// or a strided 1x1 conv + BN), independently of arch's lowering. MACs
// follow spaceTestCounts (fc bias included).
func fbnetTestCounts(choice []int, classes int) (params, macs int64) {
	params += 3*16*9 + 2*16
	macs += 32 * 32 * 3 * 16 * 9
	for i, c := range choice {
		in, out, stride, r := int64(fbnetTestLayers[i][0]), int64(fbnetTestLayers[i][1]), fbnetTestLayers[i][2], int64(fbnetTestLayers[i][3])
		rin := r * int64(stride)
		op := fbnetOps[c]
		if op == "skip" {
			if stride != 1 || in != out {
				params += in*out + 2*out
				macs += r * r * in * out
			}
			continue
		}
		var k, e, g int64 = 3, 1, 1
		if strings.HasPrefix(op, "k5") {
			k = 5
		}
		switch {
		case strings.Contains(op, "_e3"):
			e = 3
		case strings.Contains(op, "_e6"):
			e = 6
		}
		if strings.HasSuffix(op, "_g2") {
			g = 2
		}
		m := in * e
		params += in*m/g + 2*m + k*k*m + 2*m + m*out/g + 2*out
		macs += rin*rin*in*m/g + r*r*k*k*m + r*r*m*out/g
	}
	params += 352*1504 + 2*1504 + 1504*int64(classes) + int64(classes)
	macs += 4*4*352*1504 + 1504*int64(classes) + int64(classes)
	return params, macs
}

func TestFBNetDecisions(t *testing.T) {
	s := newFBNet()
	ds := s.Decisions()
	want := []string{"k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip"}
	size := big.NewInt(1)
	for _, d := range ds {
		if !slices.Equal(d.Choices, want) {
			t.Errorf("%s: choices %q, want %q", d.Name, d.Choices, want)
		}
		size.Mul(size, big.NewInt(int64(len(d.Choices))))
	}
	if len(ds) != 22 {
		t.Fatalf("%d decisions, want 22", len(ds))
	}
	if want := new(big.Int).Exp(big.NewInt(9), big.NewInt(22), nil); size.Cmp(want) != 0 {
		t.Errorf("space size %v, want 9^22 = %v", size, want)
	}
	if l := Log10Size(s); math.Abs(l-22*math.Log10(9)) > 1e-9 {
		t.Errorf("Log10Size %v, want %v", l, 22*math.Log10(9))
	}
	// Decisions must hand out copies: a caller editing its choices must
	// not change the space.
	ds[0].Choices[0] = "x"
	if s.Decisions()[0].Choices[0] != "k3_e1" {
		t.Error("Decisions shares its choice slices")
	}
	if s.DefaultResolution() != 32 || s.DefaultClasses() != 100 {
		t.Errorf("defaults %d/%d, want 32/100", s.DefaultResolution(), s.DefaultClasses())
	}
}

func TestFBNetLayout(t *testing.T) {
	ls := fbnetLayout()
	if len(ls) != 22 {
		t.Fatalf("%d layers", len(ls))
	}
	for i, l := range ls {
		w := fbnetTestLayers[i]
		if l.in != w[0] || l.out != w[1] || l.stride != w[2] {
			t.Errorf("layer %d: %+v, want in %d out %d stride %d", i, l, w[0], w[1], w[2])
		}
	}
}

// TestFBNetCSV parses, round-trips and lowers every benchmark row, and
// checks parameters and MACs against the hand formula.
func TestFBNetCSV(t *testing.T) {
	s := newFBNet()
	rows, err := csv.NewReader(bytes.NewReader(data.MustFile("fbnet/fbnet_archs_latency.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(rows[0], "ops")
	if col < 0 {
		t.Fatalf("no ops column in %q", rows[0])
	}
	rows = rows[1:]
	if len(rows) != 5000 {
		t.Errorf("%d rows, want 5000", len(rows))
	}
	for _, row := range rows {
		str := row[col]
		c, err := s.Parse(str)
		if err != nil {
			t.Fatalf("row %s: %v", row[0], err)
		}
		back, err := s.Format(c)
		if err != nil || back != str {
			t.Fatalf("row %s: Format(Parse(%q)) = %q, %v", row[0], str, back, err)
		}
		n, err := s.Network(c, Options{})
		if err != nil {
			t.Fatalf("row %s: %v", row[0], err)
		}
		g, err := n.Lower(0)
		if err != nil {
			t.Fatalf("row %s: %v", row[0], err)
		}
		if out := g.Output(); out != (arch.Shape{H: 1, W: 1, C: 100}) {
			t.Fatalf("row %s: output %v", row[0], out)
		}
		p, m := spaceTestCounts(g)
		wp, wm := fbnetTestCounts(c, 100)
		if p != wp || m != wm {
			t.Fatalf("row %s: %d params, %d MACs; HW-NAS-Bench's modules give %d, %d", row[0], p, m, wp, wm)
		}
	}
}

// fbnetBlockParams sums the parameters of one block's layers.
func fbnetBlockParams(g *arch.Graph, block int) int64 {
	sub := &arch.Graph{}
	for _, l := range g.Layers {
		if l.Block == block {
			sub.Layers = append(sub.Layers, l)
		}
	}
	p, _ := spaceTestCounts(sub)
	return p
}

func TestFBNetLayers(t *testing.T) {
	s := newFBNet()
	allK3 := make([]int, 22) // k3_e1 everywhere: block i+1 is layer i
	n, err := s.Network(allK3, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Blocks) != 1+22+3 {
		t.Fatalf("%d blocks, want 26", len(n.Blocks))
	}
	g, err := n.Lower(0)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Tensors[g.BlockOut[0]]; got != (arch.Shape{H: 32, W: 32, C: 16}) {
		t.Errorf("stem output %v, want 32x32x16 (stride 1 on CIFAR)", got)
	}
	for i, w := range fbnetTestLayers {
		want := arch.Shape{H: w[3], W: w[3], C: w[1]}
		if got := g.Tensors[g.BlockOut[i+1]]; got != want {
			t.Errorf("layer %d output %v, want %v", i, got, want)
		}
	}
	if got := g.Tensors[g.BlockOut[23]]; got != (arch.Shape{H: 4, W: 4, C: 1504}) {
		t.Errorf("head output %v, want 4x4x1504", got)
	}

	op := func(name string) int { return slices.Index(fbnetOps, name) }
	with := func(layer int, name string) *arch.Graph {
		c := make([]int, 22)
		c[layer] = op(name)
		n, err := s.Network(c, Options{})
		if err != nil {
			t.Fatal(err)
		}
		g, err := n.Lower(0)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	for _, tc := range []struct {
		layer  int
		op     string
		params int64
		parts  int // layers in the block
	}{
		// 16->24, stride 1, e1: expand 16*16+32, dw 9*16+32, project 16*24+48.
		{1, "k3_e1", 896, 3},
		// The same with 2 groups: 128+32, 144+32, 192+48, and a shuffle.
		{1, "k3_e1_g2", 576, 4},
		// 24->24 k5 e6: expand 24*144+288, dw 25*144+288, project 144*24+48, residual add.
		{2, "k5_e6", 11136, 4},
		// skip on 24->32 stride 2: a 1x1 conv 24*32 + BN 64.
		{5, "skip", 832, 1},
		// skip on 64->112 at stride 1 (widening): 1x1 conv 64*112 + BN 224.
		{13, "skip", 7392, 1},
	} {
		g := with(tc.layer, tc.op)
		if p := fbnetBlockParams(g, tc.layer+1); p != tc.params {
			t.Errorf("layer %d %s: %d params, want %d", tc.layer, tc.op, p, tc.params)
		}
		var parts []string
		for _, l := range g.Layers {
			if l.Block == tc.layer+1 {
				parts = append(parts, l.Part)
			}
		}
		if len(parts) != tc.parts {
			t.Errorf("layer %d %s: layers %q, want %d", tc.layer, tc.op, parts, tc.parts)
		}
	}
	// An identity skip adds no block at all.
	c := make([]int, 22)
	c[0], c[3] = op("skip"), op("skip")
	n, err = s.Network(c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Blocks) != 24 {
		t.Errorf("two identity skips: %d blocks, want 24", len(n.Blocks))
	}
	if n.Divisor != 1 {
		t.Errorf("divisor %d, want 1 (widths are exactly in*expansion)", n.Divisor)
	}
	if b := n.Blocks[1]; b.Type != arch.IBN || !b.ExpandAlways || b.Activation != arch.ReLU || b.Expansion != 1 {
		t.Errorf("layer 1 block %+v, want an ibn with expand_always, relu, expansion 1", b)
	}
}

func TestFBNetParse(t *testing.T) {
	s := newFBNet()
	spaced := "k5_e6 skip k3_e1_g2 skip k5_e1 skip skip skip k5_e6 k5_e1 k3_e1_g2 k5_e1 k5_e6 k3_e6 k3_e3 k5_e6 k3_e6 k3_e3 k5_e1 k3_e3 k5_e1 k5_e1_g2"
	want, err := s.Parse(spaced)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{
		strings.ReplaceAll(spaced, " ", ","),
		strings.ReplaceAll(spaced, " ", ", "),
		" " + strings.ReplaceAll(spaced, " ", " ,  ") + " ",
		strings.ReplaceAll(spaced, " ", "\t"),
		"  " + strings.ReplaceAll(spaced, " ", "   ") + "\n",
	} {
		got, err := s.Parse(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
			continue
		}
		if f, _ := s.Format(got); f != spaced {
			t.Errorf("Format after Parse(%q) = %q, want single spaces", in, f)
		}
	}
	for _, tc := range []struct{ in, msg string }{
		{"", "want 22 op names"},
		{strings.Repeat("k3_e1 ", 21), "got 21"},
		{strings.Repeat("k3_e1 ", 23), "got 23"},
		{strings.Repeat("k3_e1 ", 21) + "k7_e1", `layer 21: unknown op "k7_e1"`},
		{strings.Repeat("k3_e1,", 21) + "K3_E1", `unknown op "K3_E1"`},
		{strings.Repeat("k3_e1,", 22), "op 22 is empty"},
		{"k3_e1,," + strings.Repeat("k3_e1,", 19) + "k3_e1", "op 1 is empty"},
	} {
		_, err := s.Parse(tc.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded", tc.in)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, strconv.Quote(tc.in)) || !strings.Contains(msg, tc.msg) {
			t.Errorf("Parse(%q): %v; want the quoted input and %q", tc.in, err, tc.msg)
		}
	}
	for _, bad := range [][]int{nil, make([]int, 21), append(make([]int, 21), 9)} {
		if _, err := s.Format(bad); err == nil {
			t.Errorf("Format(%v) succeeded", bad)
		}
		if _, err := s.Network(bad, Options{}); err == nil {
			t.Errorf("Network(%v) succeeded", bad)
		}
	}
}

func TestFBNetOptions(t *testing.T) {
	s := newFBNet()
	c := make([]int, 22)
	n, err := s.Network(c, Options{Classes: 10, Resolution: 64})
	if err != nil {
		t.Fatal(err)
	}
	g, err := n.Lower(0)
	if err != nil {
		t.Fatal(err)
	}
	if out := g.Output(); out.C != 10 || n.Resolution != 64 {
		t.Errorf("output %v at %d, want 10 classes at 64", out, n.Resolution)
	}
	if _, err := s.Network(c, Options{Classes: -3}); err == nil {
		t.Error("negative classes accepted")
	}
	// Three stride-2 layers: 5 pixels is the least that does not end in a
	// strided layer on a 1x1 map.
	if _, err := s.Network(c, Options{Resolution: 5}); err != nil {
		t.Errorf("resolution 5: %v", err)
	}
	if _, err := s.Network(c, Options{Resolution: 4}); err == nil {
		t.Error("resolution 4 accepted")
	}
}

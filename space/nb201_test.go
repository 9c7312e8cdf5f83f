package space

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/data"
)

// spaceTestCounts returns the trainable parameters and the MACs of a
// lowered graph, counted the way NAS-Bench-201 (xautodl's get_model_infos)
// counts them: conv and fc weights, conv biases, 2 per channel for each
// batch norm; MACs of convolutions and of the fc including its bias, and
// nothing for pooling, activations or additions. It is written here rather
// than taken from package cost so that the test checks arch's lowering
// against the published figures on its own.
func spaceTestCounts(g *arch.Graph) (params, macs int64) {
	for _, l := range g.Layers {
		in, out := int64(l.In.C), int64(l.Out.C)
		k := int64(l.Kernel)
		spatial := int64(l.Out.H) * int64(l.Out.W)
		switch l.Op {
		case arch.OpConv:
			w := k * k * in / int64(l.Groups) * out
			params += w
			macs += w * spatial
		case arch.OpDepthwise:
			params += k * k * out
			macs += k * k * out * spatial
		case arch.OpFC:
			params += in * out
			macs += in * out
			if l.Bias {
				params += out
				macs += out
			}
			continue
		case arch.OpBN:
			params += 2 * out
			continue
		case arch.OpScale:
			params += out
			continue
		default:
			continue
		}
		if l.BN {
			params += 2 * out
		}
		if l.Bias {
			params += out
		}
	}
	return params, macs
}

func nb201Rows(t *testing.T) [][]string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(data.MustFile("nb201/nb201_multidevice.csv")))
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if rows[0][0] != "arch_idx" || rows[0][1] != "arch_str" {
		t.Fatalf("unexpected header %q", rows[0])
	}
	return rows[1:]
}

func TestNB201Decisions(t *testing.T) {
	s := newNB201()
	ds := s.Decisions()
	if len(ds) != 6 {
		t.Fatalf("%d decisions, want 6", len(ds))
	}
	want := []string{"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"}
	for _, d := range ds {
		if !slices.Equal(d.Choices, want) {
			t.Errorf("%s: choices %q, want %q", d.Name, d.Choices, want)
		}
	}
	if n := ds[2].Name; n != "edge_1_2" {
		t.Errorf("third decision is %q, want edge_1_2", n)
	}
	if s.DefaultResolution() != 32 || s.DefaultClasses() != 10 {
		t.Errorf("defaults %d/%d, want 32/10", s.DefaultResolution(), s.DefaultClasses())
	}
}

// TestNB201CSV checks every benchmark cell: the string round-trips, the
// index tables agree with arch_idx, and the network lowers.
func TestNB201CSV(t *testing.T) {
	s := newNB201()
	ix := s.(Indexer)
	rows := nb201Rows(t)
	if len(rows) != 15625 {
		t.Fatalf("%d rows, want 15625", len(rows))
	}
	lexicographic := true
	var prev []int
	for r, row := range rows {
		idx, err := strconv.Atoi(row[0])
		if err != nil {
			t.Fatal(err)
		}
		str := row[1]
		c, err := s.Parse(str)
		if err != nil {
			t.Fatalf("arch_idx %d: %v", idx, err)
		}
		back, err := s.Format(c)
		if err != nil || back != str {
			t.Fatalf("arch_idx %d: Format(Parse(%q)) = %q, %v", idx, str, back, err)
		}
		got, err := ix.Index(c)
		if err != nil || got != idx {
			t.Fatalf("Index(%q) = %d, %v; want %d", str, got, err, idx)
		}
		fc, err := ix.FromIndex(idx)
		if err != nil || !slices.Equal(fc, c) {
			t.Fatalf("FromIndex(%d) = %v, %v; want %v", idx, fc, err, c)
		}
		if prev != nil && slices.Compare(prev, c) > 0 {
			lexicographic = false
		}
		prev = c
		if testing.Short() && r%16 != 0 {
			continue // lowering is the slow part; -short lowers a sample
		}
		n, err := s.Network(c, Options{})
		if err != nil {
			t.Fatalf("%s: %v", str, err)
		}
		g, err := n.Lower(0)
		if err != nil {
			t.Fatalf("%s: %v", str, err)
		}
		if out := g.Output(); out != (arch.Shape{H: 1, W: 1, C: 10}) {
			t.Fatalf("%s: output %v", str, out)
		}
	}
	// The benchmark numbers its cells in file order, not by choices: if
	// this ever fails, the table could be replaced by arithmetic.
	if lexicographic {
		t.Error("arch_idx order is lexicographic over choice vectors; the lookup table is unnecessary")
	}
}

// TestNB201Published compares parameters and FLOPs (MACs) with the
// figures NAS-Bench-201/NATS-Bench report for these cells.
func TestNB201Published(t *testing.T) {
	s := newNB201()
	for _, tc := range []struct {
		source  string
		arch    string
		opt     Options
		params  int64 // exact where the source gives 6 decimals of M
		mparams float64
		mflops  float64
	}{
		// NATS-Bench issue #36 (hp=12, CIFAR-10): params 0.802426 M, FLOPs 113.95137 M.
		{"NATS-Bench#36", "|skip_connect~0|+|none~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
			Options{}, 802426, 0, 113.95137},
		// NATS-Bench issue #18, arch-index 1: CIFAR-10 113.95 MFLOPs 0.802 MB;
		// CIFAR-100 113.96 / 0.808; ImageNet16-120 28.50 / 0.810.
		{"NATS-Bench#18 cifar10", "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
			Options{}, 0, 0.802, 113.95},
		{"NATS-Bench#18 cifar100", "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
			Options{Classes: 100}, 0, 0.808, 113.96},
		{"NATS-Bench#18 ImageNet16-120", "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
			Options{Resolution: 16, Classes: 120}, 0, 0.810, 28.50},
		// NATS-Bench issue #24, arch-index 0 on cifar10-valid: 15.64737 MFLOPs.
		{"NATS-Bench#24", "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
			Options{}, 0, 0, 15.64737},
	} {
		c, err := s.Parse(tc.arch)
		if err != nil {
			t.Fatal(err)
		}
		n, err := s.Network(c, tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		g, err := n.Lower(0)
		if err != nil {
			t.Fatal(err)
		}
		p, m := spaceTestCounts(g)
		if tc.params != 0 && p != tc.params {
			t.Errorf("%s: %d params, published %d", tc.source, p, tc.params)
		}
		if tc.mparams != 0 && !nb201RoundsTo(float64(p)/1e6, tc.mparams, 3) {
			t.Errorf("%s: %.6f M params, published %.3f", tc.source, float64(p)/1e6, tc.mparams)
		}
		dec := 2
		if tc.mflops*100 != float64(int64(tc.mflops*100)) {
			dec = 5
		}
		if !nb201RoundsTo(float64(m)/1e6, tc.mflops, dec) {
			t.Errorf("%s: %.6f M MACs, published %.*f", tc.source, float64(m)/1e6, dec, tc.mflops)
		}
	}
}

// nb201RoundsTo reports whether v rounded to dec decimals is want.
func nb201RoundsTo(v, want float64, dec int) bool {
	return strconv.FormatFloat(v, 'f', dec, 64) == strconv.FormatFloat(want, 'f', dec, 64)
}

// TestNB201Extremes checks the smallest and largest cells: all-none and
// all-skip cells must lower (a cell of zeros, a cell that is the
// identity), and the all-3x3 cell gives the space's largest model.
func TestNB201Extremes(t *testing.T) {
	s := newNB201()
	for _, tc := range []struct {
		op     int
		params int64
		macs   int64
	}{
		{0, 73306, 7783050},     // none: the skeleton alone
		{1, 73306, 7783050},     // skip_connect: no weights either
		{3, 1531546, 220119690}, // nor_conv_3x3 on all six edges
		{2, 241306, 31376010},   // nor_conv_1x1
		{4, 73306, 7783050},     // avg_pool_3x3: MACs not counted
	} {
		c := []int{tc.op, tc.op, tc.op, tc.op, tc.op, tc.op}
		n, err := s.Network(c, Options{})
		if err != nil {
			t.Fatal(err)
		}
		g, err := n.Lower(0)
		if err != nil {
			t.Fatalf("op %d: %v", tc.op, err)
		}
		p, m := spaceTestCounts(g)
		if p != tc.params || m != tc.macs {
			t.Errorf("all %s: %d params, %d MACs; want %d, %d", arch.CellOps()[tc.op], p, m, tc.params, tc.macs)
		}
	}
}

func TestNB201Network(t *testing.T) {
	s := newNB201()
	c := []int{3, 3, 4, 1, 3, 1}
	n, err := s.Network(c, Options{Resolution: 16, Classes: 120})
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Blocks) != 1+15+2+3 {
		t.Errorf("%d blocks, want 21", len(n.Blocks))
	}
	if n.Blocks[0].Type != arch.Conv || n.Blocks[0].Activation != arch.Identity || !n.Blocks[0].HasBN() {
		t.Errorf("stem %+v, want conv + BN, no activation", n.Blocks[0])
	}
	g, err := n.Lower(0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		block int
		want  arch.Shape
	}{{0, arch.Shape{H: 16, W: 16, C: 16}}, {5, arch.Shape{H: 16, W: 16, C: 16}}, {6, arch.Shape{H: 8, W: 8, C: 32}},
		{12, arch.Shape{H: 4, W: 4, C: 64}}, {17, arch.Shape{H: 4, W: 4, C: 64}}, {18, arch.Shape{H: 4, W: 4, C: 64}}, {20, arch.Shape{H: 1, W: 1, C: 120}}} {
		if got := g.Tensors[g.BlockOut[tc.block]]; got != tc.want {
			t.Errorf("block %d: %v, want %v", tc.block, got, tc.want)
		}
	}
	// Cells must not share their ops slice: editing one cell of the
	// returned network must leave the others alone.
	n.Blocks[1].Ops[0] = "none"
	if n.Blocks[2].Ops[0] != "nor_conv_3x3" {
		t.Error("cells share their Ops slice")
	}
	for _, bad := range [][]int{nil, {0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 5}, {-1, 0, 0, 0, 0, 0}} {
		if _, err := s.Network(bad, Options{}); err == nil {
			t.Errorf("Network(%v) succeeded", bad)
		}
		if _, err := s.Format(bad); err == nil {
			t.Errorf("Format(%v) succeeded", bad)
		}
		if _, err := s.(Indexer).Index(bad); err == nil {
			t.Errorf("Index(%v) succeeded", bad)
		}
	}
	if _, err := s.Network(c, Options{Classes: -1}); err == nil {
		t.Error("negative classes accepted")
	}
	if _, err := s.Network(c, Options{Resolution: -32}); err == nil {
		t.Error("negative resolution accepted")
	}
	// The reductions' 2x2 average-pool shortcut needs an even size.
	if _, err := s.Network(c, Options{Resolution: 30}); err == nil {
		t.Error("resolution 30 (15 after the first reduction) accepted")
	}
	for _, i := range []int{-1, 15625} {
		if _, err := s.(Indexer).FromIndex(i); err == nil {
			t.Errorf("FromIndex(%d) succeeded", i)
		}
	}
}

func TestNB201ParseErrors(t *testing.T) {
	s := newNB201()
	good := "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
	if _, err := s.Parse(good); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, msg string }{
		{"", "3 node groups"},
		{"|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|", "3 node groups"},
		{good + "+|none~0|", "3 node groups"},
		{"|nor_conv_3x3~1|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "from node 0"},
		{"|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~2|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "from node 1"},
		{"|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~01|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "from node 1"},
		{"|nor_conv_3x3~0|+|avg_pool_3x3~1|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "from node 0"},
		{"|conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", `unknown op "conv_3x3"`},
		{"|nor_conv_3x3|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "not op~node"},
		{"|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "want 2 input"},
		{"|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|none~3|", "want 3 input"},
		{"nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "start and end"},
		{" " + good, "start and end"},
		{"|nor_conv_3x3~0||+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "want 1 input"},
	} {
		_, err := s.Parse(tc.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded", tc.in)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, strconv.Quote(tc.in)) || !strings.Contains(msg, tc.msg) {
			t.Errorf("Parse(%q): %v; want the quoted input and %q", tc.in, err, tc.msg)
		}
	}
}

// TestNB201IndexConcurrent builds the lazy index table from several
// goroutines at once; run with -race.
func TestNB201IndexConcurrent(t *testing.T) {
	s := newNB201().(Indexer)
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			c, err := s.FromIndex(g * 1000)
			if err == nil {
				var i int
				i, err = s.Index(c)
				if err == nil && i != g*1000 {
					err = fmt.Errorf("Index(FromIndex(%d)) = %d", g*1000, i)
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

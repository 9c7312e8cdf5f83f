package cost

import (
	"testing"

	"github.com/fleetnas/fleetnas/arch"
)

func net(res int, blocks ...arch.Block) *arch.Network {
	return &arch.Network{Format: arch.Format, Resolution: res, Blocks: blocks}
}

func mustCost(t *testing.T, n *arch.Network, opt Options) *Report {
	t.Helper()
	r, err := Network(n, 0, opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestHandComputedStem: 3x3/2 conv 3->32 on 224x224: out 112x112x32,
// MACs 112*112*32*27, weights 864, BN 64 trainable + 64 statistics.
func TestHandComputedStem(t *testing.T) {
	r := mustCost(t, net(224, arch.Block{Type: arch.Conv, Kernel: 3, Stride: 2, Filters: 32, Activation: arch.ReLU6}), Options{})
	if r.Output != "112x112x32" {
		t.Errorf("output %s", r.Output)
	}
	want := Totals{
		MACs:              112 * 112 * 32 * 27,
		Params:            864 + 64,
		ParamsWithBNStats: 864 + 128,
		WeightBytes:       (864 + 32) * 4, // BN folded into a bias
		ReadBytes:         224 * 224 * 3 * 4,
		WriteBytes:        112 * 112 * 32 * 4,
	}
	if r.Totals != want {
		t.Errorf("got %+v\nwant %+v", r.Totals, want)
	}
	if r.PeakActivationBytes != (224*224*3+112*112*32)*4 {
		t.Errorf("peak %d", r.PeakActivationBytes)
	}
}

// TestHandComputedIBN: a residual IBN 24->24, expansion 6, kernel 5, with
// SE 0.25 on 56x56, worked out by hand:
//
//	expand 1x1 24->144: MACs 56*56*144*24, weights 3456, BN 288
//	depthwise 5x5 144:   MACs 56*56*144*25, weights 3600, BN 288
//	SE reduce 144->make_divisible(36,8)=40 with bias: 5760+40, expand 40->144: 5760+144
//	project 1x1 144->24: MACs 56*56*24*144, weights 3456, BN 48
func TestHandComputedIBN(t *testing.T) {
	b := arch.Block{Type: arch.IBN, Kernel: 5, Filters: 24, Expansion: 6, SERatio: 0.25, Activation: arch.HSwish}
	n := &arch.Network{Format: arch.Format, Resolution: 56, InputChannels: 24, Blocks: []arch.Block{b}}
	r := mustCost(t, n, Options{BytesPerElement: 1})
	hw := int64(56 * 56)
	wantMACs := hw*144*24 + hw*144*25 + 144*40 + 40*144 + hw*24*144
	if r.MACs != wantMACs {
		t.Errorf("MACs %d, want %d", r.MACs, wantMACs)
	}
	wantParams := int64(3456+288) + (3600 + 288) + (5760 + 40) + (5760 + 144) + (3456 + 48)
	if r.Params != wantParams {
		t.Errorf("params %d, want %d", r.Params, wantParams)
	}
	if r.ParamsWithBNStats != wantParams+288+288+48 {
		t.Errorf("params with BN stats %d", r.ParamsWithBNStats)
	}
	ops := []arch.Op{}
	for _, l := range r.Layers {
		ops = append(ops, l.Op)
	}
	wantOps := []arch.Op{arch.OpConv, arch.OpDepthwise, arch.OpGlobalPool, arch.OpConv, arch.OpConv, arch.OpMul, arch.OpConv, arch.OpAdd}
	if len(ops) != len(wantOps) {
		t.Fatalf("layers %v, want %v", ops, wantOps)
	}
	for i := range ops {
		if ops[i] != wantOps[i] {
			t.Fatalf("layers %v, want %v", ops, wantOps)
		}
	}
	// Peak: during the SE scale, the block input (kept for the residual),
	// the depthwise output, the 144 gate values and the scaled output are
	// alive (one more than during the depthwise).
	in, exp := hw*24, hw*144
	if want := in + exp + 144 + exp; r.PeakActivationBytes != want {
		t.Errorf("peak %d, want %d", r.PeakActivationBytes, want)
	}
	// Residual add reads two tensors and writes one.
	add := r.Layers[len(r.Layers)-1]
	if add.ReadBytes != 2*in || add.WriteBytes != in {
		t.Errorf("add bytes %d/%d", add.ReadBytes, add.WriteBytes)
	}
}

// TestNoExpandAtRatioOne: Model Garden drops the expand conv at ratio 1;
// FBNet keeps it (expand_always), with groups and a channel shuffle.
func TestNoExpandAtRatioOne(t *testing.T) {
	mk := func(b arch.Block) *Report {
		n := &arch.Network{Format: arch.Format, Resolution: 8, InputChannels: 16, Blocks: []arch.Block{b}}
		return mustCost(t, n, Options{})
	}
	r := mk(arch.Block{Type: arch.IBN, Kernel: 3, Filters: 16, Expansion: 1, Activation: arch.ReLU6})
	if want := int64(9*16+32) + int64(16*16+32); r.Params != want {
		t.Errorf("ratio-1 IBN params %d, want %d (depthwise + project only)", r.Params, want)
	}
	g := mk(arch.Block{Type: arch.IBN, Kernel: 3, Filters: 16, Expansion: 1, ExpandAlways: true, Groups: 2, Activation: arch.ReLU})
	// grouped 1x1 16->16 in 2 groups: 16*8 weights each.
	if want := int64(128+32) + int64(9*16+32) + int64(128+32); g.Params != want {
		t.Errorf("grouped FBNet IBN params %d, want %d", g.Params, want)
	}
	if g.Layers[1].Op != arch.OpShuffle {
		t.Errorf("no channel shuffle after a grouped expand: %v", g.Layers[1].Op)
	}
}

// TestNB201Cell: the all-3x3 cell on 32x32x16 has six ReLU-conv3x3-BN edges.
func TestNB201Cell(t *testing.T) {
	ops := []string{"nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3"}
	n := &arch.Network{Format: arch.Format, Resolution: 32, InputChannels: 16, Blocks: []arch.Block{{Type: arch.Cell, Ops: ops}}}
	r := mustCost(t, n, Options{})
	if want := int64(6 * (9*16*16 + 32)); r.Params != want {
		t.Errorf("params %d, want %d", r.Params, want)
	}
	if want := int64(6 * 32 * 32 * 16 * 144); r.MACs != want {
		t.Errorf("MACs %d, want %d", r.MACs, want)
	}
	none := &arch.Network{Format: arch.Format, Resolution: 32, InputChannels: 16,
		Blocks: []arch.Block{{Type: arch.Cell, Ops: []string{"none", "none", "none", "none", "none", "none"}}}}
	if r := mustCost(t, none, Options{}); r.Params != 0 || r.MACs != 0 || r.Output != "32x32x16" {
		t.Errorf("all-none cell: %+v", r)
	}
}

// TestAttentionMACs: multi-query attention on 8x8x64 with 2 heads,
// key/value 16, no downsampling.
func TestAttentionMACs(t *testing.T) {
	n := &arch.Network{Format: arch.Format, Resolution: 8, InputChannels: 64, Blocks: []arch.Block{
		{Type: arch.MHSA, Heads: 2, KeyDim: 16, ValueDim: 16, MultiQuery: true},
	}}
	r := mustCost(t, n, Options{})
	hw := int64(64)
	q := hw * 64 * 32
	k := hw * 64 * 16
	v := hw * 64 * 16
	qk := int64(2) * hw * 16 * hw
	av := int64(2) * hw * hw * 16
	o := hw * 32 * 64
	if want := q + k + v + qk + av + o; r.MACs != want {
		t.Errorf("MACs %d, want %d", r.MACs, want)
	}
	// Weights: query 64*32, key 64*16, value 64*16, output 32*64; input BN 2*64.
	if want := int64(64*32 + 64*16 + 64*16 + 32*64 + 128); r.Params != want {
		t.Errorf("params %d, want %d", r.Params, want)
	}
}

func TestBadBytesPerElement(t *testing.T) {
	_, err := Network(net(8, arch.Block{Type: arch.Conv, Kernel: 1, Filters: 8, Activation: arch.ReLU}), 0, Options{BytesPerElement: 3})
	if err == nil {
		t.Error("3 bytes per element accepted")
	}
}

// TestStandaloneBN: a bn block has 2 trainable and 2 statistic values per
// channel and stores scale and shift.
func TestStandaloneBN(t *testing.T) {
	n := &arch.Network{Format: arch.Format, Resolution: 4, InputChannels: 64, Blocks: []arch.Block{{Type: arch.BatchNorm, Activation: arch.ReLU}}}
	r := mustCost(t, n, Options{})
	if r.Params != 128 || r.ParamsWithBNStats != 256 || r.WeightBytes != 128*4 || r.MACs != 0 {
		t.Errorf("got %+v", r.Totals)
	}
}

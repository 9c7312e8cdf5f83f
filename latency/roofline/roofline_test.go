package roofline

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/zoo"
)

// unit is a simple valid device: 100 GMAC/s, 10 GB/s, int8.
func unit() Params {
	return Params{
		PeakGMACs: 100, BandwidthGBs: 10, BytesPerElement: 1,
		Efficiency: Efficiency{Conv1x1: 1, ConvKxK: 0.5, Depthwise: 0.25, FC: 1, MatMul: 1, Elementwise: 1},
	}
}

func mustModel(t testing.TB, p Params) *Model {
	t.Helper()
	m, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustNet(t testing.TB, n *arch.Network) *latency.Net {
	t.Helper()
	net, err := latency.FromNetwork(n, 0)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

func near(a, b, rel float64) bool { return math.Abs(a-b) <= rel*math.Abs(b) }

// TestHandComputedConv: a 3x3 conv 16->32 on 56x56 (stride 1), int8.
// MACs = 56*56*32*(3*3*16) = 14,450,688; at 100 GMAC/s and efficiency 0.5
// that is 14450688 / 50e9 s = 0.28901376 ms. Bytes: weights 4608 + folded
// BN bias 32, read 56*56*16 = 50176, write 56*56*32 = 100352, total 155168
// = 0.0155168 ms at 10 GB/s, so the conv is compute-bound. Overheads add
// 0.01 (layer) and 0.5 (network).
func TestHandComputedConv(t *testing.T) {
	p := unit()
	p.LayerOverheadMS, p.NetworkOverheadMS = 0.01, 0.5
	n := &arch.Network{Format: arch.Format, Resolution: 56, InputChannels: 16,
		Blocks: []arch.Block{{Type: arch.Conv, Kernel: 3, Filters: 32, Activation: arch.ReLU}}}
	m := mustModel(t, p)
	got, err := m.Latency(mustNet(t, n))
	if err != nil {
		t.Fatal(err)
	}
	want := 0.28901376 + 0.01 + 0.5
	if !near(got, want, 1e-12) {
		t.Errorf("latency %.10f ms, want %.10f", got, want)
	}
	bd, err := m.Breakdown(mustNet(t, n))
	if err != nil {
		t.Fatal(err)
	}
	if len(bd) != 1 || !near(bd[0].ComputeMS, 0.28901376, 1e-12) || !near(bd[0].MemoryMS, 0.0155168, 1e-12) {
		t.Errorf("breakdown %+v", bd)
	}
}

// TestMemoryBoundDepthwise: the 3x3 depthwise of a dwsep block on
// 112x112x32, int8. MACs = 112*112*32*9 = 3,612,672 -> at 100 GMAC/s and
// efficiency 0.25: 0.14450688 ms. Bytes: weights 288 + bias 32, read and
// write 112*112*32 = 401408 each: 803136 bytes -> 0.0803136 ms at 10 GB/s
// and 0.401568 ms at 2 GB/s. The first is compute-bound, the second
// memory-bound.
func TestMemoryBoundDepthwise(t *testing.T) {
	n := mustNet(t, &arch.Network{Format: arch.Format, Resolution: 112, InputChannels: 32,
		Blocks: []arch.Block{{Type: arch.DWSep, Kernel: 3, Filters: 64, Activation: arch.ReLU}}})
	for _, c := range []struct {
		bw, want float64
	}{{10, 0.14450688}, {2, 0.401568}} {
		p := unit()
		p.BandwidthGBs = c.bw
		bd, err := mustModel(t, p).Breakdown(n)
		if err != nil {
			t.Fatal(err)
		}
		if bd[0].Op != arch.OpDepthwise {
			t.Fatalf("first layer is %s", bd[0].Op)
		}
		if !near(bd[0].TotalMS, c.want, 1e-12) {
			t.Errorf("bandwidth %g: depthwise %.10f ms, want %.10f", c.bw, bd[0].TotalMS, c.want)
		}
		if !near(bd[0].MemoryMS, 803136/c.bw*1e-6, 1e-12) {
			t.Errorf("bandwidth %g: memory roof %.10f", c.bw, bd[0].MemoryMS)
		}
	}
}

// TestRidgeSwitch: a 1x1 conv 64->64 on 28x28 at int8 has intensity
// MACs/bytes = 3211264 / (4096+64 + 2*50176) = 30.70 MACs/byte. Below that
// ridge point the layer is compute-bound (time = MACs/peak), above it
// memory-bound (time = bytes/bandwidth), and at the ridge both agree.
func TestRidgeSwitch(t *testing.T) {
	n := mustNet(t, &arch.Network{Format: arch.Format, Resolution: 28, InputChannels: 64,
		Blocks: []arch.Block{{Type: arch.Conv, Kernel: 1, Filters: 64, Activation: arch.ReLU}}})
	macs, byts := 28.0*28*64*64, 4096.0+64+2*28*28*64
	intensity := macs / byts
	for _, rp := range []float64{intensity / 2, intensity, intensity * 2} {
		p, err := RidgeParams(rp)
		if err != nil {
			t.Fatal(err)
		}
		got, err := mustModel(t, p).Latency(n)
		if err != nil {
			t.Fatal(err)
		}
		compute := macs / RidgePeakGMACs * 1e-6
		memory := byts / (RidgePeakGMACs / rp) * 1e-6
		want := compute
		if rp > intensity {
			want = memory
		}
		if !near(got, want, 1e-9) {
			t.Errorf("ridge point %.2f: %.9f ms, want %.9f (compute %.9f, memory %.9f)", rp, got, want, compute, memory)
		}
	}
}

func zooNets(t testing.TB) []*latency.Net {
	t.Helper()
	z, err := zoo.New()
	if err != nil {
		t.Fatal(err)
	}
	var out []*latency.Net
	for _, c := range []struct {
		name  string
		width float64
		res   int
	}{
		{"MobileNetV1", 1, 224}, {"MobileNetV1", 0.5, 160}, {"MobileNetV2", 1, 224}, {"MobileNetV2", 0.5, 224},
		{"MobileNetV2", 1.4, 224}, {"MobileNetV2", 1, 128}, {"MobileNetV2", 0.75, 192}, {"MobileNetV3Large", 1, 224},
		{"MobileNetV3Small", 1, 224}, {"MobileNetV3Large", 0.75, 160}, {"MobileNetV3EdgeTPU", 1, 224},
		{"MobileNetMultiAVG", 1, 224}, {"MobileNetMultiMAX", 1, 192}, {"MobileNetV4ConvSmall", 1, 224},
		{"MobileNetV4ConvMedium", 1, 256}, {"MobileNetV4ConvMedium", 1, 192}, {"MobileNetV4ConvLarge", 1, 384},
		{"MobileNetV4ConvLarge", 1, 256}, {"MobileNetV2", 2, 224}, {"MobileNetV1", 0.25, 128},
		{"MobileNetV2", 0.35, 96}, {"MobileNetV3Small", 0.75, 128}, {"MobileNetV4ConvSmall", 1, 160},
		{"MobileNetV1", 0.75, 192},
	} {
		n, err := z.Build(c.name, zoo.Options{Width: c.width, Resolution: c.res})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, mustNet(t, n))
	}
	return out
}

// TestRidgeZeroIsMACs: at ridge point 0 memory is free and every op runs
// at the peak, so latency / MACs is the same for every network: 1/peak.
func TestRidgeZeroIsMACs(t *testing.T) {
	fam := RidgeFamily()
	var names []string
	for _, d := range fam {
		names = append(names, d.Name)
	}
	if strings.Join(names, ",") != "rp0,rp50,rp100,rp200,rp300,rp400,rp500" {
		t.Fatalf("family %v", names)
	}
	for _, d := range fam[1:] {
		p := d.Model.Params()
		if !near(p.RidgePoint(), float64(mustAtoi(t, d.Name[2:])), 1e-12) {
			t.Errorf("%s has ridge point %g", d.Name, p.RidgePoint())
		}
	}
	rp0 := fam[0].Model
	for _, n := range zooNets(t) {
		lat, err := rp0.Latency(n)
		if err != nil {
			t.Fatal(err)
		}
		var macs int64
		for _, l := range mustBreakdownMACs(t, n) {
			macs += l
		}
		if got, want := lat/float64(macs), 1e-6/RidgePeakGMACs; !near(got, want, 1e-9) {
			t.Errorf("%s: %g ms per MAC, want %g", n.Key, got, want)
		}
	}
	// A memory-bound device ranks differently: MobileNetV2 costs more
	// than its MACs say, relative to MobileNetV1, at ridge point 500.
	nets := zooNets(t)
	v1, v2 := nets[0], nets[2]
	r0 := ratio(t, fam[0].Model, v2, v1)
	r500 := ratio(t, fam[len(fam)-1].Model, v2, v1)
	if !(r500 > 1.5*r0) {
		t.Errorf("V2/V1 latency ratio %.3f at rp0, %.3f at rp500: memory should penalise V2", r0, r500)
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	v := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not a number: %q", s)
		}
		v = 10*v + int(c-'0')
	}
	return v
}

func mustBreakdownMACs(t *testing.T, n *latency.Net) []int64 {
	t.Helper()
	p := unit()
	f, err := compile(n, &p)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int64, len(f))
	for i := range f {
		out[i] = int64(f[i].macs)
	}
	return out
}

func ratio(t *testing.T, m *Model, a, b *latency.Net) float64 {
	t.Helper()
	la, err := m.Latency(a)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := m.Latency(b)
	if err != nil {
		t.Fatal(err)
	}
	return la / lb
}

func TestPenaltiesAndOverheads(t *testing.T) {
	// A hard-swish IBN with SE: every SE layer and every hswish layer is
	// slowed; penalties multiply on a layer that has both.
	b := arch.Block{Type: arch.IBN, Kernel: 3, Filters: 24, Expansion: 4, SERatio: 0.25, Activation: arch.HSwish}
	n := mustNet(t, &arch.Network{Format: arch.Format, Resolution: 28, InputChannels: 24, Blocks: []arch.Block{b}})
	base := unit()
	bd0, err := mustModel(t, base).Breakdown(n)
	if err != nil {
		t.Fatal(err)
	}
	pen := base
	pen.Penalty = Penalty{HSwish: 2, SE: 3}
	pen.LayerOverheadMS, pen.ElementwiseOverheadMS = 0.1, 0.01
	bd1, err := mustModel(t, pen).Breakdown(n)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range n.Graph.Layers {
		want := 1.0
		if l.Activation == arch.HSwish {
			want *= 2
		}
		if strings.HasPrefix(l.Part, "se") {
			want *= 3
		}
		ovh := 0.1
		if l.Op != arch.OpConv && l.Op != arch.OpDepthwise {
			ovh = 0.01
		}
		if bd1[i].Penalty != want || !near(bd1[i].TotalMS, bd0[i].TotalMS*want+ovh, 1e-12) {
			t.Errorf("layer %s (%s, %s): penalty %g total %g, want %g and %g", l.Name, l.Op, l.Activation, bd1[i].Penalty, bd1[i].TotalMS, want, bd0[i].TotalMS*want+ovh)
		}
	}
}

func TestUnsupported(t *testing.T) {
	z, err := zoo.New()
	if err != nil {
		t.Fatal(err)
	}
	hyb, err := z.Build("MobileNetV4HybridMedium", zoo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	prior, _, err := MNV4Prior("pixel4_hexagon")
	if err != nil {
		t.Fatal(err)
	}
	_, err = mustModel(t, prior).Latency(mustNet(t, hyb))
	if !errors.Is(err, latency.ErrUnsupported) {
		t.Errorf("hybrid on the DSP: %v, want ErrUnsupported", err)
	}
	conv, _ := z.Build("MobileNetV4ConvMedium", zoo.Options{})
	if _, err := mustModel(t, prior).Latency(mustNet(t, conv)); err != nil {
		t.Errorf("conv model on the DSP: %v", err)
	}
}

func TestBadParams(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(p *Params)
		want string
	}{
		{"NaN peak", func(p *Params) { p.PeakGMACs = math.NaN() }, "peak_gmacs"},
		{"zero peak", func(p *Params) { p.PeakGMACs = 0 }, "peak_gmacs"},
		{"negative bandwidth", func(p *Params) { p.BandwidthGBs = -1 }, "bandwidth_gbs"},
		{"infinite bandwidth", func(p *Params) { p.BandwidthGBs = math.Inf(1) }, "bandwidth_gbs"},
		{"bytes 3", func(p *Params) { p.BytesPerElement = 3 }, "bytes_per_element"},
		{"efficiency 0", func(p *Params) { p.Efficiency.Depthwise = 0 }, "efficiency.depthwise"},
		{"efficiency > 1", func(p *Params) { p.Efficiency.Conv1x1 = 1.5 }, "efficiency.conv1x1"},
		{"efficiency NaN", func(p *Params) { p.Efficiency.Elementwise = math.NaN() }, "efficiency.elementwise"},
		{"negative overhead", func(p *Params) { p.LayerOverheadMS = -1 }, "layer_overhead_ms"},
		{"NaN network overhead", func(p *Params) { p.NetworkOverheadMS = math.NaN() }, "network_overhead_ms"},
		{"negative penalty", func(p *Params) { p.Penalty.SE = -2 }, "penalty.se"},
		{"big kernel 1", func(p *Params) { p.Penalty.BigKernelMin = 1 }, "big_kernel_min"},
		{"unknown op", func(p *Params) { p.Unsupported = []arch.Op{"warp"} }, "unknown layer kind"},
	} {
		p := unit()
		c.edit(&p)
		_, err := New(p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %s", c.name, err, c.want)
		}
	}
	// Memory-free devices need no bandwidth.
	p := unit()
	p.MemoryFree, p.BandwidthGBs = true, 0
	if _, err := New(p); err != nil {
		t.Errorf("memory-free device: %v", err)
	}
	if _, err := RidgeParams(-1); err == nil {
		t.Error("negative ridge point accepted")
	}
	if _, err := RidgeParams(math.NaN()); err == nil {
		t.Error("NaN ridge point accepted")
	}
	if _, err := mustModel(t, unit()).Latency(nil); err == nil {
		t.Error("nil net accepted")
	}
	if _, err := mustModel(t, unit()).Latency(&latency.Net{}); err == nil {
		t.Error("net without graph accepted")
	}
}

func TestDeviceJSON(t *testing.T) {
	p := unit()
	p.Penalty.Attention = 2
	p.Unsupported = []arch.Op{arch.OpSoftmax}
	d := Device{Name: "dev", Model: mustModel(t, p), Samples: 7,
		Accuracy: latency.Accuracy{Method: "test", N: 7, MedianAPE: 3}}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, d); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if back.Name != "dev" || back.Samples != 7 || back.Accuracy != d.Accuracy {
		t.Errorf("round trip: %+v", back)
	}
	n := zooNets(t)[2]
	a, _ := d.Model.Latency(n)
	b, _ := back.Model.Latency(n)
	if a != b {
		t.Errorf("latency %g after round trip, %g before", b, a)
	}
	for _, bad := range []string{
		`{"format":"fleetnas.roofline/v1","name":"x","params":{"peak_gmacs":-1}}`,
		`{"format":"other","name":"x","params":{}}`,
		`{"format":"fleetnas.roofline/v1","name":"x","params":{},"extra":1}`,
		`not json`,
	} {
		if _, err := ReadJSON(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func BenchmarkRoofline(b *testing.B) {
	z, err := zoo.New()
	if err != nil {
		b.Fatal(err)
	}
	n, err := z.Build("MobileNetV2", zoo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	net := mustNet(b, n)
	prior, _, err := MNV4Prior("pixel6_cpu")
	if err != nil {
		b.Fatal(err)
	}
	m := mustModel(b, prior)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Latency(net); err != nil {
			b.Fatal(err)
		}
	}
}

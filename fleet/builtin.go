package fleet

import (
	"fmt"
	"sort"
	"strings"

	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/latency/linear"
	"github.com/fleetnas/fleetnas/latency/lut"
	"github.com/fleetnas/fleetnas/latency/roofline"
	"github.com/fleetnas/fleetnas/latency/table"
	"github.com/fleetnas/fleetnas/space"
	"github.com/fleetnas/fleetnas/zoo"
)

// NB201ResNet is NAS-Bench-201's ResNet cell (two 3x3 convs and a skip),
// the reference network of the nb201-mobile fleet.
const NB201ResNet = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"

type builtin struct {
	description string
	build       func(*zoo.Zoo) (*Fleet, error)
}

// builtins lists the fleets made from embedded data. Each call builds a
// new Fleet, so callers may change weights without affecting others.
var builtins = map[string]builtin{
	"nb201-mobile": {"NAS-Bench-201 cells measured on 6 devices: Pixel 3, Raspberry Pi 4, Eyeriss, FPGA (HW-NAS-Bench), Pixel 2, Galaxy S7 (HELP); reference: the ResNet cell", nb201Mobile},
	"fbnet-phones": {"HELP's Pixel 2 and Galaxy S7 on the FBNet space (CIFAR-100), learned from 5,000 measured networks (robust per-op model); reference: the all-k3_e6 network", fbnetPhones},
	"fbnet-lut":    {"HW-NAS-Bench's per-op tables of the FBNet space (CIFAR-100): Pixel 3, Raspberry Pi 4, Eyeriss, FPGA; reference: the all-k3_e6 network", fbnetLUT},
	"note10":       {"Once-for-All's Samsung Note10 CPU table (the ofa space at 224 px); reference: the largest ofa network", note10},
	"pixel1":       {"ProxylessNAS's Pixel 1 CPU table (the proxyless space at 224 px); reference: target 78 ms, ProxylessNAS-Mobile's published latency", pixel1},
	"mnv4":         {"the 7 devices of MobileNetV4's Table 6 (Pixel 6/S23 CPU, Pixel 8 EdgeTPU, iPhone 13 CoreML, Pixel 4 Hexagon DSP, Pixel 7/S23 GPU) as rooflines calibrated on the zoo models measured there, which keep Table 6's latencies; reference: MobileNetV2 (measured); input 224", mnv4},
	"ridgepoint":   {"MobileNetV4's hardware-agnostic roofline family, ridge points 0..500 MACs/byte; reference: MobileNetV2; input 224", ridgepoint},
}

// Names lists the built-in fleets.
func Names() []string {
	n := make([]string, 0, len(builtins))
	for k := range builtins {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Describe returns a built-in fleet's one-line description.
func Describe(name string) string { return builtins[name].description }

// Builtin builds and resolves a built-in fleet.
func Builtin(name string, z *zoo.Zoo) (*Fleet, error) {
	b, ok := builtins[name]
	if !ok {
		return nil, fmt.Errorf("unknown fleet %q; built in: %s (or give a fleet file, see docs/fleets.md)", name, strings.Join(Names(), ", "))
	}
	f, err := b.build(z)
	if err != nil {
		return nil, fmt.Errorf("fleet %s: %w", name, err)
	}
	f.Name = name
	if f.Description == "" {
		f.Description = b.description
	}
	if err := f.Resolve(z); err != nil {
		return nil, err
	}
	return f, nil
}

func rooflineDevices(ds []roofline.Device, kind, source string) *Fleet {
	f := &Fleet{Resolution: 224}
	for _, d := range ds {
		f.Devices = append(f.Devices, &Device{Name: d.Name, Kind: kind, Weight: 1, Model: d.Model,
			Source: source, Accuracy: d.Accuracy, Ref: Reference{Model: "MobileNetV2"}, HeldOut: d.HeldOut})
	}
	return f
}

func mnv4(z *zoo.Zoo) (*Fleet, error) {
	ds, err := roofline.MNV4Devices(z)
	if err != nil {
		return nil, err
	}
	return rooflineDevices(ds, "calibrated", "roofline calibrated on MobileNetV4 Table 6 (Qin et al., ECCV 2024) at native resolutions; the networks measured there get the measurement"), nil
}

func ridgepoint(*zoo.Zoo) (*Fleet, error) {
	return rooflineDevices(roofline.RidgeFamily(), "roofline", "analytic roofline (MobileNetV4 ridge-point model), int8"), nil
}

func fbnetLUT(*zoo.Zoo) (*Fleet, error) {
	devs, err := lut.FBNetDevices()
	if err != nil {
		return nil, err
	}
	f := &Fleet{}
	for _, d := range devs {
		t, err := lut.FBNet(d)
		if err != nil {
			return nil, err
		}
		f.Devices = append(f.Devices, &Device{Name: d, Kind: "lut", Weight: 1, Model: t, Source: t.Source,
			Accuracy: latency.Exact("the benchmark's own per-op table (sums reproduce its 5,000 networks to 6e-6 ms)", 5000),
			Ref:      Reference{Space: "fbnet", Choice: FBNetReference}})
	}
	return f, nil
}

// OFAMax is the largest network of the ofa space (depth 4, kernel 7,
// expansion 6 everywhere), the note10 fleet's reference.
const OFAMax = "k7e6,k7e6,k7e6,k7e6/k7e6,k7e6,k7e6,k7e6/k7e6,k7e6,k7e6,k7e6/k7e6,k7e6,k7e6,k7e6/k7e6,k7e6,k7e6,k7e6"

// note10 prices networks of the ofa space with Once-for-All's table.
func note10(*zoo.Zoo) (*Fleet, error) {
	t, err := lut.Note10(224)
	if err != nil {
		return nil, err
	}
	return &Fleet{Resolution: 224, Devices: []*Device{{Name: "note10", Kind: "lut", Weight: 1, Model: t, Source: t.Source,
		Accuracy: latency.Accuracy{Method: "per-op table measured on the phone (Once-for-All); whole-network error not published"},
		Ref:      Reference{Space: "ofa", Choice: OFAMax}}}}, nil
}

// pixel1 prices networks with ProxylessNAS's table; 78 ms is the measured
// Pixel 1 latency ProxylessNAS reports for its mobile model (Cai et al.,
// ICLR 2019, Table 2).
func pixel1(*zoo.Zoo) (*Fleet, error) {
	t, err := lut.Pixel1()
	if err != nil {
		return nil, err
	}
	return &Fleet{Resolution: 224, Devices: []*Device{{Name: "pixel1", Kind: "lut", Weight: 1, Model: t, Source: t.Source,
		Accuracy: latency.Accuracy{Method: "per-op table measured on the phone (ProxylessNAS); whole-network error not published"},
		Ref:      Reference{TargetMS: 78}}}}, nil
}

// FBNetReference is the fbnet space's MobileNetV2-like member (every layer
// k3_e6), the reference network of the FBNet fleets.
const FBNetReference = "k3_e6 k3_e6 k3_e6 k3_e6 k3_e6 k3_e6 k3_e6 k3_e6 k3_e6 k3_e6 k3_e6 k3_e6 k3_e6 k3_e6 k3_e6 k3_e6 k3_e6 k3_e6 k3_e6 k3_e6 k3_e6 k3_e6"

func fbnetPhones(*zoo.Zoo) (*Fleet, error) {
	sp, err := space.Get("fbnet")
	if err != nil {
		return nil, err
	}
	choices, pixel2, s7, err := linear.FBNetPhones()
	if err != nil {
		return nil, err
	}
	f := &Fleet{}
	for _, d := range []struct {
		name string
		ms   []float64
	}{{"pixel2", pixel2}, {"samsung_s7", s7}} {
		opt := linear.Robust()
		m, err := linear.Fit("fbnet", sp.Decisions(), choices, d.ms, opt)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.name, err)
		}
		acc, err := linear.CrossValidate("fbnet", sp.Decisions(), choices, d.ms, opt, 5, 1)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.name, err)
		}
		f.Devices = append(f.Devices, &Device{Name: d.name, Kind: "linear", Weight: 1, Model: m,
			Source:   "robust per-op model fitted to HELP's 5,000 FBNet measurements (Lee et al., NeurIPS 2021), whole ms",
			Accuracy: acc, Ref: Reference{Space: "fbnet", Choice: FBNetReference}})
	}
	return f, nil
}

func nb201Mobile(*zoo.Zoo) (*Fleet, error) {
	tabs, err := table.NB201All()
	if err != nil {
		return nil, err
	}
	src := map[string]string{
		"pixel3":     "HW-NAS-Bench (Li et al., ICLR 2021), TFLite on the Pixel 3 CPU",
		"raspi4":     "HW-NAS-Bench, TFLite on a Raspberry Pi 4",
		"eyeriss":    "HW-NAS-Bench, Eyeriss ASIC simulator",
		"fpga":       "HW-NAS-Bench, ZC706 FPGA",
		"pixel2":     "HELP (Lee et al., NeurIPS 2021), Pixel 2, whole ms",
		"samsung_s7": "HELP, Galaxy S7, whole ms",
	}
	f := &Fleet{}
	for _, d := range table.NB201Devices() {
		t := tabs[d]
		f.Devices = append(f.Devices, &Device{Name: d, Kind: "table", Weight: 1, Model: t,
			Source:   src[d],
			Accuracy: latency.Exact("measured table of all 15,625 cells", t.Len()),
			Ref:      Reference{Space: "nb201", Choice: NB201ResNet}})
	}
	return f, nil
}

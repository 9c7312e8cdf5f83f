package roofline

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/data"
	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/zoo"
)

// mnv4Model maps a row of MobileNetV4's Table 6 to a zoo model. Rows that
// are not listed (MobileOne, FastViT, EfficientViT, ConvNext) have no zoo
// model and are skipped.
type mnv4Model struct {
	row   string
	zoo   string
	width float64
}

var mnv4Models = []mnv4Model{
	{"MobileNet-V2-0.5x", "MobileNetV2", 0.5},
	{"MobileNet-V3L-0.5x", "MobileNetV3Large", 0.5},
	{"MobileNet-V2", "MobileNetV2", 1},
	{"MNv4-Conv-S", "MobileNetV4ConvSmall", 1},
	{"MobileNet-V1", "MobileNetV1", 1},
	{"MobileNet-V2-1.5x", "MobileNetV2", 1.5},
	{"MultiHardware-MAX-1.5x", "MobileNetMultiMAX", 1.5},
	{"MultiHardware-AVG-1.5x", "MobileNetMultiAVG", 1.5},
	{"MobileNet-V2-2.0x", "MobileNetV2", 2},
	{"MNv4-Conv-M", "MobileNetV4ConvMedium", 1},
	{"MNv4-Hybrid-M", "MobileNetV4HybridMedium", 1},
	{"MNv4-Conv-L", "MobileNetV4ConvLarge", 1},
	{"MNv4-Hybrid-L", "MobileNetV4HybridLarge", 1},
}

// mnv4Device is one device column of Table 6 with the prior its
// calibration starts from and the knobs it may move.
type mnv4Device struct {
	column string
	prior  Params
	free   []Knob
}

// Priors are order-of-magnitude datasheet figures; calibration moves them.
// Free knobs: peak, bandwidth, depthwise and element-wise efficiency, the
// per-layer overhead and the per-network constant (seven or fewer
// measurements per knob, held near the prior by the ridge term), plus the
// attention penalty on devices whose rows include the hybrids. The
// hard-swish and SE penalties stay at their priors: only
// MobileNet-V3L-0.5x has them, so a leave-one-model-out fit could never
// learn them. Element-wise efficiency is free because runtimes differ most
// in how well they fuse adds, SE gating and pooling; freeing it lowered
// the held-out error on six of seven devices.
// Precision: the paper quantises models to int8 for the EdgeTPU and the
// Hexagon DSP, which only run integer models; the CPU figures (e.g.
// MobileNet-V1 at 6.1 ms = 93 GMAC/s on a Pixel 6) exceed what the
// phone's fp32 NEON units can deliver, so they are taken as int8 too
// (XNNPACK with dot-product instructions); GPUs and the Apple Neural
// Engine run fp16.
var mnv4DeviceTable = []mnv4Device{
	{column: "pixel6_cpu", prior: Params{
		PeakGMACs: 150, BandwidthGBs: 15, BytesPerElement: 1,
		Efficiency:      Efficiency{Conv1x1: 0.7, ConvKxK: 0.5, Depthwise: 0.3, FC: 0.5, MatMul: 0.3, Elementwise: 0.5},
		LayerOverheadMS: 0.01, ElementwiseOverheadMS: 0.005, NetworkOverheadMS: 0.1,
		Penalty: Penalty{HSwish: 1.1, SE: 1.5, Attention: 1.5},
	}, free: []Knob{KnobPeak, KnobBandwidth, KnobDepthwise, KnobElementwise, KnobOverhead, KnobNetworkOverhead, KnobPenaltyAttention}},
	{column: "pixel8_edgetpu", prior: Params{
		PeakGMACs: 2000, BandwidthGBs: 30, BytesPerElement: 1,
		Efficiency:      Efficiency{Conv1x1: 0.7, ConvKxK: 0.6, Depthwise: 0.1, FC: 0.3, MatMul: 0.2, Elementwise: 0.5},
		LayerOverheadMS: 0.003, ElementwiseOverheadMS: 0.0015, NetworkOverheadMS: 0.3,
		Penalty: Penalty{HSwish: 1.3, SE: 2, Attention: 2},
	}, free: []Knob{KnobPeak, KnobBandwidth, KnobDepthwise, KnobElementwise, KnobOverhead, KnobNetworkOverhead, KnobPenaltyAttention}},
	{column: "iphone13_coreml", prior: Params{
		PeakGMACs: 3000, BandwidthGBs: 40, BytesPerElement: 2,
		Efficiency:      Efficiency{Conv1x1: 0.7, ConvKxK: 0.6, Depthwise: 0.2, FC: 0.3, MatMul: 0.3, Elementwise: 0.5},
		LayerOverheadMS: 0.003, ElementwiseOverheadMS: 0.0015, NetworkOverheadMS: 0.2,
		Penalty: Penalty{HSwish: 1.1, SE: 1.5, Attention: 1.5},
	}, free: []Knob{KnobPeak, KnobBandwidth, KnobDepthwise, KnobElementwise, KnobOverhead, KnobNetworkOverhead}},
	{column: "pixel4_hexagon", prior: Params{
		PeakGMACs: 400, BandwidthGBs: 15, BytesPerElement: 1,
		Efficiency:      Efficiency{Conv1x1: 0.7, ConvKxK: 0.5, Depthwise: 0.2, FC: 0.3, MatMul: 0.2, Elementwise: 0.5},
		LayerOverheadMS: 0.01, ElementwiseOverheadMS: 0.005, NetworkOverheadMS: 1,
		Penalty:     Penalty{HSwish: 1.5, SE: 2},
		Unsupported: []arch.Op{arch.OpMatMul, arch.OpSoftmax},
	}, free: []Knob{KnobPeak, KnobBandwidth, KnobDepthwise, KnobElementwise, KnobOverhead, KnobNetworkOverhead}},
	{column: "pixel7_gpu", prior: Params{
		PeakGMACs: 400, BandwidthGBs: 25, BytesPerElement: 2,
		Efficiency:      Efficiency{Conv1x1: 0.6, ConvKxK: 0.5, Depthwise: 0.2, FC: 0.3, MatMul: 0.3, Elementwise: 0.5},
		LayerOverheadMS: 0.08, ElementwiseOverheadMS: 0.04, NetworkOverheadMS: 1,
		Penalty: Penalty{HSwish: 1.1, SE: 1.5, Attention: 1.5},
	}, free: []Knob{KnobPeak, KnobBandwidth, KnobDepthwise, KnobElementwise, KnobOverhead, KnobNetworkOverhead, KnobPenaltyAttention}},
	{column: "s23_cpu", prior: Params{
		PeakGMACs: 200, BandwidthGBs: 20, BytesPerElement: 1,
		Efficiency:      Efficiency{Conv1x1: 0.7, ConvKxK: 0.5, Depthwise: 0.3, FC: 0.5, MatMul: 0.3, Elementwise: 0.5},
		LayerOverheadMS: 0.01, ElementwiseOverheadMS: 0.005, NetworkOverheadMS: 0.1,
		Penalty: Penalty{HSwish: 1.1, SE: 1.5, Attention: 1.5},
	}, free: []Knob{KnobPeak, KnobBandwidth, KnobDepthwise, KnobElementwise, KnobOverhead, KnobNetworkOverhead, KnobPenaltyAttention}},
	{column: "s23_gpu", prior: Params{
		PeakGMACs: 1000, BandwidthGBs: 40, BytesPerElement: 2,
		Efficiency:      Efficiency{Conv1x1: 0.6, ConvKxK: 0.5, Depthwise: 0.2, FC: 0.3, MatMul: 0.3, Elementwise: 0.5},
		LayerOverheadMS: 0.02, ElementwiseOverheadMS: 0.01, NetworkOverheadMS: 0.5,
		Penalty: Penalty{HSwish: 1.1, SE: 1.5, Attention: 1.5},
	}, free: []Knob{KnobPeak, KnobBandwidth, KnobDepthwise, KnobElementwise, KnobOverhead, KnobNetworkOverhead, KnobPenaltyAttention}},
}

// MNV4DeviceNames lists the devices of MobileNetV4's Table 6 in the
// table's column order.
func MNV4DeviceNames() []string {
	out := make([]string, len(mnv4DeviceTable))
	for i, d := range mnv4DeviceTable {
		out[i] = d.column
	}
	return out
}

// MNV4Prior returns the prior parameters and the fit options (which knobs
// are free) that calibration of a Table 6 device starts from.
func MNV4Prior(device string) (Params, FitOptions, error) {
	for _, d := range mnv4DeviceTable {
		if d.column == device {
			return d.prior.clone(), FitOptions{Free: append([]Knob(nil), d.free...)}, nil
		}
	}
	return Params{}, FitOptions{}, fmt.Errorf("unknown MobileNetV4 device %q; one of %s", device, strings.Join(MNV4DeviceNames(), ", "))
}

// DeviceSamples are one device's rows of Table 6 that have a zoo model.
type DeviceSamples struct {
	Device string
	// Samples are the measured rows; Failed the rows the paper marks
	// "Failed" (the model could not run on the device).
	Samples []Sample
	Failed  []Sample
}

// MNV4Samples reads MobileNetV4's Table 6 and builds each row that has a
// zoo model at the given resolution (0 = each model's native one: 224,
// but 256 for MNv4 Conv-M/Hybrid-M and 384 for Conv-L/Hybrid-L, which is
// what the paper benchmarked: the table's MAC counts are those of the
// native resolutions). Empty cells are skipped.
func MNV4Samples(z *zoo.Zoo, resolution int) ([]DeviceSamples, error) {
	if z == nil {
		return nil, errors.New("no model zoo")
	}
	raw, err := data.File("published/mobilenetv4_table6.csv")
	if err != nil {
		return nil, err
	}
	var lines [][]byte
	for _, l := range bytes.Split(raw, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 && !bytes.HasPrefix(l, []byte("#")) {
			lines = append(lines, l)
		}
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.Join(lines, []byte("\n")))).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("mobilenetv4_table6.csv: %w", err)
	}
	if len(recs) < 2 {
		return nil, errors.New("mobilenetv4_table6.csv: no rows")
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	out := make([]DeviceSamples, len(mnv4DeviceTable))
	for i, d := range mnv4DeviceTable {
		if _, ok := col[d.column]; !ok {
			return nil, fmt.Errorf("mobilenetv4_table6.csv: no column %q", d.column)
		}
		out[i].Device = d.column
	}
	rows := map[string][]string{}
	for _, r := range recs[1:] {
		rows[r[0]] = r
	}
	for _, m := range mnv4Models {
		r, ok := rows[m.row]
		if !ok {
			return nil, fmt.Errorf("mobilenetv4_table6.csv: no row %q", m.row)
		}
		n, err := z.Build(m.zoo, zoo.Options{Width: m.width, Resolution: resolution})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.row, err)
		}
		net, err := latency.FromNetwork(n, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.row, err)
		}
		net.Key = m.row
		for i, d := range mnv4DeviceTable {
			cell := strings.TrimSpace(r[col[d.column]])
			switch {
			case cell == "":
			case strings.EqualFold(cell, "failed"):
				out[i].Failed = append(out[i].Failed, Sample{Name: m.row, Net: net})
			default:
				v, err := strconv.ParseFloat(cell, 64)
				if err != nil || !finitePositive(v) {
					return nil, fmt.Errorf("mobilenetv4_table6.csv: %s on %s: bad latency %q", m.row, d.column, cell)
				}
				out[i].Samples = append(out[i].Samples, Sample{Name: m.row, Net: net, LatencyMS: v})
			}
		}
	}
	return out, nil
}

// MNV4Devices is the mnv4 fleet: the seven devices of MobileNetV4's Table
// 6, each a roofline calibrated on all of its rows that have a zoo model
// (at native resolutions), with leave-one-model-out Accuracy: every model
// is predicted by a calibration that never saw it. At the time of writing
// the median / mean absolute percentage errors were: pixel6_cpu 7.5 / 9.7
// (n=13), pixel8_edgetpu 7.4 / 8.2 (13), iphone13_coreml 15.1 / 22.8 (9),
// pixel4_hexagon 6.8 / 8.1 (11), pixel7_gpu 12.3 / 15.7 (13), s23_cpu
// 11.1 / 9.8 (11), s23_gpu 5.9 / 8.8 (13); TestMNV4Fleet logs the current
// table. The Hexagon model refuses attention (the paper's "Failed" cells).
//
// Each model is anchored on its device's rows (Model.Anchored): a network
// structurally identical to a measured row, such as MobileNetV2 1.0 at
// 224 px (the fleet's reference) or MobileNet-MultiHW-MAX at width 1.5,
// gets the Table 6 latency instead of the roofline's; every other network
// is predicted. HeldOut keeps the leave-one-model-out predictions, from
// which a fleet computes the error of latency ratios.
//
// The calibration takes about two seconds (a hundred fits) and depends
// only on embedded data (Table 6 and the zoo's definitions, which every
// zoo holds alike), so it is done once per process and each call gets a
// copy of its devices; their models are immutable and safe to share.
func MNV4Devices(z *zoo.Zoo) ([]Device, error) {
	devs, err := mnv4Calibration(z)
	if err != nil {
		return nil, err
	}
	out := make([]Device, len(devs))
	for i, d := range devs {
		d.HeldOut = slices.Clone(d.HeldOut)
		out[i] = d
	}
	return out, nil
}

// mnv4Once holds the one calibration of a process (see MNV4Devices): a
// value computed once from embedded data, never changed afterwards.
var mnv4Once struct {
	once sync.Once
	devs []Device
	err  error
}

// mnv4Calibration calibrates the mnv4 devices on the first call and
// returns the same devices after.
func mnv4Calibration(z *zoo.Zoo) ([]Device, error) {
	mnv4Once.once.Do(func() { mnv4Once.devs, mnv4Once.err = calibrateMNV4(z) })
	return mnv4Once.devs, mnv4Once.err
}

// calibrateMNV4 fits the mnv4 devices (see MNV4Devices).
func calibrateMNV4(z *zoo.Zoo) ([]Device, error) {
	all, err := MNV4Samples(z, 0)
	if err != nil {
		return nil, err
	}
	out := make([]Device, 0, len(all))
	for _, ds := range all {
		prior, opt, err := MNV4Prior(ds.Device)
		if err != nil {
			return nil, err
		}
		fit, err := Fit(ds.Samples, prior, opt)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ds.Device, err)
		}
		pred, err := HeldOut(ds.Samples, prior, opt, 0, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ds.Device, err)
		}
		meas := make([]float64, len(ds.Samples))
		held := make([]latency.HeldOut, len(ds.Samples))
		known := make([]latency.MeasuredNet, len(ds.Samples))
		for i, s := range ds.Samples {
			meas[i] = s.LatencyMS
			held[i] = latency.HeldOut{Name: s.Name, Net: s.Net, MeasuredMS: s.LatencyMS, PredictedMS: pred[i]}
			known[i] = latency.MeasuredNet{Name: s.Name + " (MobileNetV4 Table 6)", Net: s.Net, MS: s.LatencyMS}
		}
		acc, err := latency.Score(fmt.Sprintf("leave-one-model-out over %d MobileNetV4 Table 6 models", len(ds.Samples)), pred, meas)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ds.Device, err)
		}
		lookup, err := latency.NewLookup(known)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ds.Device, err)
		}
		out = append(out, Device{Name: ds.Device, Model: fit.Model.Anchored(lookup), Accuracy: acc,
			Samples: len(ds.Samples), HeldOut: held})
	}
	return out, nil
}

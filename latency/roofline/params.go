// Package roofline prices a network on a device with a per-layer roofline
// model: each layer takes the longer of its compute time (MACs at the
// device's peak rate, derated by how well the device runs that kind of
// op) and its memory time (weight and activation bytes at the device's
// bandwidth), times a penalty for ops the device runs badly, plus a fixed
// per-layer dispatch overhead; a network adds a constant per-inference
// cost.
//
// The package also provides MobileNetV4's hardware-agnostic ridge-point
// family (RidgeFamily), robust calibration of a device's parameters to
// measured (network, latency) pairs with cross-validated error (Fit,
// CrossValidate), and the mnv4 fleet: the seven devices of MobileNetV4's
// Table 6 calibrated on the reference MobileNets that appear in it
// (MNV4Devices). Those devices are anchored on the rows they were
// calibrated on (Model.Anchored): for those networks they return the
// measurement, not the fit, so that a ratio to a measured reference
// network is the measured ratio.
package roofline

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/fleetnas/fleetnas/arch"
)

// Efficiency is the fraction (0, 1] of the device's peak that each class of
// layer achieves. For layers that do multiply-accumulates (convolutions,
// depthwise, fully connected, attention products) it derates the compute
// roof; for the element-wise class (add, mul, activation, batch norm,
// pooling, softmax, shuffle), which does no MACs and is bound by memory
// traffic, it derates the bandwidth roof instead. Separate values exist
// because real kernels differ by an order of magnitude: a 1x1 convolution
// is a dense GEMM that nears peak, a depthwise convolution rarely does.
type Efficiency struct {
	// Conv1x1 is a dense pointwise convolution (a GEMM).
	Conv1x1 float64 `json:"conv1x1"`
	// ConvKxK is a kxk convolution with k > 1, or any grouped convolution.
	ConvKxK float64 `json:"convkxk"`
	// Depthwise is a kxk depthwise convolution.
	Depthwise float64 `json:"depthwise"`
	// FC is a dense layer on a 1x1 input (the classifier).
	FC float64 `json:"fc"`
	// MatMul is an attention matrix product.
	MatMul float64 `json:"matmul"`
	// Elementwise is the achieved share of bandwidth of add, mul, act, bn,
	// scale, shuffle, pooling and softmax layers.
	Elementwise float64 `json:"elementwise"`
}

// Penalty holds multiplicative slow-downs (> 0; 0 means none, i.e. 1) of a
// layer's roofline time for features a device runs worse than its roofline
// says: activations without a fast path (a DSP or TPU computes hard-swish
// in several passes), squeeze-excite's pooling and tiny matrix products,
// attention, big kernels. When several apply they multiply.
type Penalty struct {
	// HSwish applies to layers whose (fused or stand-alone) activation is
	// hard-swish; Swish and GELU likewise.
	HSwish float64 `json:"hswish,omitempty"`
	Swish  float64 `json:"swish,omitempty"`
	GELU   float64 `json:"gelu,omitempty"`
	// SE applies to every layer of a squeeze-excite block (Part "se...").
	SE float64 `json:"se,omitempty"`
	// Attention applies to attention matrix products and softmax.
	Attention float64 `json:"attention,omitempty"`
	// BigKernel applies to convolutions and depthwise convolutions whose
	// kernel is at least BigKernelMin (5 when 0).
	BigKernel    float64 `json:"big_kernel,omitempty"`
	BigKernelMin int     `json:"big_kernel_min,omitempty"`
}

// Params describe one device. Units: GMAC/s (1e9 multiply-accumulates per
// second), GB/s (1e9 bytes per second), milliseconds. The zero value is not
// valid; Validate says why a value is rejected.
type Params struct {
	// PeakGMACs is the peak compute rate in GMAC/s.
	PeakGMACs float64 `json:"peak_gmacs"`
	// BandwidthGBs is the memory bandwidth in GB/s. It is ignored (and may
	// be 0) when MemoryFree is set.
	BandwidthGBs float64 `json:"bandwidth_gbs"`
	// MemoryFree makes memory traffic cost nothing: the ridge point is 0
	// MACs/byte and latency is proportional to MACs.
	MemoryFree bool `json:"memory_free,omitempty"`
	// BytesPerElement of weights and activations: 1 (int8), 2 (fp16) or
	// 4 (fp32).
	BytesPerElement int        `json:"bytes_per_element"`
	Efficiency      Efficiency `json:"efficiency"`
	// LayerOverheadMS is added once per MAC layer (conv, depthwise, fc,
	// matmul): the dispatch cost of a kernel, which dominates small layers
	// on GPUs.
	LayerOverheadMS float64 `json:"layer_overhead_ms"`
	// ElementwiseOverheadMS is added once per stand-alone element-wise
	// layer (add, mul, act, bn, scale, shuffle, pooling, softmax). Batch
	// norm and activations folded into a convolution are not layers of
	// their own, so they cost nothing here.
	ElementwiseOverheadMS float64 `json:"elementwise_overhead_ms"`
	// NetworkOverheadMS is added once per inference (invocation, input
	// and output copies, synchronisation).
	NetworkOverheadMS float64 `json:"network_overhead_ms"`
	Penalty           Penalty `json:"penalty"`
	// Unsupported lists layer kinds the device cannot run at all (e.g.
	// "matmul" and "softmax" on a DSP without attention support); a
	// network containing one is priced with an error wrapping
	// latency.ErrUnsupported.
	Unsupported []arch.Op `json:"unsupported_ops,omitempty"`
}

// RidgePoint is the device's MACs per byte at which a layer turns from
// memory-bound to compute-bound (peak / bandwidth), 0 when memory is free.
func (p Params) RidgePoint() float64 {
	if p.MemoryFree {
		return 0
	}
	return p.PeakGMACs / p.BandwidthGBs
}

func finitePositive(x float64) bool { return x > 0 && !math.IsInf(x, 0) }

// Validate reports every field that makes the parameters unusable, so
// that a hand-written fleet file fails with one clear message.
func (p Params) Validate() error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if !finitePositive(p.PeakGMACs) {
		bad("peak_gmacs must be a positive finite number, got %g", p.PeakGMACs)
	}
	if !p.MemoryFree && !finitePositive(p.BandwidthGBs) {
		bad("bandwidth_gbs must be a positive finite number (or set memory_free), got %g", p.BandwidthGBs)
	}
	if p.MemoryFree && (math.IsNaN(p.BandwidthGBs) || p.BandwidthGBs < 0) {
		bad("bandwidth_gbs must not be negative or NaN, got %g", p.BandwidthGBs)
	}
	switch p.BytesPerElement {
	case 1, 2, 4:
	default:
		bad("bytes_per_element must be 1 (int8), 2 (fp16) or 4 (fp32), got %d", p.BytesPerElement)
	}
	for _, e := range []struct {
		name string
		v    float64
	}{
		{"conv1x1", p.Efficiency.Conv1x1}, {"convkxk", p.Efficiency.ConvKxK}, {"depthwise", p.Efficiency.Depthwise},
		{"fc", p.Efficiency.FC}, {"matmul", p.Efficiency.MatMul}, {"elementwise", p.Efficiency.Elementwise},
	} {
		if !(e.v > 0 && e.v <= 1) {
			bad("efficiency.%s must be in (0, 1], got %g", e.name, e.v)
		}
	}
	for _, o := range []struct {
		name string
		v    float64
	}{
		{"layer_overhead_ms", p.LayerOverheadMS}, {"elementwise_overhead_ms", p.ElementwiseOverheadMS},
		{"network_overhead_ms", p.NetworkOverheadMS},
	} {
		if math.IsNaN(o.v) || math.IsInf(o.v, 0) || o.v < 0 {
			bad("%s must be a finite number >= 0, got %g", o.name, o.v)
		}
	}
	for _, q := range []struct {
		name string
		v    float64
	}{
		{"hswish", p.Penalty.HSwish}, {"swish", p.Penalty.Swish}, {"gelu", p.Penalty.GELU},
		{"se", p.Penalty.SE}, {"attention", p.Penalty.Attention}, {"big_kernel", p.Penalty.BigKernel},
	} {
		if math.IsNaN(q.v) || math.IsInf(q.v, 0) || q.v < 0 {
			bad("penalty.%s must be a finite factor > 0 (0 = none), got %g", q.name, q.v)
		}
	}
	if p.Penalty.BigKernelMin < 0 || p.Penalty.BigKernelMin == 1 {
		bad("penalty.big_kernel_min must be 0 (= 5) or at least 2, got %d", p.Penalty.BigKernelMin)
	}
	for _, op := range p.Unsupported {
		if !knownOp(op) {
			bad("unsupported_ops: unknown layer kind %q", op)
		}
	}
	if len(errs) > 0 {
		return errors.New("invalid roofline parameters: " + strings.Join(errs, "; "))
	}
	return nil
}

var allOps = []arch.Op{arch.OpConv, arch.OpDepthwise, arch.OpFC, arch.OpGlobalPool, arch.OpAvgPool, arch.OpAdd,
	arch.OpMul, arch.OpAct, arch.OpBN, arch.OpScale, arch.OpShuffle, arch.OpMatMul, arch.OpSoftmax, arch.OpZero}

func knownOp(op arch.Op) bool {
	for _, o := range allOps {
		if o == op {
			return true
		}
	}
	return false
}

// factor is a penalty's multiplier: 0 means none.
func factor(x float64) float64 {
	if x == 0 {
		return 1
	}
	return x
}

// clone returns a deep copy, so that a Model never shares the Unsupported
// slice with its caller.
func (p Params) clone() Params {
	p.Unsupported = append([]arch.Op(nil), p.Unsupported...)
	return p
}

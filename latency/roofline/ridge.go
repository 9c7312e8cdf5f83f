package roofline

import (
	"fmt"

	"github.com/fleetnas/fleetnas/latency"
)

// RidgePeakGMACs is the compute peak shared by every member of the ridge
// family. Only ratios between networks on one ridge-point device carry
// meaning (the family is hardware-agnostic), so the constant merely sets
// the scale: 1000 GMAC/s puts MobileNetV2 near a third of a millisecond
// at ridge point 0, in the range of current mobile accelerators.
const RidgePeakGMACs = 1000

// RidgePoints are the ridge points (MACs per byte) of RidgeFamily:
// MobileNetV4 sweeps from 0 (memory is free, latency is proportional to
// MACs, like a big accelerator with its weights on chip) to 500 (memory
// dominates, like a mobile CPU) to judge a model's efficiency on hardware
// it has not seen (Qin et al. 2024, section 3).
var ridgePoints = []int{0, 50, 100, 200, 300, 400, 500}

// RidgePoints returns the ridge points of RidgeFamily in ascending order.
func RidgePoints() []int { return append([]int(nil), ridgePoints...) }

// RidgeParams returns the pure roofline of MobileNetV4's analysis at a
// ridge point rp >= 0: every op runs at the peak (efficiency 1), no
// overheads, no penalties, int8 weights and activations (1 byte per
// element), bandwidth = RidgePeakGMACs / rp GB/s; rp 0 sets MemoryFree.
func RidgeParams(rp float64) (Params, error) {
	if !(rp >= 0) || rp > 1e6 {
		return Params{}, fmt.Errorf("ridge point must be a number in [0, 1e6] MACs/byte, got %g", rp)
	}
	p := Params{
		PeakGMACs:       RidgePeakGMACs,
		BytesPerElement: 1,
		Efficiency:      Efficiency{Conv1x1: 1, ConvKxK: 1, Depthwise: 1, FC: 1, MatMul: 1, Elementwise: 1},
	}
	if rp == 0 {
		p.MemoryFree = true
	} else {
		p.BandwidthGBs = RidgePeakGMACs / rp
	}
	return p, nil
}

// RidgeFamily returns the hardware-agnostic fleet rp0, rp50, rp100, rp200,
// rp300, rp400, rp500. Their Accuracy is unknown (N = 0): they are
// analytic devices, not models of measured hardware.
func RidgeFamily() []Device {
	out := make([]Device, 0, len(ridgePoints))
	for _, rp := range ridgePoints {
		p, err := RidgeParams(float64(rp))
		if err != nil {
			continue // cannot happen: the built-in points are valid
		}
		m, err := New(p)
		if err != nil {
			continue
		}
		out = append(out, Device{
			Name:     fmt.Sprintf("rp%d", rp),
			Model:    m,
			Accuracy: latency.Accuracy{Method: fmt.Sprintf("analytic roofline at ridge point %d MACs/byte (MobileNetV4)", rp)},
		})
	}
	return out
}

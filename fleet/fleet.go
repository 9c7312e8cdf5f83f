// Package fleet is a named set of devices, each with a latency model, a
// weight and a reference, and the evaluation of a network on all of them:
// per-device latency and ratio to the reference, and the fleet's AVG and
// MAX metrics (package metric).
//
// Built-in fleets come from the embedded measurements (see Builtin); user
// fleets are JSON or YAML files that mix device kinds (see docs/fleets.md).
//
// Ratios are anchored on measurements where there are some: a device
// model that measured the reference network (a table, a roofline
// calibrated on MobileNetV4's Table 6) gives the measured reference
// latency, Resolve records that (Device.RefMeasured), and each device's
// error figures include the held-out error of its ratio under the
// fleet's reference.
package fleet

import (
	"errors"
	"fmt"
	"math"

	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/metric"
	"github.com/fleetnas/fleetnas/space"
	"github.com/fleetnas/fleetnas/zoo"
)

// Reference says what a device's latency is normalised by: a target in ms,
// or the latency on that device of a reference network (a zoo model, or a
// member of a search space).
type Reference struct {
	TargetMS   float64 `json:"target_ms,omitempty" yaml:"target_ms,omitempty"`
	Model      string  `json:"model,omitempty" yaml:"model,omitempty"`
	Width      float64 `json:"width,omitempty" yaml:"width,omitempty"`
	Resolution int     `json:"resolution,omitempty" yaml:"resolution,omitempty"`
	Space      string  `json:"space,omitempty" yaml:"space,omitempty"`
	Choice     string  `json:"choice,omitempty" yaml:"choice,omitempty"`
}

// String describes the reference for listings.
func (r Reference) String() string {
	switch {
	case r.TargetMS > 0:
		return fmt.Sprintf("target %g ms", r.TargetMS)
	case r.Model != "":
		s := r.Model
		if r.Width != 0 && r.Width != 1 {
			s += fmt.Sprintf(" x%g", r.Width)
		}
		if r.Resolution != 0 {
			s += fmt.Sprintf(" @%d", r.Resolution)
		}
		return s
	case r.Space != "":
		return r.Space + ":" + r.Choice
	}
	return "none"
}

func (r Reference) validate() error {
	n := 0
	if r.TargetMS != 0 {
		n++
		if !(r.TargetMS > 0) || math.IsInf(r.TargetMS, 0) {
			return fmt.Errorf("target_ms must be a positive number of milliseconds, got %g", r.TargetMS)
		}
	}
	if r.Model != "" {
		n++
	}
	if r.Space != "" || r.Choice != "" {
		n++
		if r.Space == "" || r.Choice == "" {
			return errors.New("a space reference needs both space and choice")
		}
	}
	if n != 1 {
		return errors.New("give exactly one of target_ms, model (with optional width and resolution), or space and choice")
	}
	if r.Model == "" && (r.Width != 0 || r.Resolution != 0) {
		return errors.New("width and resolution apply to a model reference only")
	}
	return nil
}

// Device is one member of a fleet.
type Device struct {
	Name string `json:"name"`
	// Kind is the latency model kind: lut, roofline, calibrated, table, linear.
	Kind   string  `json:"kind"`
	Weight float64 `json:"weight"`
	// Source says where the model's numbers come from.
	Source string `json:"source"`
	// Accuracy is the model's error on measurements it did not see. Its
	// ratio figures (RatioN, RatioMAPE, RatioWithin10) depend on the
	// reference, so Resolve computes them from HeldOut, and clears them
	// when it cannot: without held-out predictions, or when the
	// reference network's latency on the device was never measured.
	Accuracy latency.Accuracy `json:"accuracy"`
	Ref      Reference        `json:"reference"`
	// RefMS is the resolved reference latency in ms.
	RefMS float64 `json:"reference_ms"`
	// RefNetwork names the reference network as it was priced, e.g.
	// "MobileNetV2 @224" (empty for a target in ms); set by Resolve.
	RefNetwork string `json:"reference_network,omitempty"`
	// RefMeasured says that RefMS is a measurement of the reference
	// network on this device (a table row, a cell of MobileNetV4's Table
	// 6), not a prediction; false for a target. Set by Resolve.
	RefMeasured bool          `json:"reference_measured"`
	Model       latency.Model `json:"-"`
	// HeldOut are the held-out predictions the model's Accuracy was
	// computed from (leave-one-out or cross-validation), if known; Resolve
	// derives the ratio error from them.
	HeldOut []latency.HeldOut `json:"-"`
}

// Fleet is a named set of devices.
type Fleet struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Resolution is the deployment resolution at which networks of a
	// search space are priced (0: the space's default), and the
	// resolution of the reference networks that do not set their own.
	Resolution int `json:"resolution,omitempty"`
	// Channels and Classes are the deployment target's input channels
	// and classes, which reference networks are built with too (0: their
	// own: 3 channels, and a zoo model's 1000 classes or a space's
	// default). Retarget sets them.
	Channels int       `json:"channels,omitempty" yaml:"-"`
	Classes  int       `json:"classes,omitempty" yaml:"-"`
	Devices  []*Device `json:"devices"`
	weights  []float64
}

// Retarget prices the fleet's reference networks again for a deployment
// target (zero fields keep the fleet's), so that every ratio compares a
// network with its reference deployed the same way: a reference model
// that sets no resolution of its own is built at the target's resolution,
// input channels and classes. A measured reference stays measured only
// when the target is the shape it was measured at.
func (f *Fleet) Retarget(z *zoo.Zoo, resolution, channels, classes int) error {
	if resolution == 0 {
		resolution = f.Resolution
	}
	if resolution == f.Resolution && channels == f.Channels && classes == f.Classes {
		return nil
	}
	f.Resolution, f.Channels, f.Classes = resolution, channels, classes
	return f.Resolve(z)
}

// Result is a network's evaluation on a fleet.
type Result struct {
	Devices []DeviceResult `json:"devices"`
	Avg     float64        `json:"avg"`
	Max     float64        `json:"max"`
}

// DeviceResult is one device's part of a Result.
type DeviceResult struct {
	Name      string           `json:"name"`
	Kind      string           `json:"kind"`
	LatencyMS float64          `json:"latency_ms"`
	RefMS     float64          `json:"reference_ms"`
	Ratio     float64          `json:"ratio"`
	Weight    float64          `json:"weight"`
	Accuracy  latency.Accuracy `json:"model_error"`
	// Measured says LatencyMS is a measurement of the network on the
	// device, not a prediction (see latency.Measured); RefMeasured the
	// same of RefMS.
	Measured    bool `json:"measured,omitempty"`
	RefMeasured bool `json:"reference_measured,omitempty"`
}

// Resolve checks the fleet and computes every device's reference
// latency, whether it is measured, and the error of the device's latency
// ratios under that reference (see Device.Accuracy). A device model that
// measured the reference network returns the measurement, so the ratios
// of a search are anchored on it.
func (f *Fleet) Resolve(z *zoo.Zoo) error {
	if len(f.Devices) == 0 {
		return fmt.Errorf("fleet %s has no devices", f.Name)
	}
	seen := map[string]bool{}
	f.weights = make([]float64, len(f.Devices))
	for i, d := range f.Devices {
		if d.Name == "" {
			return fmt.Errorf("fleet %s: device %d has no name", f.Name, i)
		}
		if seen[d.Name] {
			return fmt.Errorf("fleet %s: device %q appears twice", f.Name, d.Name)
		}
		seen[d.Name] = true
		if d.Weight == 0 {
			d.Weight = 1
		}
		if !(d.Weight > 0) || math.IsInf(d.Weight, 0) {
			return fmt.Errorf("fleet %s: device %s: weight must be positive, got %g", f.Name, d.Name, d.Weight)
		}
		f.weights[i] = d.Weight
		if d.Model == nil {
			return fmt.Errorf("fleet %s: device %s has no latency model", f.Name, d.Name)
		}
		if err := d.Ref.validate(); err != nil {
			return fmt.Errorf("fleet %s: device %s: reference: %w", f.Name, d.Name, err)
		}
		n, err := f.referenceNet(z, d.Ref)
		if err != nil {
			return fmt.Errorf("fleet %s: device %s: reference %s: %w", f.Name, d.Name, d.Ref, err)
		}
		ms, measured := d.Ref.TargetMS, false
		d.RefNetwork = ""
		if n != nil {
			if ms, measured, err = latency.Of(d.Model, n); err != nil {
				return fmt.Errorf("fleet %s: device %s: reference %s: %w", f.Name, d.Name, d.Ref, err)
			}
			if !(ms > 0) || math.IsInf(ms, 0) {
				return fmt.Errorf("fleet %s: device %s: reference %s: latency %g ms is not a positive finite number", f.Name, d.Name, d.Ref, ms)
			}
			d.RefNetwork = refNetworkName(d.Ref, n)
		}
		d.RefMS, d.RefMeasured = ms, measured
		if d.Accuracy, err = ratioAccuracy(d, n); err != nil {
			return fmt.Errorf("fleet %s: device %s: ratio error under reference %s: %w", f.Name, d.Name, d.Ref, err)
		}
	}
	return nil
}

// referenceNet builds the reference network of r (nil for a target).
func (f *Fleet) referenceNet(z *zoo.Zoo, r Reference) (*latency.Net, error) {
	switch {
	case r.TargetMS > 0:
		return nil, nil
	case r.Model != "":
		res := r.Resolution
		if res == 0 {
			res = f.Resolution
		}
		nw, err := z.Build(r.Model, zoo.Options{Width: r.Width, Resolution: res, Classes: f.Classes})
		if err != nil {
			return nil, err
		}
		if f.Channels != 0 && f.Channels != 3 {
			nw.InputChannels = f.Channels
		}
		return latency.FromNetwork(nw, 0)
	default:
		sp, err := space.Get(r.Space)
		if err != nil {
			return nil, err
		}
		c, err := sp.Parse(r.Choice)
		if err != nil {
			return nil, err
		}
		return latency.FromSpaceAt(sp, c, space.Options{Resolution: f.Resolution, Channels: f.Channels, Classes: f.Classes})
	}
}

// refNetworkName names a reference network with the resolution it was
// priced at, which Reference.String leaves out when the reference does
// not set it.
func refNetworkName(r Reference, n *latency.Net) string {
	var s string
	switch {
	case r.Model != "":
		s = r.Model
		if r.Width != 0 && r.Width != 1 {
			s += fmt.Sprintf(" x%g", r.Width)
		}
	default:
		s = r.Space + ":" + r.Choice
	}
	return fmt.Sprintf("%s @%d", s, n.Graph.Resolution)
}

// ratioAccuracy is d's Accuracy with the ratio error under its resolved
// reference (ref is the reference network, nil for a target): from the
// held-out predictions, divided by the reference latency the search
// uses, against the measured ratios. The measured reference latency is
// the target, the device's measurement of the reference, or a held-out
// network of the reference's structure; without one the ratio error is
// unknown and left empty.
func ratioAccuracy(d *Device, ref *latency.Net) (latency.Accuracy, error) {
	a := d.Accuracy
	a.RatioN, a.RatioMAPE, a.RatioWithin10 = 0, 0, 0
	if len(d.HeldOut) == 0 {
		return a, nil
	}
	measRef := 0.0
	switch {
	case ref == nil, d.RefMeasured:
		measRef = d.RefMS
	default:
		for _, h := range d.HeldOut {
			if h.Net != nil && latency.SameStructure(h.Net.Graph, ref.Graph) {
				measRef = h.MeasuredMS
				break
			}
		}
	}
	if measRef == 0 {
		return a, nil
	}
	return a.WithRatios(d.HeldOut, ref, d.RefMS, measRef)
}

// Evaluate prices a network on every device.
func (f *Fleet) Evaluate(n *latency.Net) (*Result, error) {
	if f.weights == nil {
		return nil, fmt.Errorf("fleet %s: Resolve was not called", f.Name)
	}
	res := &Result{Devices: make([]DeviceResult, len(f.Devices))}
	lat := make([]float64, len(f.Devices))
	refs := make([]float64, len(f.Devices))
	measured := make([]bool, len(f.Devices))
	for i, d := range f.Devices {
		ms, meas, err := latency.Of(d.Model, n)
		if err != nil {
			return nil, fmt.Errorf("device %s: %w", d.Name, err)
		}
		lat[i], refs[i], measured[i] = ms, d.RefMS, meas
	}
	ratios, err := metric.Ratios(lat, refs)
	if err != nil {
		return nil, err
	}
	for i, d := range f.Devices {
		res.Devices[i] = DeviceResult{Name: d.Name, Kind: d.Kind, LatencyMS: lat[i], RefMS: d.RefMS,
			Ratio: ratios[i], Weight: d.Weight, Accuracy: d.Accuracy, Measured: measured[i], RefMeasured: d.RefMeasured}
	}
	res.Avg = metric.Avg(ratios, f.weights)
	res.Max = metric.Max(ratios)
	return res, nil
}

// Ratios writes each device's ratio into dst (len = number of devices)
// without allocating: the inner loop of exhaustive benchmarks and search.
func (f *Fleet) Ratios(n *latency.Net, dst []float64) error {
	for i, d := range f.Devices {
		ms, err := d.Model.Latency(n)
		if err != nil {
			return fmt.Errorf("device %s: %w", d.Name, err)
		}
		dst[i] = ms / d.RefMS
	}
	return nil
}

// Weights returns the device weights (after Resolve).
func (f *Fleet) Weights() []float64 { return append([]float64(nil), f.weights...) }

// Device returns a device by name.
func (f *Fleet) Device(name string) (*Device, error) {
	for _, d := range f.Devices {
		if d.Name == name {
			return d, nil
		}
	}
	names := make([]string, len(f.Devices))
	for i, d := range f.Devices {
		names[i] = d.Name
	}
	return nil, fmt.Errorf("fleet %s has no device %q; devices: %v", f.Name, name, names)
}

package standalone

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fleetnas/fleetnas/atomicfile"
	"github.com/fleetnas/fleetnas/fleet"
	"github.com/fleetnas/fleetnas/latency/lut"
	"github.com/fleetnas/fleetnas/onnx"
	"github.com/fleetnas/fleetnas/ort"
	"github.com/fleetnas/fleetnas/profile"
)

// Here is the shipped model measured on this machine, next to the
// latency a device of the fleet predicted for it: the device's per-op
// table was profiled on this kind of machine with ONNX Runtime, so the
// two can be compared.
type Here struct {
	Device string `json:"device"`
	// PredictedMS is the device's prediction (result.json's latency);
	// MeasuredMS the median of the runs here.
	PredictedMS float64 `json:"predicted_ms"`
	MeasuredMS  float64 `json:"measured_ms"`
	// Error is PredictedMS/MeasuredMS - 1.
	Error float64 `json:"error"`
	// Conditions say how it was measured, as the table was profiled.
	Conditions string `json:"conditions"`
	// Slowed is set when the machine was busy throughout the measurement
	// (profile's quiet gate): the measurement is likely too high.
	Slowed bool `json:"slowed,omitempty"`
}

// hereMaxWait bounds MeasureHere's wait for a quiet machine.
const hereMaxWait = 5 * time.Second

// ErrNoLocalDevice is returned by MeasureHere when no device of the fleet
// was profiled on this kind of machine: there is nothing to compare a
// measurement with.
var ErrNoLocalDevice = errors.New("no device of the fleet was profiled on this machine with ONNX Runtime")

// MeasureHere measures the model of a training checkpoint with ONNX
// Runtime (the library ort.FindLibrary finds) for every device of f whose
// per-op table profile made on this kind of machine, with that table's
// threads and clock, and returns each measurement next to the device's
// prediction (predicted, per device in fleet order).
func MeasureHere(checkpoint string, f *fleet.Fleet, predicted []float64) ([]Here, error) {
	if len(predicted) != len(f.Devices) {
		return nil, fmt.Errorf("standalone: %d predictions for %d devices", len(predicted), len(f.Devices))
	}
	type local struct {
		i    int
		cond profile.Conditions
	}
	var locals []local
	for i, d := range f.Devices {
		t, ok := d.Model.(*lut.Table)
		if !ok {
			continue
		}
		if c, ok := profile.ParseSource(t.Source); ok && c.Here() {
			locals = append(locals, local{i, c})
		}
	}
	if len(locals) == 0 {
		return nil, ErrNoLocalDevice
	}
	lib, err := ort.FindLibrary("")
	if err != nil {
		return nil, err
	}
	if err := ort.Init(lib); err != nil {
		return nil, err
	}
	net, w, err := onnx.LoadCheckpoint(checkpoint)
	if err != nil {
		return nil, err
	}
	g, err := net.Lower(0)
	if err != nil {
		return nil, err
	}
	var out []Here
	for _, l := range locals {
		opt := l.cond.Options()
		// One comparison line is not worth profile's 20 s wait for a
		// quiet machine; a busy one is reported (Slowed) instead.
		opt.MaxWait = hereMaxWait
		tm, err := profile.Measure(g, w, opt)
		if err != nil {
			return nil, fmt.Errorf("measuring the model for device %s: %w", f.Devices[l.i].Name, err)
		}
		p := predicted[l.i]
		out = append(out, Here{Device: f.Devices[l.i].Name, PredictedMS: p, MeasuredMS: tm.MedianMs, Error: p/tm.MedianMs - 1,
			Conditions: fmt.Sprintf("%s, %d thread(s), %s clock", l.cond.Runtime, l.cond.Threads, l.cond.Clock), Slowed: tm.Slowed})
	}
	return out, nil
}

// AddHere records measurements in searchDir/File's result.
func (r *Result) AddHere(searchDir string, here []Here) error {
	r.Here = here
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(searchDir, File), append(b, '\n'))
}

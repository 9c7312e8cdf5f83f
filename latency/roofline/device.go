package roofline

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/fleetnas/fleetnas/latency"
)

// Device is a named roofline model with the error it is known to have, as
// a fleet lists it.
type Device struct {
	Name  string
	Model *Model
	// Accuracy is the held-out error of the calibration (N = 0 for
	// analytic devices that were never compared with measurements).
	Accuracy latency.Accuracy
	// Samples is the number of measurements the model was fitted on.
	Samples int
	// HeldOut are the held-out predictions Accuracy was computed from
	// (nil when unknown), so that a fleet can compute the error of the
	// latency ratio for the reference it gives the device.
	HeldOut []latency.HeldOut
}

// FileFormat is the "format" field of a saved device; it changes only
// when an older file would be read differently.
const FileFormat = "fleetnas.roofline/v1"

// deviceFile is the JSON form of a Device.
type deviceFile struct {
	Format   string            `json:"format"`
	Name     string            `json:"name"`
	Params   Params            `json:"params"`
	Accuracy *latency.Accuracy `json:"accuracy,omitempty"`
	Samples  int               `json:"samples,omitempty"`
}

// WriteJSON saves a device (its parameters and known error) so that a
// calibrated device can be listed in fleet files without refitting. The
// measurements a model is anchored on and the held-out predictions are
// not saved: a device read back predicts every network.
func WriteJSON(w io.Writer, d Device) error {
	if d.Model == nil {
		return fmt.Errorf("device %q has no model", d.Name)
	}
	f := deviceFile{Format: FileFormat, Name: d.Name, Params: d.Model.Params(), Samples: d.Samples}
	if d.Accuracy.N > 0 || d.Accuracy.Method != "" {
		a := d.Accuracy
		f.Accuracy = &a
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(f)
}

// ReadJSON loads a device saved by WriteJSON, rejecting unknown fields and
// invalid parameters with the reason.
func ReadJSON(r io.Reader) (Device, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var f deviceFile
	if err := dec.Decode(&f); err != nil {
		return Device{}, fmt.Errorf("roofline device file: %w", err)
	}
	if f.Format != FileFormat {
		return Device{}, fmt.Errorf("roofline device file: format %q, want %q", f.Format, FileFormat)
	}
	if strings.TrimSpace(f.Name) == "" {
		return Device{}, fmt.Errorf("roofline device file: empty name")
	}
	m, err := New(f.Params)
	if err != nil {
		return Device{}, fmt.Errorf("roofline device %q: %w", f.Name, err)
	}
	d := Device{Name: f.Name, Model: m, Samples: f.Samples}
	if f.Accuracy != nil {
		d.Accuracy = *f.Accuracy
	}
	return d, nil
}

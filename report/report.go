// Package report renders a finished search run as one self-contained HTML
// page: settings, the chosen network, its Pareto fronts and plots of the run.
//
// The page needs no network access to be read later or elsewhere (an
// archived run, a CI artifact, a mail attachment): it loads no external CSS,
// JavaScript or fonts, and every plot is an SVG drawn by gonum.org/v1/plot
// and embedded inline. The same Data always gives the same bytes, so pages
// of two runs can be compared with diff and checked into a repository.
package report

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/fleetnas/fleetnas/atomicfile"
)

// Data is everything a report shows. Write does not modify it.
type Data struct {
	// Title heads the page and names the browser tab.
	Title string
	// Settings are key/value rows shown in a table, in the given order, so
	// that a reader can rerun the search (space, fleet, accuracy source,
	// metric, target, beta, reward, algorithm, budget, seed...).
	Settings [][2]string
	// Devices names the fleet's devices; every per-device slice of a Point
	// is indexed in this order. Names must be unique and non-empty.
	Devices []string
	// Metric is what the search optimised: "avg", "max" or "device:NAME"
	// (NAME one of Devices), or "" when unknown (then no target is drawn).
	Metric string
	// Target is the target of Metric: a ratio for "avg" and "max", the
	// device's ratio for "device:NAME" (drawn in ms on that device's panel,
	// through the reference implied by LatencyMS/Ratio). It is drawn as a
	// vertical line on the plot of that metric; 0 or NaN means no target,
	// since every real target is a positive ratio.
	Target float64
	// History is every evaluated network, in evaluation order. It must not
	// be empty.
	History []Point
	// Chosen is the network the run chose.
	Chosen Point
	// ParetoAVG and ParetoMAX are the search's Pareto fronts (maximum
	// accuracy, minimum metric) against AVG and against MAX.
	ParetoAVG, ParetoMAX []Point
	// ParetoDevice holds, per device in the order of Devices, the front of
	// accuracy against that device's latency in ms. Nil means not computed;
	// otherwise it has one entry per device.
	ParetoDevice [][]Point
	// TrueFront is the optional exact Pareto front (from an exhaustive
	// evaluation) against Metric, drawn dashed on that metric's plot so a
	// reader sees how close the search came. It needs a non-empty Metric.
	TrueFront []Point
	// Notes are free-text lines shown under the title.
	Notes []string
	// Summary are key/value rows shown above the settings, in the given
	// order: what a reader wants before the details (deployment target,
	// stand-alone test accuracy, whether the target was met). Keys must be
	// non-empty.
	Summary [][2]string
	// References are well-known networks priced on the same fleet (e.g.
	// MobileNetV2, MobileNetV3-Large/Small, MobileNet-MultiHW-AVG/MAX, or
	// the fleet's own reference network), drawn as labelled points on every
	// accuracy plot and as bars next to the chosen network's. Names must be
	// unique.
	References []Reference
	// HeldOut flags, per device in the order of Devices, the devices that
	// were priced but held out of the search, so a reader can tell how the
	// chosen network generalises to them. Nil means none was held out.
	HeldOut []bool
	// ChosenLabel is the legend label of the chosen network's marker; ""
	// means "chosen". Set it only when the chosen network's accuracy is on
	// another basis than the history's (a supernet scores the chosen
	// network on its whole validation split, the history on one batch
	// each) and say so in it: a non-empty label also draws the marker as a
	// hollow star, so that a chosen network below the front is not read as
	// a bad pick. It must be one line.
	ChosenLabel string
}

// Reference is one reference network, priced like the evaluated ones.
type Reference struct {
	// Name labels the network on the plots, e.g. "MobileNetV2". It must be
	// non-empty and one line.
	Name string
	// Accuracy is in the search's accuracy units, or NaN when not known on
	// the search's data set (a zoo model scored on another one): the
	// reference is then drawn as a labelled vertical line at its cost
	// instead of a point.
	Accuracy float64
	// Avg and Max are the fleet metrics (latency ratios).
	Avg, Max float64
	// LatencyMS is the latency on each device, in the order of
	// Data.Devices.
	LatencyMS []float64
	// Ratio is the latency ratio on each device, in the order of
	// Data.Devices.
	Ratio []float64
}

// Point is one evaluated network.
type Point struct {
	// Step is the search step that evaluated the network. A negative step
	// (-1) marks a network that was not evaluated during the search, such as
	// a chosen network scored only afterwards; the page shows no step then.
	Step int
	// Key is the canonical choice string that identifies the network.
	Key string
	// Accuracy is in % or in 0..1, as the accuracy source gives it; the
	// report does not rescale it.
	Accuracy float64
	// Avg and Max are the fleet metrics (latency ratios).
	Avg, Max float64
	// LatencyMS is the latency on each device, in the order of Data.Devices.
	LatencyMS []float64
	// Ratio is the latency ratio on each device, in the order of
	// Data.Devices.
	Ratio []float64
	// Reward is the search's reward for the network.
	Reward float64
	// Entropy is the controller's entropy at this step; NaN or 0 where the
	// algorithm has no controller.
	Entropy float64
}

// InvalidError reports why a Data cannot be rendered. Write and WriteFile
// return it before writing anything, so a caller never gets half a page.
type InvalidError struct {
	// Field locates the problem, e.g. "History[3].LatencyMS".
	Field string
	// Reason says what is wrong with it.
	Reason string
}

// Error says which field is wrong and why, so the caller can fix the run
// that produced the Data.
func (e *InvalidError) Error() string {
	return "report: invalid data: " + e.Field + ": " + e.Reason
}

// Write validates d and writes its page to w. Nothing is written when d is
// invalid or a plot cannot be drawn: the page is rendered in memory first.
func Write(w io.Writer, d *Data) error {
	page, err := render(d)
	if err != nil {
		return err
	}
	_, err = w.Write(page)
	return err
}

// WriteFile writes d's page to path atomically: a temporary file in the same
// directory is written, synced and renamed over path, so a reader (or a
// crash) never sees a truncated page and an existing page survives a failed
// run.
func WriteFile(path string, d *Data) error {
	page, err := render(d)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, page)
}

// render validates d and returns the whole page.
func render(d *Data) ([]byte, error) {
	if d == nil {
		return nil, &InvalidError{Field: "Data", Reason: "nil"}
	}
	if err := validate(d); err != nil {
		return nil, err
	}
	v, err := buildView(d)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := executePage(&buf, v); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return buf.Bytes(), nil
}

// validate checks d before anything is drawn: gonum/plot rejects NaN and
// infinite values with errors that do not say which network was bad, and
// short per-device slices would panic while plotting.
func validate(d *Data) error {
	nd := len(d.Devices)
	if nd == 0 {
		return &InvalidError{"Devices", "empty"}
	}
	seen := make(map[string]int, nd)
	for i, name := range d.Devices {
		if name == "" {
			return &InvalidError{fmt.Sprintf("Devices[%d]", i), "empty name"}
		}
		if j, dup := seen[name]; dup {
			return &InvalidError{fmt.Sprintf("Devices[%d]", i), fmt.Sprintf("%q repeats Devices[%d]", name, j)}
		}
		seen[name] = i
	}
	if _, err := metricDevice(d.Metric, d.Devices); err != nil {
		return &InvalidError{"Metric", err.Error()}
	}
	if math.IsInf(d.Target, 0) || d.Target < 0 {
		return &InvalidError{"Target", fmt.Sprintf("%g is not a positive ratio (0 or NaN for none)", d.Target)}
	}
	if len(d.History) == 0 {
		return &InvalidError{"History", "empty: nothing was evaluated"}
	}
	for i := range d.History {
		if err := checkPoint(fmt.Sprintf("History[%d]", i), &d.History[i], nd); err != nil {
			return err
		}
	}
	if err := checkPoint("Chosen", &d.Chosen, nd); err != nil {
		return err
	}
	if err := checkPoints("ParetoAVG", d.ParetoAVG, nd); err != nil {
		return err
	}
	if err := checkPoints("ParetoMAX", d.ParetoMAX, nd); err != nil {
		return err
	}
	if d.ParetoDevice != nil && len(d.ParetoDevice) != nd {
		return &InvalidError{"ParetoDevice", fmt.Sprintf("%d fronts for %d devices", len(d.ParetoDevice), nd)}
	}
	for k, front := range d.ParetoDevice {
		if err := checkPoints(fmt.Sprintf("ParetoDevice[%d]", k), front, nd); err != nil {
			return err
		}
	}
	if len(d.TrueFront) > 0 && d.Metric == "" {
		return &InvalidError{"TrueFront", "given without a Metric, so its axis is unknown"}
	}
	if err := checkPoints("TrueFront", d.TrueFront, nd); err != nil {
		return err
	}
	for i, kv := range d.Summary {
		if kv[0] == "" {
			return &InvalidError{fmt.Sprintf("Summary[%d]", i), "empty key"}
		}
	}
	if err := checkReferences(d.References, nd); err != nil {
		return err
	}
	if err := checkHeldOut(d); err != nil {
		return err
	}
	if err := checkLabel(d.ChosenLabel); err != nil {
		return &InvalidError{"ChosenLabel", err.Error()}
	}
	return nil
}

// checkReferences requires what checkPoint requires of a network, except
// that an unknown accuracy (NaN) is allowed, and unique one-line names so
// that every label on a plot says which reference it is.
func checkReferences(refs []Reference, nd int) error {
	seen := make(map[string]int, len(refs))
	for i := range refs {
		r := &refs[i]
		field := fmt.Sprintf("References[%d]", i)
		if r.Name == "" {
			return &InvalidError{field + ".Name", "empty name"}
		}
		if err := checkLabel(r.Name); err != nil {
			return &InvalidError{field + ".Name", err.Error()}
		}
		if j, dup := seen[r.Name]; dup {
			return &InvalidError{field + ".Name", fmt.Sprintf("%q repeats References[%d]", r.Name, j)}
		}
		seen[r.Name] = i
		if math.IsInf(r.Accuracy, 0) {
			return &InvalidError{field + ".Accuracy", "infinite (NaN stands for unknown)"}
		}
		for _, v := range []struct {
			name string
			x    float64
		}{{"Avg", r.Avg}, {"Max", r.Max}} {
			if !finite(v.x) {
				return &InvalidError{field + "." + v.name, fmt.Sprintf("%g is not a finite number", v.x)}
			}
		}
		if err := checkDeviceValues(field, r.LatencyMS, r.Ratio, nd); err != nil {
			return err
		}
	}
	return nil
}

// checkHeldOut requires one flag per device, and a search left with at
// least one device, which must be the device of a "device:NAME" metric:
// a held-out device is by definition not the one the search optimised.
func checkHeldOut(d *Data) error {
	if d.HeldOut == nil {
		return nil
	}
	if len(d.HeldOut) != len(d.Devices) {
		return &InvalidError{"HeldOut", fmt.Sprintf("%d flags for %d devices", len(d.HeldOut), len(d.Devices))}
	}
	if !slices.Contains(d.HeldOut, false) {
		return &InvalidError{"HeldOut", "every device is held out, so the search had none"}
	}
	if k, _ := metricDevice(d.Metric, d.Devices); k >= 0 && d.HeldOut[k] {
		return &InvalidError{fmt.Sprintf("HeldOut[%d]", k), fmt.Sprintf("%s is the device of the metric %q, so the search used it", d.Devices[k], d.Metric)}
	}
	return nil
}

// checkLabel rejects line breaks in a text drawn as one line of a plot: the
// plot library would break it into lines that overrun what is laid out
// below it.
func checkLabel(s string) error {
	if strings.ContainsAny(s, "\r\n") {
		return fmt.Errorf("%q has a line break; a plot label is one line", s)
	}
	return nil
}

func checkPoints(field string, ps []Point, nd int) error {
	for i := range ps {
		if err := checkPoint(fmt.Sprintf("%s[%d]", field, i), &ps[i], nd); err != nil {
			return err
		}
	}
	return nil
}

// checkPoint requires every plotted value to be finite. Entropy may be NaN
// (no controller) but not infinite.
func checkPoint(field string, p *Point, nd int) error {
	for _, v := range []struct {
		name string
		x    float64
	}{{"Accuracy", p.Accuracy}, {"Avg", p.Avg}, {"Max", p.Max}, {"Reward", p.Reward}} {
		if !finite(v.x) {
			return &InvalidError{field + "." + v.name, fmt.Sprintf("%g is not a finite number", v.x)}
		}
	}
	if math.IsInf(p.Entropy, 0) {
		return &InvalidError{field + ".Entropy", "infinite"}
	}
	return checkDeviceValues(field, p.LatencyMS, p.Ratio, nd)
}

// checkDeviceValues requires one finite latency and ratio per device.
func checkDeviceValues(field string, latencyMS, ratio []float64, nd int) error {
	if len(latencyMS) != nd {
		return &InvalidError{field + ".LatencyMS", fmt.Sprintf("%d values for %d devices", len(latencyMS), nd)}
	}
	if len(ratio) != nd {
		return &InvalidError{field + ".Ratio", fmt.Sprintf("%d values for %d devices", len(ratio), nd)}
	}
	for k := range nd {
		if !finite(latencyMS[k]) {
			return &InvalidError{fmt.Sprintf("%s.LatencyMS[%d]", field, k), fmt.Sprintf("%g is not a finite number", latencyMS[k])}
		}
		if !finite(ratio[k]) {
			return &InvalidError{fmt.Sprintf("%s.Ratio[%d]", field, k), fmt.Sprintf("%g is not a finite number", ratio[k])}
		}
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// metricDevice returns the index of the device a "device:NAME" metric names,
// or -1 for "avg", "max" and "".
func metricDevice(metric string, devices []string) (int, error) {
	switch metric {
	case "", "avg", "max":
		return -1, nil
	}
	name, ok := strings.CutPrefix(metric, "device:")
	if !ok {
		return -1, fmt.Errorf("%q is not avg, max or device:NAME", metric)
	}
	for i, dev := range devices {
		if dev == name {
			return i, nil
		}
	}
	return -1, fmt.Errorf("%q names no device of the fleet", metric)
}

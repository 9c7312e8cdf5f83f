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
}

// Point is one evaluated network.
type Point struct {
	// Step is the search step that evaluated the network.
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
	return checkPoints("TrueFront", d.TrueFront, nd)
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
	if len(p.LatencyMS) != nd {
		return &InvalidError{field + ".LatencyMS", fmt.Sprintf("%d values for %d devices", len(p.LatencyMS), nd)}
	}
	if len(p.Ratio) != nd {
		return &InvalidError{field + ".Ratio", fmt.Sprintf("%d values for %d devices", len(p.Ratio), nd)}
	}
	for k := range nd {
		if !finite(p.LatencyMS[k]) {
			return &InvalidError{fmt.Sprintf("%s.LatencyMS[%d]", field, k), fmt.Sprintf("%g is not a finite number", p.LatencyMS[k])}
		}
		if !finite(p.Ratio[k]) {
			return &InvalidError{fmt.Sprintf("%s.Ratio[%d]", field, k), fmt.Sprintf("%g is not a finite number", p.Ratio[k])}
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

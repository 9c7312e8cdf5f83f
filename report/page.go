package report

import (
	"cmp"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// view is what the page template reads: every value already formatted, so
// the template holds layout only and number formatting lives in one place.
type view struct {
	Title     string
	Notes     []string
	Summary   [][2]string
	Settings  [][2]string
	Evaluated string
	Chosen    []row
	Devices   []deviceRow
	Compare   *compareTable // nil without references
	Bars      panel
	Sampled   string // why the scatters are thinned; "" when they are not
	Panels    []panel
	Fronts    []frontTable
}

type frontTable struct {
	ID, Title string
	Rows      []frontRow
}

// row is a row of the chosen network's table; Class is the class of its
// value's cell: "num" for numbers, "key" for the key, "" for text.
type row struct{ Name, Value, Class string }

type deviceRow struct {
	Name, LatencyMS, Ratio string
	Optimised              bool // the device of a "device:NAME" metric
	HeldOut                bool
}

type frontRow struct {
	Step, Key, Accuracy, Avg, Max string
	Chosen                        bool
}

// compareTable puts the chosen network's numbers next to the references'.
type compareTable struct {
	Devices []string // column heads, held-out devices marked
	Rows    []compareRow
}

type compareRow struct {
	Name, Accuracy, Avg, Max string
	Ratios                   []string
	Chosen                   bool
	NoAccuracy               bool // the accuracy is unknown on the search's data
}

// Captions of the plots of the reference networks, added to every panel
// that shows them.
const (
	captionRefMarks = " Diamonds are reference networks."
	captionRefLines = " Dash-dot lines, labelled above the plot, are reference networks with no accuracy on the search's data."
)

// buildView draws the plots and formats the tables of a validated d.
func buildView(d *Data) (*view, error) {
	metricDev, _ := metricDevice(d.Metric, d.Devices) // validated
	heldOut := func(k int) bool { return d.HeldOut != nil && d.HeldOut[k] }
	c := &d.Chosen
	// A chosen network scored only after the search has no step; "-1"
	// would read as one.
	step := row{"step", "not evaluated during the search", ""}
	if c.Step >= 0 {
		step = row{"step", strconv.Itoa(c.Step), "num"}
	}
	v := &view{
		Title:     d.Title,
		Notes:     d.Notes,
		Summary:   d.Summary,
		Settings:  d.Settings,
		Evaluated: fmtInt(len(d.History)),
		Chosen: []row{
			{"key", c.Key, "key"},
			step,
			{"accuracy", fmtNum(c.Accuracy), "num"},
			{"AVG", fmtNum(c.Avg), "num"},
			{"MAX", fmtNum(c.Max), "num"},
			{"reward", fmtNum(c.Reward), "num"},
		},
		Fronts: []frontTable{
			{"pareto-avg", "Pareto front vs AVG", frontRows(d.ParetoAVG, c.Key, func(p *Point) float64 { return p.Avg })},
			{"pareto-max", "Pareto front vs MAX", frontRows(d.ParetoMAX, c.Key, func(p *Point) float64 { return p.Max })},
		},
	}
	if d.ChosenLabel != "" {
		v.Chosen = append(v.Chosen, row{"plotted as", d.ChosenLabel, ""})
	}
	if v.Title == "" {
		v.Title = "fleetnas search report"
	}
	for k, name := range d.Devices {
		v.Devices = append(v.Devices, deviceRow{
			Name:      name,
			LatencyMS: fmtNum(c.LatencyMS[k]),
			Ratio:     fmtNum(c.Ratio[k]),
			Optimised: k == metricDev,
			HeldOut:   heldOut(k),
		})
	}
	// The references as Points, named by their Key, so that a panel's
	// cost function applies to them as to the evaluated networks.
	refs := make([]Point, len(d.References))
	var refMarks, refLines bool
	for i := range d.References {
		r := &d.References[i]
		refs[i] = Point{Key: r.Name, Accuracy: r.Accuracy, Avg: r.Avg, Max: r.Max, LatencyMS: r.LatencyMS, Ratio: r.Ratio}
		refMarks = refMarks || !math.IsNaN(r.Accuracy)
		refLines = refLines || math.IsNaN(r.Accuracy)
	}
	refCaption := ""
	if refMarks {
		refCaption += captionRefMarks
	}
	if refLines {
		refCaption += captionRefLines
	}
	if d.ChosenLabel != "" {
		refCaption += " The hollow star is the chosen network, its accuracy on another basis than the others' (see the legend)," +
			" so its height does not compare with the front's."
	}
	if len(refs) > 0 {
		v.Compare = compare(d)
	}
	bars := deviceBars(d)
	barsCaption := "Latency ratio (latency over the fleet reference's) on each device, then the fleet metrics AVG and MAX."
	if d.HeldOut != nil && slices.Contains(d.HeldOut, true) {
		barsCaption += " Shaded devices were held out of the search: priced, not searched on."
	}
	svg, err := bars.svg()
	if err != nil {
		return nil, fmt.Errorf("report: plot-chosen-devices: %w", err)
	}
	v.Bars = panel{ID: "plot-chosen-devices", Caption: barsCaption, SVG: svg}

	idx := sample(len(d.History))
	if len(idx) < len(d.History) {
		v.Sampled = fmt.Sprintf("The scatters show %s of the %s evaluated networks (evenly spaced in evaluation order); "+
			"fronts, the chosen network and the best-reward line use every network.",
			fmtInt(len(idx)), fmtInt(len(d.History)))
	}

	target := func(metric string) float64 {
		if d.Metric == metric && d.Target > 0 {
			return d.Target
		}
		return math.NaN()
	}
	truth := func(metric string) []Point {
		if d.Metric == metric {
			return d.TrueFront
		}
		return nil
	}
	plots := []struct {
		id, caption string
		a           accuracyPlot
	}{
		{"plot-avg", "Accuracy against AVG, the weighted mean of the per-device latency ratios." + refCaption, accuracyPlot{
			title: "Accuracy vs AVG", xlabel: "AVG (mean latency ratio)",
			x:     func(p *Point) float64 { return p.Avg },
			front: d.ParetoAVG, truth: truth("avg"), target: target("avg"),
		}},
		{"plot-max", "Accuracy against MAX, the worst device's latency ratio." + refCaption, accuracyPlot{
			title: "Accuracy vs MAX", xlabel: "MAX (worst-device latency ratio)",
			x:     func(p *Point) float64 { return p.Max },
			front: d.ParetoMAX, truth: truth("max"), target: target("max"),
		}},
	}
	for k, name := range d.Devices {
		a := accuracyPlot{
			title:  name + ": accuracy vs latency",
			xlabel: name + " latency (ms)",
			x:      func(p *Point) float64 { return p.LatencyMS[k] },
			target: math.NaN(),
		}
		if d.ParetoDevice != nil {
			a.front = d.ParetoDevice[k]
		}
		caption := "Accuracy against the latency on " + name + "."
		if heldOut(k) {
			a.title = name + " (held out): accuracy vs latency"
			caption += " This device was held out of the search: priced, not searched on."
		}
		if k == metricDev {
			a.truth = d.TrueFront
			// The target is a ratio; the device's reference turns it into
			// ms, the unit of this panel's axis.
			if ref, ok := reference(d, k); ok && d.Target > 0 {
				a.target = d.Target * ref
				caption += " The search optimised this device; its target " + fmtNum(d.Target) +
					" (ratio) is " + fmtNum(a.target) + " ms."
			}
		}
		plots = append(plots, struct {
			id, caption string
			a           accuracyPlot
		}{fmt.Sprintf("plot-device-%d", k), caption + refCaption, a})
	}
	for _, pl := range plots {
		f, err := pl.a.draw(d, idx, refs)
		if err != nil {
			return nil, fmt.Errorf("report: %s: %w", pl.id, err)
		}
		if err := v.addPanel(pl.id, pl.caption, f); err != nil {
			return nil, err
		}
	}

	f, err := rewardPlot(d, idx)
	if err != nil {
		return nil, fmt.Errorf("report: reward plot: %w", err)
	}
	if err := v.addPanel("plot-reward", "Reward of each evaluated network and the best reward so far.", f); err != nil {
		return nil, err
	}
	if hasEntropy(d.History) {
		f, err := entropyPlot(d, idx)
		if err != nil {
			return nil, fmt.Errorf("report: entropy plot: %w", err)
		}
		if err := v.addPanel("plot-entropy", "Entropy of the controller's sampling distribution; it falls as the controller converges.", f); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// compare tabulates the chosen network and the references, with the
// per-device ratios the bar chart draws, for readers who want the numbers.
func compare(d *Data) *compareTable {
	t := &compareTable{}
	for k, name := range d.Devices {
		if d.HeldOut != nil && d.HeldOut[k] {
			name += " (held out)"
		}
		t.Devices = append(t.Devices, name)
	}
	ratios := func(rs []float64) []string {
		out := make([]string, len(rs))
		for k, r := range rs {
			out[k] = fmtNum(r)
		}
		return out
	}
	c := &d.Chosen
	t.Rows = append(t.Rows, compareRow{
		Name: cmp.Or(d.ChosenLabel, "chosen"), Accuracy: fmtNum(c.Accuracy), Avg: fmtNum(c.Avg), Max: fmtNum(c.Max),
		Ratios: ratios(c.Ratio), Chosen: true,
	})
	for i := range d.References {
		r := &d.References[i]
		row := compareRow{Name: r.Name, Accuracy: fmtNum(r.Accuracy), Avg: fmtNum(r.Avg), Max: fmtNum(r.Max), Ratios: ratios(r.Ratio)}
		if math.IsNaN(r.Accuracy) {
			row.Accuracy, row.NoAccuracy = "n/a", true
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// addPanel draws f into the page's next figure.
func (v *view) addPanel(id, caption string, f *figure) error {
	svg, err := f.svg()
	if err != nil {
		return fmt.Errorf("report: %s: %w", id, err)
	}
	v.Panels = append(v.Panels, panel{ID: id, Caption: caption, SVG: svg})
	return nil
}

// reference is device k's latency reference in ms (latency = ratio x
// reference), read off the chosen network or, if its ratio is 0, the first
// evaluated network with a usable ratio.
func reference(d *Data, k int) (float64, bool) {
	usable := func(p *Point) bool { return p.Ratio[k] > 0 && p.LatencyMS[k] > 0 }
	if usable(&d.Chosen) {
		return d.Chosen.LatencyMS[k] / d.Chosen.Ratio[k], true
	}
	for i := range d.History {
		if p := &d.History[i]; usable(p) {
			return p.LatencyMS[k] / p.Ratio[k], true
		}
	}
	return 0, false
}

// frontRows lists a front cheapest first (the order of its step line), so
// the table reads as a price list of accuracy.
func frontRows(front []Point, chosen string, x func(*Point) float64) []frontRow {
	ps := slices.Clone(front)
	slices.SortStableFunc(ps, func(a, b Point) int {
		return cmp.Or(cmp.Compare(x(&a), x(&b)), cmp.Compare(a.Accuracy, b.Accuracy))
	})
	rows := make([]frontRow, len(ps))
	for i := range ps {
		p := &ps[i]
		rows[i] = frontRow{
			Step: fmtStep(p.Step), Key: p.Key, Accuracy: fmtNum(p.Accuracy),
			Avg: fmtNum(p.Avg), Max: fmtNum(p.Max), Chosen: p.Key == chosen,
		}
	}
	return rows
}

// fmtStep prints a front member's step, or a dash for a network that was
// not evaluated during the search (a negative step): "-1" would read as a
// step.
func fmtStep(step int) string {
	if step < 0 {
		return "—"
	}
	return strconv.Itoa(step)
}

// fmtNum prints five significant digits: enough to tell front members
// apart, short enough for a table. Large values (ms of a slow device) are
// printed whole rather than in exponent form.
func fmtNum(x float64) string {
	if math.Abs(x) >= 1e5 {
		return strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strconv.FormatFloat(x, 'g', 5, 64)
}

// fmtInt prints n with thousands separators (12,345), as counts are read.
func fmtInt(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// executePage writes v through the page template. The template is parsed on
// every call instead of kept in a package variable: parsing takes
// microseconds next to drawing the plots, and the package keeps no state.
func executePage(w io.Writer, v *view) error {
	t, err := template.New("page").Funcs(template.FuncMap{
		"inc": func(i int) int { return i + 1 },
	}).Parse(pageTemplate)
	if err != nil {
		return err
	}
	return t.Execute(w, v)
}

// pageTemplate is the page. html/template escapes every value from Data
// according to its context; only the plots' SVG is trusted markup. Void
// elements are self-closed so the page is also well-formed XML, which lets
// tests check its structure with encoding/xml. The CSS avoids '<' and '&'
// for the same reason.
const pageTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<meta name="generator" content="fleetnas report"/>
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #222; margin: 1.5rem auto; max-width: 1320px; padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.6rem; margin-bottom: 0.3rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
p.note { margin: 0.2rem 0; color: #444; }
p.sampled { background: #fff6e0; border-left: 4px solid #ff7f0e; padding: 0.4rem 0.6rem; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.key { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; word-break: break-all; max-width: 60ch; }
tr.chosen td { background: #fde8e8; }
tr.heldout td { color: #666; background: #f2f2f2; }
td.na { color: #888; text-align: center; }
table.summary { font-size: 1rem; }
table.summary th { background: #eef4fa; }
figure.wide { margin-top: 1rem; }
.side { display: flex; flex-wrap: wrap; gap: 2rem; align-items: flex-start; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 1rem; }
figure { margin: 0; border: 1px solid #eee; padding: 0.5rem; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { font-size: 0.85rem; color: #555; margin-top: 0.3rem; }
</style>
</head>
<body>
<header>
<h1>{{.Title}}</h1>
{{- range .Notes}}
<p class="note">{{.}}</p>
{{- end}}
</header>
<main>
{{- if .Summary}}
<section id="summary">
<h2>Summary</h2>
<table class="summary">
<tbody>
{{- range .Summary}}
<tr><th scope="row">{{index . 0}}</th><td>{{index . 1}}</td></tr>
{{- end}}
</tbody>
</table>
</section>
{{- end}}
{{- if .Settings}}
<section id="settings">
<h2>Settings</h2>
<table>
<tbody>
{{- range .Settings}}
<tr><th scope="row">{{index . 0}}</th><td>{{index . 1}}</td></tr>
{{- end}}
</tbody>
</table>
</section>
{{- end}}
<section id="chosen">
<h2>Chosen network</h2>
<div class="side">
<table>
<tbody>
{{- range .Chosen}}
<tr><th scope="row">{{.Name}}</th><td{{if .Class}} class="{{.Class}}"{{end}}>{{.Value}}</td></tr>
{{- end}}
<tr><th scope="row">evaluated networks</th><td class="num">{{.Evaluated}}</td></tr>
</tbody>
</table>
<table>
<thead><tr><th>device</th><th>latency (ms)</th><th>ratio</th></tr></thead>
<tbody>
{{- range .Devices}}
<tr{{if .Optimised}} class="chosen" title="the device the search optimised"{{else if .HeldOut}} class="heldout" title="priced, not searched on"{{end}}><td>{{.Name}}{{if .HeldOut}} (held out){{end}}</td><td class="num">{{.LatencyMS}}</td><td class="num">{{.Ratio}}</td></tr>
{{- end}}
</tbody>
</table>
</div>
{{- with .Compare}}
<table id="references">
<thead><tr><th>network</th><th>accuracy</th><th>AVG</th><th>MAX</th>{{range .Devices}}<th>{{.}} ratio</th>{{end}}</tr></thead>
<tbody>
{{- range .Rows}}
<tr{{if .Chosen}} class="chosen"{{end}}><th scope="row">{{.Name}}</th>{{if .NoAccuracy}}<td class="na" title="not known on the search's data set">{{.Accuracy}}</td>{{else}}<td class="num">{{.Accuracy}}</td>{{end}}<td class="num">{{.Avg}}</td><td class="num">{{.Max}}</td>{{range .Ratios}}<td class="num">{{.}}</td>{{end}}</tr>
{{- end}}
</tbody>
</table>
{{- end}}
{{- with .Bars}}
<figure class="wide" id="{{.ID}}">
{{.SVG}}
<figcaption>{{.Caption}}</figcaption>
</figure>
{{- end}}
</section>
<section id="plots">
<h2>Plots</h2>
{{- if .Sampled}}
<p class="note sampled">{{.Sampled}}</p>
{{- end}}
<div class="grid">
{{- range .Panels}}
<figure id="{{.ID}}">
{{.SVG}}
<figcaption>{{.Caption}}</figcaption>
</figure>
{{- end}}
</div>
</section>
{{- range .Fronts}}
<section id="{{.ID}}">
<h2>{{.Title}}</h2>
{{- if .Rows}}
<table>
<thead><tr><th>#</th><th>step</th><th>key</th><th>accuracy</th><th>AVG</th><th>MAX</th></tr></thead>
<tbody>
{{- range $i, $r := .Rows}}
<tr{{if $r.Chosen}} class="chosen" title="the chosen network"{{end}}><td class="num">{{inc $i}}</td><td class="num">{{$r.Step}}</td><td class="key">{{$r.Key}}</td><td class="num">{{$r.Accuracy}}</td><td class="num">{{$r.Avg}}</td><td class="num">{{$r.Max}}</td></tr>
{{- end}}
</tbody>
</table>
{{- else}}
<p class="note">Not computed.</p>
{{- end}}
</section>
{{- end}}
</main>
</body>
</html>
`

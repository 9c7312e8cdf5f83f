package report

import (
	"cmp"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// maxScatter bounds how many evaluated networks a panel draws. Beyond it the
// history is thinned (fronts and the chosen network are always drawn in
// full), which keeps a 100k-evaluation page to a few MB and quick to open.
const maxScatter = 5000

// Panel size: two panels side by side fill a laptop screen at 100% zoom.
const (
	panelW = 6 * vg.Inch
	panelH = 4 * vg.Inch
)

// Colours are chosen to stay distinct for the common colour-vision
// deficiencies (blue/orange/red-with-black-outline) and to keep the cloud of
// evaluated networks in the background.
// They are constants (0xRRGGBB, see rgb) so that no package state can change.
const (
	colCloud  = 0xB8B8B8
	colFront  = 0x1F77B4
	colTruth  = 0x222222
	colChosen = 0xD62728
	colTarget = 0xFF7F0E
	colBest   = 0x2CA02C
	colGrid   = 0xE6E6E6
)

// rgb turns a 0xRRGGBB constant into an opaque colour.
func rgb(c uint32) color.Color {
	return color.NRGBA{R: uint8(c >> 16), G: uint8(c >> 8), B: uint8(c), A: 0xFF}
}

// sans returns the face of every text of a plot. gonum/plot defaults to a
// serif face; the SVG names the family, and Liberation Sans has the metrics
// of Arial and Helvetica, so the fallbacks added by inlineSVG lay out alike.
func sans(size vg.Length) font.Font {
	return font.From(font.Font{Typeface: "Liberation", Variant: "Sans"}, size)
}

// panel is one plot of the page.
type panel struct {
	ID      string
	Caption string
	SVG     template.HTML
}

// sample returns the indices of the history a scatter draws: all of them up
// to maxScatter, else maxScatter indices evenly spread in evaluation order.
// Even spacing (rather than a random draw) keeps the output identical from
// run to run without a seed and shows every phase of the search.
func sample(n int) []int {
	k := min(n, maxScatter)
	idx := make([]int, k)
	for i := range idx {
		idx[i] = int(int64(i) * int64(n) / int64(k))
	}
	return idx
}

// accuracyPlot describes one accuracy-versus-cost panel.
type accuracyPlot struct {
	title, xlabel string
	x             func(*Point) float64 // the cost axis of a network
	front, truth  []Point
	target        float64 // NaN for none
}

func (a *accuracyPlot) draw(d *Data, idx []int, refs []Point) (*figure, error) {
	p := newPlot(a.title, a.xlabel, "accuracy")
	f := newFigure(p)

	cl := cloud{xys: make(plotter.XYs, len(idx)), half: 1.1, color: rgb(colCloud)}
	for i, j := range idx {
		h := &d.History[j]
		cl.xys[i] = plotter.XY{X: a.x(h), Y: h.Accuracy}
	}
	p.Add(cl)
	f.add(cloudLabel("evaluated", len(idx), len(d.History)), cl)

	marks := &refMarks{cloud: cl.xys, chosen: plotter.XY{X: a.x(&d.Chosen), Y: d.Chosen.Accuracy}}
	if len(a.truth) > 0 {
		l, s, err := frontPlotters(a.truth, a.x, rgb(colTruth))
		if err != nil {
			return nil, err
		}
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		s.Shape = draw.RingGlyph{}
		p.Add(l, s)
		f.add("exact front", l, s)
		marks.lines = append(marks.lines, l.XYs)
	}
	if len(a.front) > 0 {
		l, s, err := frontPlotters(a.front, a.x, rgb(colFront))
		if err != nil {
			return nil, err
		}
		p.Add(l, s)
		f.add("search front", l, s)
		marks.lines = append(marks.lines, l.XYs)
	}
	if !math.IsNaN(a.target) {
		l := vline{x: a.target, LineStyle: draw.LineStyle{
			Color: rgb(colTarget), Width: vg.Points(1.5), Dashes: []vg.Length{vg.Points(1.5), vg.Points(2)},
		}}
		p.Add(l)
		f.add("target "+fmtNum(a.target), l)
	}

	// References without a comparable accuracy are lines at their cost,
	// labelled above the data area; the others are labelled points.
	var lineThumb, markThumb plot.Thumbnailer
	for i := range refs {
		r := &refs[i]
		if math.IsNaN(r.Accuracy) {
			l := vline{x: a.x(r), LineStyle: draw.LineStyle{Color: refColor(i), Width: vg.Points(1.2), Dashes: refDash()}}
			p.Add(l)
			f.tags = append(f.tags, tag{x: l.x, text: r.Key, color: l.Color, dash: l.Dashes})
			lineThumb = vline{LineStyle: draw.LineStyle{Color: rgb(colNeutral), Width: vg.Points(1.2), Dashes: refDash()}}
			continue
		}
		marks.marks = append(marks.marks, refMark{x: a.x(r), y: r.Accuracy, name: r.Key, color: refColor(i)})
		markThumb = glyphThumb{draw.GlyphStyle{Color: rgb(colNeutral), Radius: refRadius, Shape: diamondGlyph{}}}
	}
	if len(marks.marks) > 0 {
		p.Add(marks)
	}

	chosen, err := chosenPlotters(a.x(&d.Chosen), d.Chosen.Accuracy, d.ChosenLabel != "")
	if err != nil {
		return nil, err
	}
	p.Add(chosen...)
	f.add(cmp.Or(d.ChosenLabel, "chosen"), thumbs(chosen)...)
	if markThumb != nil {
		f.add("reference network (labelled)", markThumb)
	}
	if lineThumb != nil {
		f.add("reference, no accuracy on this data (labelled above)", lineThumb)
	}
	return f, nil
}

// thumbs returns the scatters as legend thumbnails.
func thumbs(ss []plot.Plotter) []plot.Thumbnailer {
	ts := make([]plot.Thumbnailer, 0, len(ss))
	for _, s := range ss {
		if t, ok := s.(plot.Thumbnailer); ok {
			ts = append(ts, t)
		}
	}
	return ts
}

// frontPlotters draws a front as a post-step line through its points: at a
// cost between two front members, the best reachable accuracy is that of
// the cheaper one, so the line goes right, then up.
func frontPlotters(front []Point, x func(*Point) float64, c color.Color) (*plotter.Line, *plotter.Scatter, error) {
	xys := make(plotter.XYs, len(front))
	for i := range front {
		xys[i] = plotter.XY{X: x(&front[i]), Y: front[i].Accuracy}
	}
	slices.SortStableFunc(xys, func(a, b plotter.XY) int {
		return cmp.Or(cmp.Compare(a.X, b.X), cmp.Compare(a.Y, b.Y))
	})
	l, s, err := plotter.NewLinePoints(xys)
	if err != nil {
		return nil, nil, err
	}
	l.StepStyle = plotter.PostStep
	l.Color = c
	l.Width = vg.Points(1.5)
	s.Color = c
	s.Radius = vg.Points(2)
	s.Shape = draw.CircleGlyph{}
	return l, s, nil
}

// chosenPlotters marks the chosen network: a large red disc with a black
// ring, visible on top of the front and on grey-scale printouts; or, when
// its accuracy is on another basis than the history's, a hollow red star,
// which is not read as one more point of the cloud.
func chosenPlotters(x, y float64, otherBasis bool) ([]plot.Plotter, error) {
	xys := plotter.XYs{{X: x, Y: y}}
	if otherBasis {
		star, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, err
		}
		star.Color = rgb(colChosen)
		star.Radius = vg.Points(7)
		star.Shape = starGlyph{}
		return []plot.Plotter{star}, nil
	}
	dot, err := plotter.NewScatter(xys)
	if err != nil {
		return nil, err
	}
	dot.Color = rgb(colChosen)
	dot.Radius = vg.Points(4.5)
	dot.Shape = draw.CircleGlyph{}
	ring, err := plotter.NewScatter(xys)
	if err != nil {
		return nil, err
	}
	ring.Color = color.Black
	ring.Radius = vg.Points(4.5)
	ring.Shape = draw.RingGlyph{}
	return []plot.Plotter{dot, ring}, nil
}

// rewardPlot draws every sampled reward and the running best over the whole
// history (computed on all points, not the sample, so it is exact).
func rewardPlot(d *Data, idx []int) (*figure, error) {
	p := newPlot("Reward over evaluations", "evaluation", "reward")
	f := newFigure(p)
	cl := cloud{xys: make(plotter.XYs, len(idx)), half: 1.1, color: rgb(colCloud)}
	for i, j := range idx {
		cl.xys[i] = plotter.XY{X: float64(j + 1), Y: d.History[j].Reward}
	}
	// Only the evaluations that raised the best are needed for a step line,
	// plus the last one so the line runs to the end of the search.
	var best plotter.XYs
	b := math.Inf(-1)
	for i := range d.History {
		if r := d.History[i].Reward; r > b {
			b = r
			best = append(best, plotter.XY{X: float64(i + 1), Y: r})
		}
	}
	if n := len(d.History); best[len(best)-1].X != float64(n) {
		best = append(best, plotter.XY{X: float64(n), Y: b})
	}
	l, err := plotter.NewLine(best)
	if err != nil {
		return nil, err
	}
	l.StepStyle = plotter.PostStep
	l.Color = rgb(colBest)
	l.Width = vg.Points(1.5)
	p.Add(cl, l)
	f.add(cloudLabel("reward", len(idx), len(d.History)), cl)
	f.add("best so far", l)
	return f, nil
}

// hasEntropy tells whether the algorithm reported a controller entropy;
// without one (random search, evolution) the panel would be empty.
func hasEntropy(h []Point) bool {
	for i := range h {
		if e := h[i].Entropy; !math.IsNaN(e) && e != 0 {
			return true
		}
	}
	return false
}

// entropyPlot draws the controller's entropy at the sampled evaluations;
// a falling entropy shows the controller converging.
func entropyPlot(d *Data, idx []int) (*figure, error) {
	p := newPlot("Controller entropy over evaluations", "evaluation", "entropy")
	xys := make(plotter.XYs, 0, len(idx))
	for _, j := range idx {
		if e := d.History[j].Entropy; !math.IsNaN(e) {
			xys = append(xys, plotter.XY{X: float64(j + 1), Y: e})
		}
	}
	if len(xys) == 0 {
		// Every sampled entropy was NaN; fall back to all of them.
		for j := range d.History {
			if e := d.History[j].Entropy; !math.IsNaN(e) {
				xys = append(xys, plotter.XY{X: float64(j + 1), Y: e})
			}
		}
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	l.Color = rgb(colFront)
	l.Width = vg.Points(1.2)
	p.Add(l)
	return newFigure(p), nil
}

// cloudLabel names the cloud in a legend and says when it is thinned, so a
// reader of a lone SVG is not misled either.
func cloudLabel(what string, drawn, all int) string {
	if drawn == all {
		return fmt.Sprintf("%s (%s)", what, fmtInt(all))
	}
	return fmt.Sprintf("%s (%s of %s drawn)", what, fmtInt(drawn), fmtInt(all))
}

// newPlot makes a plot with the page's fonts and a light grid. Its legend
// stays empty: figure draws legends outside the data area.
func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = sans(13)
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = sans(11)
		ax.Tick.Label.Font = sans(9)
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color = rgb(colGrid)
	grid.Horizontal.Color = rgb(colGrid)
	p.Add(grid)
	return p
}

// inlineSVG turns a standalone SVG document from vgsvg into an element for
// an HTML page: the XML declaration and generator comment go (they are not
// allowed or useful mid-page), the xlink namespace goes when unused (so the
// only URL left is the SVG namespace, which names a namespace and is never
// fetched), and the font family gains fallbacks with the same metrics so
// text renders without Liberation installed and without embedding it.
//
// The markup is trusted: vgsvg escapes every text it writes (titles, device
// names in labels) with html.EscapeString.
func inlineSVG(s string) (template.HTML, error) {
	i := strings.Index(s, "<svg")
	if i < 0 {
		return "", fmt.Errorf("plot has no <svg> element")
	}
	s = s[i:]
	if !strings.Contains(s, "xlink:href") {
		s = strings.Replace(s, "\n\txmlns:xlink=\"http://www.w3.org/1999/xlink\"", "", 1)
	}
	s = strings.ReplaceAll(s, "font-family:Liberation Sans;", "font-family:Liberation Sans,Arial,Helvetica,sans-serif;")
	return template.HTML(strings.TrimSpace(s)), nil
}

// cloud draws many points as small squares in one filled path. A Scatter
// writes one SVG element per point; for thousands of points that makes the
// page several times larger and slow for a browser to lay out.
type cloud struct {
	xys   plotter.XYs
	half  vg.Length // half the side of a square, in points
	color color.Color
}

// Plot implements plot.Plotter.
func (c cloud) Plot(dc draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&dc)
	var path vg.Path
	s := c.half
	for _, xy := range c.xys {
		x, y := trX(xy.X), trY(xy.Y)
		if !dc.Contains(vg.Point{X: x, Y: y}) {
			continue
		}
		path.Move(vg.Point{X: x - s, Y: y - s})
		path.Line(vg.Point{X: x + s, Y: y - s})
		path.Line(vg.Point{X: x + s, Y: y + s})
		path.Line(vg.Point{X: x - s, Y: y + s})
		path.Close()
	}
	if len(path) == 0 {
		return
	}
	dc.SetColor(c.color)
	dc.Fill(path)
}

// DataRange implements plot.DataRanger so the axes cover the cloud.
func (c cloud) DataRange() (xmin, xmax, ymin, ymax float64) {
	return plotter.XYRange(c.xys)
}

// Thumbnail implements plot.Thumbnailer for the legend, with a square
// larger than the plotted ones so it can be seen.
func (c cloud) Thumbnail(dc *draw.Canvas) {
	ctr := dc.Center()
	s := 2 * c.half
	dc.FillPolygon(c.color, []vg.Point{
		{X: ctr.X - s, Y: ctr.Y - s}, {X: ctr.X + s, Y: ctr.Y - s},
		{X: ctr.X + s, Y: ctr.Y + s}, {X: ctr.X - s, Y: ctr.Y + s},
	})
}

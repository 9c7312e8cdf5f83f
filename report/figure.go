package report

import (
	"bytes"
	"cmp"
	"html/template"
	"image/color"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// figure is a plot and what is drawn around it rather than over its data:
// the legend, below the axes (gonum/plot draws legends inside the data
// area, where they hide points), and the labels of reference lines, in a
// band between the title and the data area.
type figure struct {
	p      *plot.Plot
	width  vg.Length // of the whole SVG; the height follows from the parts
	legend []legendEntry
	tags   []tag
}

// legendEntry is one item of a figure's legend.
type legendEntry struct {
	text   string
	thumbs []plot.Thumbnailer
}

// tag labels a vertical line of the data area (a reference network without
// a comparable accuracy) from the band above it, joined to it by a leader.
type tag struct {
	x     float64 // in data coordinates
	text  string
	color color.Color
	dash  []vg.Length
}

// Layout of the parts around a plot, in points.
const (
	legendGap    = 4  // between the x axis label and the legend
	thumbWidth   = 18 // legend thumbnails
	thumbText    = 4  // between a thumbnail and its text
	legendColGap = 14 // between legend columns
	tagRow       = 11 // height of a row of tags
	tagPad       = 6  // between neighbouring tags in a row
)

// newFigure makes a panel-sized figure of p.
func newFigure(p *plot.Plot) *figure {
	return &figure{p: p, width: panelW}
}

// add adds an entry to the legend.
func (f *figure) add(text string, thumbs ...plot.Thumbnailer) {
	f.legend = append(f.legend, legendEntry{text: text, thumbs: thumbs})
}

// textStyle is the style of every text drawn outside gonum/plot's own
// layout (legends, tags, value and reference labels).
func textStyle(size vg.Length) text.Style {
	return text.Style{Color: color.Black, Font: sans(size), Handler: plot.DefaultTextHandler}
}

// svg draws f and returns SVG markup ready to sit inside the page. The
// canvas grows by the legend's and the tags' heights rather than shrinking
// the data area, so every panel's data area keeps its size.
func (f *figure) svg() (template.HTML, error) {
	sty := textStyle(9)
	// A margin keeps the title and the last tick label off the edge.
	const left, right, bottom, top = 4, 10, 2, 6
	grid := f.legendLayout(sty, f.width-left-right)
	var legendH vg.Length
	if len(f.legend) > 0 {
		legendH = legendGap + vg.Length(grid.rows)*grid.rowH
	}

	// The tags' rows depend only on x positions, which do not depend on
	// the canvas height, so they are laid out on a provisional canvas.
	c0 := draw.New(vgsvg.New(f.width, panelH))
	rows, bandH := f.tagLayout(draw.Crop(c0, left, -right, bottom, -top))

	height := panelH + bandH + legendH
	c := vgsvg.New(f.width, height)
	full := draw.Crop(draw.New(c), left, -right, bottom, -top)
	plotC := full
	plotC.Min.Y += legendH
	// The title's padding makes the band; it is restored so that drawing
	// f again gives the same SVG.
	defer func(pad vg.Length) { f.p.Title.Padding = pad }(f.p.Title.Padding)
	f.p.Title.Padding += bandH
	f.p.Draw(plotC)
	if len(f.tags) > 0 {
		f.drawTags(plotC, rows)
	}
	if len(f.legend) > 0 {
		legendC := full
		legendC.Max.Y = full.Min.Y + legendH - legendGap
		dataC := f.p.DataCanvas(plotC)
		f.drawLegend(legendC, dataC, sty, grid)
	}
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", err
	}
	return inlineSVG(b.String())
}

// legendLayout places the entries in rows, in the order they were added,
// left to right. It prefers aligned columns, each as wide as its widest
// entry: the most columns that fit in width, then as few as keep that
// number of rows, so that the last row is not left almost empty. When one
// long entry would leave a column per row, the rows are filled instead
// with as many entries as fit, each at its own width, which takes fewer
// rows.
func (f *figure) legendLayout(sty text.Style, width vg.Length) legendGrid {
	n := len(f.legend)
	g := legendGrid{rowH: vg.Length(sty.FontExtents().Height) * 1.3}
	if n == 0 {
		return g
	}
	ws := make([]vg.Length, n)
	for i, e := range f.legend {
		ws[i] = thumbWidth + thumbText + sty.Width(e.text) + legendColGap
	}
	columns := func(cols int) []vg.Length {
		w := make([]vg.Length, cols)
		for i, x := range ws {
			w[i%cols] = max(w[i%cols], x)
		}
		return w
	}
	cols := 1
	for c := n; c > 1; c-- {
		if sum(columns(c)) <= width {
			cols = c
			break
		}
	}
	rows := (n + cols - 1) / cols
	for cols > 1 && (n+cols-2)/(cols-1) == rows && sum(columns(cols-1)) <= width {
		cols--
	}
	colW := columns(cols)
	// The columns' layout: entry i at row i/cols, at the sum of the
	// widths of the columns before its own.
	for i := range n {
		x := sum(colW[:i%cols])
		g.at = append(g.at, legendSlot{row: i / cols, x: x})
	}
	g.rows = rows
	g.width = sum(colW)
	// Filling rows greedily.
	var flow []legendSlot
	row, x, widest := 0, vg.Length(0), vg.Length(0)
	for i := range n {
		if x > 0 && x+ws[i] > width {
			row, x = row+1, 0
		}
		flow = append(flow, legendSlot{row: row, x: x})
		x += ws[i]
		widest = max(widest, x)
	}
	if row+1 < rows {
		g.at, g.rows, g.width = flow, row+1, widest
	}
	g.width -= legendColGap
	return g
}

// legendGrid is where the entries of a legend go.
type legendGrid struct {
	at    []legendSlot // per entry
	rows  int
	width vg.Length // of the widest row
	rowH  vg.Length
}

// legendSlot is an entry's row and its x from the legend's left edge.
type legendSlot struct {
	row int
	x   vg.Length
}

func sum(ws []vg.Length) (s vg.Length) {
	for _, w := range ws {
		s += w
	}
	return s
}

// drawLegend draws the legend in c, centred under the data area when it
// fits there.
func (f *figure) drawLegend(c, dataC draw.Canvas, sty text.Style, g legendGrid) {
	x0 := dataC.Min.X + (dataC.Size().X-g.width)/2
	x0 = max(c.Min.X, min(x0, c.Max.X-g.width))
	sty.YAlign = text.YCenter
	for i, e := range f.legend {
		x := x0 + g.at[i].x
		yc := c.Max.Y - (vg.Length(g.at[i].row)+0.5)*g.rowH
		icon := &draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: x, Y: yc - g.rowH/2 + 1},
			Max: vg.Point{X: x + thumbWidth, Y: yc + g.rowH/2 - 1},
		}}
		for _, t := range e.thumbs {
			t.Thumbnail(icon)
		}
		c.FillText(sty, vg.Point{X: x + thumbWidth + thumbText, Y: yc}, e.text)
	}
}

// placedTag is a tag with its row (0 nearest the data area) and the left
// edge of its text.
type placedTag struct {
	tag
	at   vg.Length // the line's x on the canvas
	left vg.Length
	row  int
}

// tagLayout places the tags in rows above the data area of p drawn in c.
// A tag's text starts at its line and its leader runs down from the text to
// the line. Tags are placed right to left, each in the lowest row where it
// overlaps no placed tag; since placed tags start to the right of the new
// one's line, no leader then crosses a tag below it. A tag that would run
// past the right edge is moved left to end there.
func (f *figure) tagLayout(c draw.Canvas) ([]placedTag, vg.Length) {
	if len(f.tags) == 0 {
		return nil, 0
	}
	dataC := f.p.DataCanvas(c)
	trX, _ := f.p.Transforms(&dataC)
	sty := textStyle(8)
	ts := make([]placedTag, len(f.tags))
	for i, t := range f.tags {
		ts[i] = placedTag{tag: t, at: trX(t.x)}
	}
	slices.SortStableFunc(ts, func(a, b placedTag) int { return cmp.Compare(b.at, a.at) })
	var placed []placedTag
	rows := 0
	for _, t := range ts {
		w := sty.Width(t.text)
		t.left = min(t.at+1, c.Max.X-w)
		for t.row = 0; ; t.row++ {
			free := true
			for _, q := range placed {
				if q.row == t.row && t.left < q.left+sty.Width(q.text)+tagPad && q.left < t.left+w+tagPad {
					free = false
					break
				}
			}
			if free {
				break
			}
		}
		rows = max(rows, t.row+1)
		placed = append(placed, t)
	}
	return placed, vg.Length(rows)*tagRow + 3
}

// drawTags draws the tags in the band that the title's padding left above
// the data area of the plot drawn in c.
func (f *figure) drawTags(c draw.Canvas, tags []placedTag) {
	dataC := f.p.DataCanvas(c)
	sty := textStyle(8)
	for _, t := range tags {
		base := dataC.Max.Y + 3 + vg.Length(t.row)*tagRow
		ls := draw.LineStyle{Color: t.color, Width: vg.Points(1), Dashes: t.dash}
		c.StrokeLine2(ls, t.at, dataC.Max.Y, t.at, base+2)
		c.FillText(sty, vg.Point{X: t.left, Y: base + 1}, t.text)
	}
}

package report

import (
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// wideW is the width of the bar chart, which spans the page: twice a
// panel's, so that its text is drawn at the panels' scale.
const wideW = 2 * panelW

// Colour of the groups of held-out devices.
const colHeldOut = 0xEDEDED

// deviceBars draws the latency ratio of the chosen network and of each
// reference on every device, as groups of bars, followed by groups for AVG
// and MAX, with the target where it applies. Held-out devices are shaded
// and say so under their name.
func deviceBars(d *Data) *figure {
	nd, nr := len(d.Devices), len(d.References)
	title := "Latency ratio of the chosen network on each device"
	if nr > 0 {
		title = "Latency ratio of the chosen network and the references on each device"
	}
	p := newPlot(title, "", "latency ratio (fleet reference = 1)")
	f := newFigure(p)
	f.width = wideW

	// Devices at 0..nd-1, then AVG and MAX after a gap that sets them
	// apart as summaries of the devices.
	pos := make([]float64, nd+2)
	var ticks []plot.Tick
	for k, name := range d.Devices {
		pos[k] = float64(k)
		if d.HeldOut != nil && d.HeldOut[k] {
			name += "\n(held out)"
		}
		ticks = append(ticks, plot.Tick{Value: pos[k], Label: name})
	}
	pos[nd], pos[nd+1] = float64(nd)+0.5, float64(nd)+1.5
	ticks = append(ticks, plot.Tick{Value: pos[nd], Label: "AVG"}, plot.Tick{Value: pos[nd+1], Label: "MAX"})
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Tick.Length = 0
	p.X.Tick.Label.Font = sans(10)

	series := func(ratio []float64, avg, maxi float64) []float64 {
		return append(append(make([]float64, 0, nd+2), ratio...), avg, maxi)
	}
	b := &groupedBars{pos: pos, group: 0.8, labelled: 0}
	// The values go above the bars, upright where a bar is wide enough,
	// else turned to run up from it. The bar's width is estimated from the
	// figure's, since the plot lays its axes out only when drawing.
	units := pos[len(pos)-1] - pos[0] + 1
	barW := (wideW - 80) / vg.Length(units) * vg.Length(b.group) / vg.Length(1+nr)
	b.turned = textStyle(barFont).Width("0.00")+2 > barW
	b.values = append(b.values, series(d.Chosen.Ratio, d.Chosen.Avg, d.Chosen.Max))
	b.colors = append(b.colors, rgb(colChosen))
	for i := range d.References {
		r := &d.References[i]
		b.values = append(b.values, series(r.Ratio, r.Avg, r.Max))
		b.colors = append(b.colors, refColor(i))
	}

	if d.HeldOut != nil {
		var held []float64
		for k, h := range d.HeldOut {
			if h {
				held = append(held, pos[k])
			}
		}
		if len(held) > 0 {
			s := bands{at: held, color: rgb(colHeldOut)}
			p.Add(s)
			f.add("held out of the search", s)
		}
	}
	p.Add(b)
	f.add("chosen", barThumb{rgb(colChosen)})
	for i := range d.References {
		f.add(d.References[i].Name, barThumb{refColor(i)})
	}
	if t, label, ok := barTarget(d, pos); ok {
		p.Add(t)
		f.add(label, t)
	}
	return f
}

// barTarget is the target line of the bar chart: across every group for
// "avg" and "max" (every device's ratio counts towards them), over its
// device's group for "device:NAME".
func barTarget(d *Data, pos []float64) (hseg, string, bool) {
	if !(d.Target > 0) {
		return hseg{}, "", false
	}
	ls := draw.LineStyle{Color: rgb(colTarget), Width: vg.Points(1.5), Dashes: []vg.Length{vg.Points(1.5), vg.Points(2)}}
	k, _ := metricDevice(d.Metric, d.Devices) // validated
	switch {
	case d.Metric == "avg" || d.Metric == "max":
		return hseg{x0: pos[0] - 0.5, x1: pos[len(pos)-1] + 0.5, y: d.Target, LineStyle: ls},
			"target: " + strings.ToUpper(d.Metric) + " ≤ " + fmtNum(d.Target), true
	case k >= 0:
		return hseg{x0: pos[k] - 0.5, x1: pos[k] + 0.5, y: d.Target, LineStyle: ls},
			"target: " + d.Devices[k] + " ratio ≤ " + fmtNum(d.Target), true
	}
	return hseg{}, "", false
}

// groupedBars draws values[s][g], series s of group g, side by side in the
// group centred at pos[g]; the values of series labelled are written above
// its bars. gonum/plot's BarChart sizes bars in points; sizing them in data
// units lets the groups fill the chart whatever the number of devices and
// references.
type groupedBars struct {
	pos      []float64
	values   [][]float64
	colors   []color.Color
	group    float64 // width of a group, in x units
	labelled int
	turned   bool // the values run upwards
}

// barFont is the size of the values written above bars.
const barFont = 7.5

// valueStyle is the style of the values written above bars.
func (b *groupedBars) valueStyle() text.Style {
	sty := textStyle(barFont)
	if b.turned {
		sty.Rotation = math.Pi / 2
		sty.YAlign = text.YCenter
	} else {
		sty.XAlign = text.XCenter
	}
	return sty
}

// bar returns the x extent of series s in group g.
func (b *groupedBars) bar(s, g int) (x0, x1 float64) {
	w := b.group / float64(len(b.values))
	x0 = b.pos[g] - b.group/2 + float64(s)*w
	return x0, x0 + w
}

// Plot implements plot.Plotter.
func (b *groupedBars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	edge := draw.LineStyle{Color: color.White, Width: vg.Points(0.6)}
	for s, vs := range b.values {
		for g, v := range vs {
			x0, x1 := b.bar(s, g)
			lo, hi := trY(min(0, v)), trY(max(0, v))
			rect := []vg.Point{{X: trX(x0), Y: lo}, {X: trX(x1), Y: lo}, {X: trX(x1), Y: hi}, {X: trX(x0), Y: hi}}
			c.FillPolygon(b.colors[s], rect)
			c.StrokeLines(edge, append(rect, rect[0]))
		}
	}
	sty := b.valueStyle()
	for g, v := range b.values[b.labelled] {
		x0, x1 := b.bar(b.labelled, g)
		c.FillText(sty, vg.Point{X: (trX(x0) + trX(x1)) / 2, Y: trY(max(0, v)) + 2}, barValue(v))
	}
}

// barValue prints a ratio above its bar: two decimals tell a target met
// from one missed by 1%, and a bar is too narrow for more.
func barValue(v float64) string {
	if math.Abs(v) >= 10 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// DataRange implements plot.DataRanger: every group, and zero, where bars
// start, with some room above the highest bar so that it does not touch
// the title.
func (b *groupedBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = b.pos[0]-0.5, b.pos[len(b.pos)-1]+0.5
	for _, vs := range b.values {
		for _, v := range vs {
			ymin, ymax = min(ymin, v), max(ymax, v)
		}
	}
	return xmin, xmax, ymin, ymax * 1.05
}

// GlyphBoxes implements plot.GlyphBoxer so that the y axis leaves room for
// the values written above the bars.
func (b *groupedBars) GlyphBoxes(p *plot.Plot) []plot.GlyphBox {
	sty := b.valueStyle()
	var boxes []plot.GlyphBox
	for g, v := range b.values[b.labelled] {
		x0, x1 := b.bar(b.labelled, g)
		r := sty.Rectangle(barValue(v))
		boxes = append(boxes, plot.GlyphBox{
			X: p.X.Norm((x0 + x1) / 2), Y: p.Y.Norm(max(0, v)),
			Rectangle: vg.Rectangle{Min: vg.Point{X: r.Min.X}, Max: vg.Point{X: r.Max.X, Y: r.Size().Y + 3}},
		})
	}
	return boxes
}

// barThumb is the legend thumbnail of a series of bars.
type barThumb struct{ color color.Color }

// Thumbnail implements plot.Thumbnailer.
func (t barThumb) Thumbnail(c *draw.Canvas) {
	r := c.Rectangle
	r.Min.X += 3
	r.Max.X -= 3
	c.FillPolygon(t.color, []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}})
}

// bands shades the whole height of the groups centred at at, behind the
// bars.
type bands struct {
	at    []float64
	color color.Color
}

// Plot implements plot.Plotter.
func (s bands) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	for _, x := range s.at {
		x0, x1 := trX(x-0.5), trX(x+0.5)
		c.FillPolygon(s.color, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
	}
}

// Thumbnail implements plot.Thumbnailer.
func (s bands) Thumbnail(c *draw.Canvas) {
	r := c.Rectangle
	c.FillPolygon(s.color, []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}})
}

// hseg is a horizontal line from x0 to x1 at y: a target.
type hseg struct {
	x0, x1, y float64
	draw.LineStyle
}

// Plot implements plot.Plotter.
func (l hseg) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	c.StrokeLine2(l.LineStyle, trX(l.x0), trY(l.y), trX(l.x1), trY(l.y))
}

// DataRange implements plot.DataRanger.
func (l hseg) DataRange() (xmin, xmax, ymin, ymax float64) { return l.x0, l.x1, l.y, l.y }

// Thumbnail implements plot.Thumbnailer.
func (l hseg) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(l.LineStyle, c.Min.X, y, c.Max.X, y)
}

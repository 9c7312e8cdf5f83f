package report

import (
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// refColor is the colour of reference i (in the order of Data.References),
// the same on every plot so that a reference is found again by its colour.
// The colours avoid those of the front (blue), the chosen network (red) and
// the target (orange); beyond seven they repeat, and the labels still tell
// the references apart.
func refColor(i int) color.Color {
	palette := [...]uint32{0x009E73, 0xCC79A7, 0x8C564B, 0x56B4E9, 0x6A3D9A, 0xBCBD22, 0x555555}
	return rgb(palette[i%len(palette)])
}

// refDash is the dash pattern of a reference's vertical line: dash-dot,
// unlike the target's dots, so the two are not confused.
func refDash() []vg.Length {
	return []vg.Length{vg.Points(5), vg.Points(2), vg.Points(1), vg.Points(2)}
}

// colNeutral draws the legend thumbnails of references, which stand for
// all of them whatever their colour.
const colNeutral = 0x555555

// diamondGlyph is a filled diamond with a dark outline: the marker of a
// reference network, a shape no other marker of the plots has.
type diamondGlyph struct{}

// DrawGlyph implements draw.GlyphDrawer.
func (diamondGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	r := sty.Radius * 1.25
	var p vg.Path
	p.Move(vg.Point{X: pt.X, Y: pt.Y + r})
	p.Line(vg.Point{X: pt.X + r, Y: pt.Y})
	p.Line(vg.Point{X: pt.X, Y: pt.Y - r})
	p.Line(vg.Point{X: pt.X - r, Y: pt.Y})
	p.Close()
	c.SetColor(sty.Color)
	c.Fill(p)
	c.SetLineStyle(draw.LineStyle{Color: color.Black, Width: vg.Points(0.7)})
	c.Stroke(p)
}

// starGlyph is a five-pointed star, white inside with a thick outline in
// the glyph's colour: the chosen network when its accuracy is on another
// basis than the history's. Hollow, it reads as "not comparable" rather
// than as a point of the cloud, and the white keeps it visible over it.
type starGlyph struct{}

// DrawGlyph implements draw.GlyphDrawer.
func (starGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	var p vg.Path
	for i := range 10 {
		r := sty.Radius
		if i%2 == 1 {
			r *= 0.45
		}
		a := math.Pi/2 + float64(i)*math.Pi/5
		q := vg.Point{X: pt.X + r*vg.Length(math.Cos(a)), Y: pt.Y + r*vg.Length(math.Sin(a))}
		if i == 0 {
			p.Move(q)
		} else {
			p.Line(q)
		}
	}
	p.Close()
	c.SetColor(color.White)
	c.Fill(p)
	c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: vg.Points(1.6)})
	c.Stroke(p)
}

// vline is a vertical line across the whole data area at x: a target, or a
// reference network without a comparable accuracy. Unlike a plotter.Line
// it needs no y range, so it never stretches the accuracy axis.
type vline struct {
	x float64
	draw.LineStyle
}

// Plot implements plot.Plotter.
func (l vline) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	x := trX(l.x)
	if c.ContainsX(x) {
		c.StrokeLine2(l.LineStyle, x, c.Min.Y, x, c.Max.Y)
	}
}

// DataRange implements plot.DataRanger: the line's x is on the axis, and
// it takes no part in the y range (the infinities are neutral in the
// plot's min and max).
func (l vline) DataRange() (xmin, xmax, ymin, ymax float64) {
	return l.x, l.x, math.Inf(1), math.Inf(-1)
}

// Thumbnail implements plot.Thumbnailer with a horizontal stroke, as
// legends show lines.
func (l vline) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(l.LineStyle, c.Min.X, y, c.Max.X, y)
}

// glyphThumb is a legend thumbnail of one glyph.
type glyphThumb struct{ draw.GlyphStyle }

// Thumbnail implements plot.Thumbnailer.
func (g glyphThumb) Thumbnail(c *draw.Canvas) { c.DrawGlyph(g.GlyphStyle, c.Center()) }

// refMark is a reference network with a known accuracy on a plot.
type refMark struct {
	x, y  float64
	name  string
	color color.Color
}

// refMarks draws the reference networks with a known accuracy as diamonds
// and labels each where it hides the least: beside its marker, or farther
// away with a leader line, on a white backing so it stays legible over the
// cloud. A label never covers another label or a reference or chosen
// marker when some candidate position avoids them, and it prefers covering
// the cloud to covering the fronts and the chosen network, which the reader
// is there to see.
type refMarks struct {
	marks []refMark
	// lines are the fronts, each drawn as a post-step line through its
	// points; cloud are the drawn evaluated networks.
	lines []plotter.XYs
	cloud plotter.XYs
	// chosen is the chosen network, whose marker no label may cover.
	chosen plotter.XY
}

// refRadius is the radius of a reference's diamond.
const refRadius = 4

// Plot implements plot.Plotter.
func (m *refMarks) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	at := func(xy plotter.XY) vg.Point { return vg.Point{X: trX(xy.X), Y: trY(xy.Y)} }
	toCanvas := func(xys plotter.XYs) []vg.Point {
		pts := make([]vg.Point, len(xys))
		for i, xy := range xys {
			pts[i] = at(xy)
		}
		return pts
	}
	cloud := toCanvas(m.cloud)
	var avoid []vg.Point
	for _, l := range m.lines {
		avoid = append(avoid, stepSamples(toCanvas(l))...)
	}
	// Markers no label may cover: every reference's and the chosen one's.
	box := func(pt vg.Point, r vg.Length) vg.Rectangle {
		return vg.Rectangle{Min: vg.Point{X: pt.X - r, Y: pt.Y - r}, Max: vg.Point{X: pt.X + r, Y: pt.Y + r}}
	}
	blocked := []vg.Rectangle{box(at(m.chosen), 7)}
	for _, r := range m.marks {
		blocked = append(blocked, box(at(plotter.XY{X: r.x, Y: r.y}), refRadius*1.25+1))
	}
	sty := textStyle(8)
	for i, r := range m.marks {
		pt := at(plotter.XY{X: r.x, Y: r.y})
		c.DrawGlyph(draw.GlyphStyle{Color: r.color, Radius: refRadius, Shape: diamondGlyph{}}, pt)
		w, h := sty.Width(r.name)+4, sty.Height(r.name)+2
		best, bestCost, bestFar := vg.Rectangle{}, math.Inf(1), false
		for k, cand := range labelCandidates(pt, w, h) {
			rect := cand.rect
			if rect.Min.X < c.Min.X || rect.Max.X > c.Max.X || rect.Min.Y < c.Min.Y || rect.Max.Y > c.Max.Y {
				continue
			}
			cost := 0.01 * float64(k) // earlier candidates win ties
			for j, b := range blocked {
				if j != i+1 && overlaps(rect, b) {
					cost += 1e4
				}
			}
			cost += 40*float64(inside(rect, avoid)) + float64(inside(rect, cloud))
			if cost < bestCost {
				best, bestCost, bestFar = rect, cost, cand.far
			}
		}
		if math.IsInf(bestCost, 1) {
			// Nothing fits inside the data area (a tiny plot): label it
			// to the right and let the text run over the edge.
			best = vg.Rectangle{Min: vg.Point{X: pt.X + 7, Y: pt.Y - h/2}, Max: vg.Point{X: pt.X + 7 + w, Y: pt.Y + h/2}}
		}
		if bestFar {
			// To the label's nearest point.
			c.StrokeLine2(draw.LineStyle{Color: r.color, Width: vg.Points(0.8)}, pt.X, pt.Y,
				max(best.Min.X, min(pt.X, best.Max.X)), max(best.Min.Y, min(pt.Y, best.Max.Y)))
		}
		c.FillPolygon(color.NRGBA{R: 255, G: 255, B: 255, A: 0xD9}, []vg.Point{
			best.Min, {X: best.Max.X, Y: best.Min.Y}, best.Max, {X: best.Min.X, Y: best.Max.Y},
		})
		ls := sty
		ls.XAlign, ls.YAlign = text.XCenter, text.YCenter
		c.FillText(ls, best.Min.Add(best.Max).Scale(0.5), r.name)
		blocked = append(blocked, best)
	}
}

// stepSamples returns points every few points of length along the
// post-step line through pts, so that counting the samples under a label
// measures how much of the line it hides.
func stepSamples(pts []vg.Point) []vg.Point {
	const every = 3
	var out []vg.Point
	seg := func(a, b vg.Point) {
		n := int(math.Max(math.Abs(float64(b.X-a.X)), math.Abs(float64(b.Y-a.Y))) / every)
		for i := range n {
			t := vg.Length(i) / vg.Length(n)
			out = append(out, vg.Point{X: a.X + t*(b.X-a.X), Y: a.Y + t*(b.Y-a.Y)})
		}
	}
	for i := 1; i < len(pts); i++ {
		corner := vg.Point{X: pts[i].X, Y: pts[i-1].Y}
		seg(pts[i-1], corner)
		seg(corner, pts[i])
	}
	return append(out, pts...)
}

// candidate is a position for a label.
type candidate struct {
	rect vg.Rectangle
	far  bool // needs a leader line back to its marker
}

// labelCandidates lists positions for a w x h label of the marker at pt,
// preferred first: right, left, above and below it, then the diagonals,
// then the same farther away.
func labelCandidates(pt vg.Point, w, h vg.Length) []candidate {
	var out []candidate
	for _, d := range []vg.Length{7, 22} {
		for _, o := range []vg.Point{
			{X: d, Y: -h / 2}, {X: -d - w, Y: -h / 2}, // right, left
			{X: -w / 2, Y: d - 2}, {X: -w / 2, Y: -d + 2 - h}, // above, below
			{X: d - 2, Y: d - 4}, {X: d - 2, Y: -d + 4 - h}, // upper and lower right
			{X: -d + 2 - w, Y: d - 4}, {X: -d + 2 - w, Y: -d + 4 - h}, // upper and lower left
		} {
			min := pt.Add(o)
			out = append(out, candidate{rect: vg.Rectangle{Min: min, Max: min.Add(vg.Point{X: w, Y: h})}, far: d > 7})
		}
	}
	return out
}

func overlaps(a, b vg.Rectangle) bool {
	return a.Min.X < b.Max.X && b.Min.X < a.Max.X && a.Min.Y < b.Max.Y && b.Min.Y < a.Max.Y
}

// inside counts the points in r.
func inside(r vg.Rectangle, pts []vg.Point) int {
	n := 0
	for _, p := range pts {
		if p.X >= r.Min.X && p.X <= r.Max.X && p.Y >= r.Min.Y && p.Y <= r.Max.Y {
			n++
		}
	}
	return n
}

// DataRange implements plot.DataRanger so the axes cover the references.
func (m *refMarks) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for _, r := range m.marks {
		xmin, xmax = min(xmin, r.x), max(xmax, r.x)
		ymin, ymax = min(ymin, r.y), max(ymax, r.y)
	}
	return xmin, xmax, ymin, ymax
}

// GlyphBoxes implements plot.GlyphBoxer so that the axes leave room for a
// diamond at the edge of the data.
func (m *refMarks) GlyphBoxes(p *plot.Plot) []plot.GlyphBox {
	r := vg.Length(refRadius * 1.25)
	boxes := make([]plot.GlyphBox, len(m.marks))
	for i, mk := range m.marks {
		boxes[i] = plot.GlyphBox{X: p.X.Norm(mk.x), Y: p.Y.Norm(mk.y),
			Rectangle: vg.Rectangle{Min: vg.Point{X: -r, Y: -r}, Max: vg.Point{X: r, Y: r}}}
	}
	return boxes
}

package report

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// synth makes a deterministic run of n evaluations on a three-device fleet:
// a network's "size" c drives every device's latency (with per-device noise,
// so AVG and MAX fronts differ) and its accuracy (saturating, in %).
func synth(n int, seed uint64) *Data {
	rng := rand.New(rand.NewPCG(seed, 7))
	devices := []string{"pixel4-cpu", "pixel4-gpu", "edgetpu"}
	refs := []float64{20, 8, 3}
	const target = 1.0
	gen := func(i int) Point {
		c := 0.4 + 1.6*rng.Float64()
		p := Point{
			Step:      i / 4,
			Key:       fmt.Sprintf("net-%d-%d-%d", i, rng.IntN(5), rng.IntN(7)),
			LatencyMS: make([]float64, len(devices)),
			Ratio:     make([]float64, len(devices)),
		}
		for k := range devices {
			p.Ratio[k] = c * (0.75 + 0.5*rng.Float64())
			p.LatencyMS[k] = p.Ratio[k] * refs[k]
			p.Avg += p.Ratio[k] / float64(len(devices))
			p.Max = max(p.Max, p.Ratio[k])
		}
		p.Accuracy = 60 + 17*(1-math.Exp(-1.5*c)) + 1.5*rng.NormFloat64()
		p.Reward = p.Accuracy - 5*math.Abs(p.Avg/target-1)
		p.Entropy = 3*math.Exp(-float64(i)/float64(n/4+1)) + 0.1
		return p
	}
	d := &Data{
		Title: "Synthetic search",
		Settings: [][2]string{
			{"space", "multihw"}, {"fleet", "synthetic"}, {"metric", "avg"},
			{"target", "1"}, {"reward", "abs"}, {"beta", "-5"}, {"seed", fmt.Sprint(seed)},
		},
		Devices: devices,
		Metric:  "avg",
		Target:  target,
		Notes:   []string{"Synthetic data for tests.", "Second note."},
	}
	all := make([]Point, 2*n)
	for i := range all {
		all[i] = gen(i)
	}
	d.History = all[:n]
	d.Chosen = d.History[0]
	for _, p := range d.History {
		if p.Reward > d.Chosen.Reward {
			d.Chosen = p
		}
	}
	avg := func(p *Point) float64 { return p.Avg }
	d.ParetoAVG = front(d.History, avg)
	d.ParetoMAX = front(d.History, func(p *Point) float64 { return p.Max })
	for k := range devices {
		d.ParetoDevice = append(d.ParetoDevice, front(d.History, func(p *Point) float64 { return p.LatencyMS[k] }))
	}
	d.TrueFront = front(all, avg)
	return d
}

// front is the set of points no other point beats on both accuracy
// (higher) and x (lower), as deep copies so tests can edit one front alone.
func front(ps []Point, x func(*Point) float64) []Point {
	s := slices.Clone(ps)
	slices.SortStableFunc(s, func(a, b Point) int {
		return cmp.Or(cmp.Compare(x(&a), x(&b)), cmp.Compare(b.Accuracy, a.Accuracy))
	})
	var out []Point
	best := math.Inf(-1)
	for _, p := range s {
		if p.Accuracy > best {
			best = p.Accuracy
			p.LatencyMS, p.Ratio = slices.Clone(p.LatencyMS), slices.Clone(p.Ratio)
			out = append(out, p)
		}
	}
	return out
}

func mustWrite(t testing.TB, d *Data) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, d); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// element is a parsed XML element, enough to count and inspect the page.
type element struct {
	name  xml.Name
	attrs []xml.Attr
	kids  []*element
	text  strings.Builder
}

func (e *element) attr(name string) string {
	for _, a := range e.attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (e *element) all(local string) []*element {
	var out []*element
	var walk func(*element)
	walk = func(x *element) {
		if x.name.Local == local {
			out = append(out, x)
		}
		for _, k := range x.kids {
			walk(k)
		}
	}
	walk(e)
	return out
}

// parse reads the page as XML. The template self-closes void elements so a
// well-formed page parses; a tag left open or closed twice fails here. (The
// module has no HTML parser, and adding golang.org/x/net would touch go.mod.)
func parse(t *testing.T, page []byte) *element {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(page))
	dec.Strict = true
	root := &element{}
	stack := []*element{root}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("page is not well-formed: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := &element{name: tok.Name, attrs: tok.Attr}
			top := stack[len(stack)-1]
			top.kids = append(top.kids, e)
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			stack[len(stack)-1].text.Write(tok)
		}
	}
	if len(root.kids) != 1 || root.kids[0].name.Local != "html" {
		t.Fatalf("page has %d root elements, want one <html>", len(root.kids))
	}
	return root.kids[0]
}

func TestWritePage(t *testing.T) {
	d := synth(400, 1)
	page := mustWrite(t, d)
	s := string(page)
	if !strings.HasPrefix(s, "<!DOCTYPE html>\n") {
		t.Error("page does not start with the HTML5 doctype")
	}
	doc := parse(t, page)
	if n := len(doc.all("head")); n != 1 {
		t.Errorf("%d <head>, want 1", n)
	}
	if n := len(doc.all("body")); n != 1 {
		t.Errorf("%d <body>, want 1", n)
	}
	if got := doc.all("title")[0].text.String(); got != d.Title {
		t.Errorf("<title> = %q, want %q", got, d.Title)
	}

	// The chosen network's bars, AVG, MAX, one per device, reward, entropy.
	want := 1 + 2 + len(d.Devices) + 2
	svgs := doc.all("svg")
	if len(svgs) != want || strings.Count(s, "<svg") != want {
		t.Errorf("%d <svg> elements (%d in text), want %d", len(svgs), strings.Count(s, "<svg"), want)
	}
	for i, svg := range svgs {
		if svg.name.Space != "http://www.w3.org/2000/svg" {
			t.Errorf("svg %d: namespace %q", i, svg.name.Space)
		}
		if len(svg.all("text")) < 5 {
			t.Errorf("svg %d: %d texts; want title, axis labels, ticks, legend", i, len(svg.all("text")))
		}
	}
	var ids []string
	for _, f := range doc.all("figure") {
		ids = append(ids, f.attr("id"))
	}
	wantIDs := []string{"plot-chosen-devices", "plot-avg", "plot-max", "plot-device-0", "plot-device-1", "plot-device-2", "plot-reward", "plot-entropy"}
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("figures %q, want %q", ids, wantIDs)
	}

	// Self-contained: the only URL is the SVG namespace, which is a name.
	for _, m := range regexp.MustCompile(`https?://[^"'\s)<>]*`).FindAllString(s, -1) {
		if m != "http://www.w3.org/2000/svg" {
			t.Errorf("page references %q", m)
		}
	}
	for _, bad := range []string{"<script", "<link", "@import", "url(", "src="} {
		if strings.Contains(strings.ToLower(s), bad) {
			t.Errorf("page contains %q", bad)
		}
	}

	for _, want := range []string{d.Chosen.Key, "Synthetic data for tests.", "pixel4-gpu", "edgetpu", "multihw", "exact front", "search front", "target 1", "best so far"} {
		if !strings.Contains(s, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(s, "scatters show") {
		t.Error("400 points should not be thinned")
	}
	// Front tables: a row per front member.
	for _, sec := range doc.all("section") {
		var n int
		switch sec.attr("id") {
		case "pareto-avg":
			n = len(d.ParetoAVG)
		case "pareto-max":
			n = len(d.ParetoMAX)
		default:
			continue
		}
		if got := len(sec.all("tbody")[0].all("tr")); got != n {
			t.Errorf("%s: %d rows, want %d", sec.attr("id"), got, n)
		}
	}
	// Only plain system fonts; no web fonts to fetch.
	if !strings.Contains(s, "font-family:Liberation Sans,Arial,Helvetica,sans-serif;") {
		t.Error("plot text lacks font fallbacks")
	}
}

func TestEscaping(t *testing.T) {
	d := synth(50, 2)
	evil := `<script>alert("x")</script>`
	d.Title = "run <b>1</b> & " + evil
	d.Notes = []string{evil}
	d.Settings = append(d.Settings, [2]string{evil, evil})
	d.Devices[1] = `gpu<i>"quoted"</i>`
	d.Chosen.Key = "key-" + evil
	d.ParetoAVG[0].Key = d.Chosen.Key
	page := mustWrite(t, d)
	s := string(page)
	if strings.Contains(strings.ToLower(s), "<script") || strings.Contains(s, "<i>") || strings.Contains(s, "<b>") {
		t.Fatal("unescaped markup from Data reached the page")
	}
	for _, want := range []string{"key-&lt;script&gt;", "gpu&lt;i&gt;"} {
		if !strings.Contains(s, want) {
			t.Errorf("page lacks escaped %q", want)
		}
	}
	doc := parse(t, page)
	if got := doc.all("h1")[0].text.String(); got != d.Title {
		t.Errorf("<h1> reads %q, want %q", got, d.Title)
	}
	// The device name is also drawn in its panel's title and axis label.
	var found bool
	for _, txt := range doc.all("text") {
		found = found || strings.Contains(txt.text.String(), d.Devices[1])
	}
	if !found {
		t.Error("device name with markup is not drawn as text in its plot")
	}
}

func TestDeterministic(t *testing.T) {
	a := mustWrite(t, synth(3000, 3))
	b := mustWrite(t, synth(3000, 3))
	if !bytes.Equal(a, b) {
		i := 0
		for i < min(len(a), len(b)) && a[i] == b[i] {
			i++
		}
		t.Fatalf("two renders differ at byte %d: %q vs %q", i, a[i:min(i+80, len(a))], b[i:min(i+80, len(b))])
	}
	d := synth(3000, 3)
	c := mustWrite(t, d)
	if !bytes.Equal(mustWrite(t, d), c) {
		t.Fatal("rendering the same Data twice differs")
	}
}

func TestEntropyPanelOmitted(t *testing.T) {
	for _, e := range []float64{math.NaN(), 0} {
		d := synth(100, 4)
		for i := range d.History {
			d.History[i].Entropy = e
		}
		s := string(mustWrite(t, d))
		if strings.Contains(s, "plot-entropy") {
			t.Errorf("entropy %g: entropy panel drawn", e)
		}
		if got, want := strings.Count(s, "<svg"), 1+2+len(d.Devices)+1; got != want {
			t.Errorf("entropy %g: %d <svg>, want %d", e, got, want)
		}
	}
}

func TestOptionalParts(t *testing.T) {
	d := synth(100, 5)
	d.ParetoDevice, d.TrueFront, d.ParetoMAX = nil, nil, nil
	d.Settings, d.Notes, d.Title = nil, nil, ""
	d.Target = 0
	s := string(mustWrite(t, d))
	if strings.Contains(s, "target ") {
		t.Error("target drawn although Target is 0")
	}
	if strings.Contains(s, "exact front") {
		t.Error("exact front drawn without TrueFront")
	}
	if !strings.Contains(s, "Not computed.") {
		t.Error("empty MAX front not reported")
	}
	if !strings.Contains(s, "<title>fleetnas search report</title>") {
		t.Error("empty title not defaulted")
	}
}

// A device metric draws its target on that device's panel, converted from
// a ratio to ms with the device's reference, and on no other panel.
func TestDeviceMetricTarget(t *testing.T) {
	d := synth(200, 6)
	d.Metric, d.Target = "device:pixel4-gpu", 0.9
	d.TrueFront = front(d.History, func(p *Point) float64 { return p.LatencyMS[1] })
	doc := parse(t, mustWrite(t, d))
	for _, f := range doc.all("figure") {
		var texts []string
		for _, x := range f.all("text") {
			texts = append(texts, x.text.String())
		}
		joined := strings.Join(texts, "|")
		hasTarget := strings.Contains(joined, "target ")
		if want := f.attr("id") == "plot-device-1"; hasTarget != want {
			t.Errorf("%s: target drawn = %v, want %v", f.attr("id"), hasTarget, want)
		}
		if f.attr("id") == "plot-device-1" && !strings.Contains(joined, "target 7.2") {
			t.Errorf("device target should read 0.9 x 8 ms = 7.2 ms; texts %q", texts)
		}
	}
}

func TestLargeHistoryThinned(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 20_000
	}
	d := synth(n, 7)
	s := string(mustWrite(t, d))
	if !strings.Contains(s, "The scatters show 5,000 of the "+fmtInt(n)+" evaluated networks") {
		t.Error("thinning is not stated on the page")
	}
	if !strings.Contains(s, d.Chosen.Key) {
		t.Error("chosen key missing")
	}
	if len(s) > 4<<20 {
		t.Errorf("page is %d bytes for %d evaluations", len(s), n)
	}
	t.Logf("%d evaluations: %d bytes", n, len(s))
}

func TestSample(t *testing.T) {
	if got := sample(10); len(got) != 10 || got[9] != 9 {
		t.Errorf("sample(10) = %v", got)
	}
	got := sample(12345)
	if len(got) != maxScatter || got[0] != 0 || !slices.IsSorted(got) || got[len(got)-1] >= 12345 {
		t.Errorf("sample(12345): %d indices from %d to %d", len(got), got[0], got[len(got)-1])
	}
	if len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Error("sample repeats an index")
	}
}

func TestFormat(t *testing.T) {
	for x, want := range map[float64]string{75.1234: "75.123", 0.912345: "0.91234", 1234567: "1234567", 1: "1", -0.5: "-0.5"} {
		if got := fmtNum(x); got != want {
			t.Errorf("fmtNum(%g) = %q, want %q", x, got, want)
		}
	}
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 123456: "123,456", -1234567: "-1,234,567"} {
		if got := fmtInt(n); got != want {
			t.Errorf("fmtInt(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestValidation(t *testing.T) {
	for _, tc := range []struct {
		field string
		edit  func(*Data)
	}{
		{"Devices", func(d *Data) { d.Devices = nil }},
		{"Devices[2]", func(d *Data) { d.Devices[2] = d.Devices[0] }},
		{"Devices[1]", func(d *Data) { d.Devices[1] = "" }},
		{"Metric", func(d *Data) { d.Metric = "median" }},
		{"Metric", func(d *Data) { d.Metric = "device:nope" }},
		{"Target", func(d *Data) { d.Target = math.Inf(1) }},
		{"Target", func(d *Data) { d.Target = -1 }},
		{"History", func(d *Data) { d.History = nil }},
		{"History[3].Accuracy", func(d *Data) { d.History[3].Accuracy = math.NaN() }},
		{"History[4].Avg", func(d *Data) { d.History[4].Avg = math.Inf(1) }},
		{"History[5].Reward", func(d *Data) { d.History[5].Reward = math.NaN() }},
		{"History[6].Entropy", func(d *Data) { d.History[6].Entropy = math.Inf(-1) }},
		{"History[7].LatencyMS", func(d *Data) { d.History[7].LatencyMS = d.History[7].LatencyMS[:2] }},
		{"History[8].Ratio", func(d *Data) { d.History[8].Ratio = append(d.History[8].Ratio, 1) }},
		{"History[9].Ratio[1]", func(d *Data) { d.History[9].Ratio[1] = math.NaN() }},
		{"Chosen.Max", func(d *Data) { d.Chosen.Max = math.NaN() }},
		{"Chosen.LatencyMS", func(d *Data) { d.Chosen.LatencyMS = nil }},
		{"ParetoAVG[0].Accuracy", func(d *Data) { d.ParetoAVG[0].Accuracy = math.NaN() }},
		{"ParetoMAX[0].LatencyMS[0]", func(d *Data) { d.ParetoMAX[0].LatencyMS[0] = math.NaN() }},
		{"ParetoDevice", func(d *Data) { d.ParetoDevice = d.ParetoDevice[:2] }},
		{"ParetoDevice[1][0].Ratio", func(d *Data) { d.ParetoDevice[1][0].Ratio = nil }},
		{"TrueFront", func(d *Data) { d.Metric = "" }},
		{"TrueFront[0].Accuracy", func(d *Data) { d.TrueFront[0].Accuracy = math.NaN() }},
		{"Summary[1]", func(d *Data) { d.Summary = [][2]string{{"a", "b"}, {"", "c"}} }},
		{"References[0].Name", func(d *Data) { d.References[0].Name = "" }},
		{"References[1].Name", func(d *Data) { d.References[1].Name = d.References[0].Name }},
		{"References[1].Name", func(d *Data) { d.References[1].Name = "two\nlines" }},
		{"References[0].Accuracy", func(d *Data) { d.References[0].Accuracy = math.Inf(-1) }},
		{"References[1].Avg", func(d *Data) { d.References[1].Avg = math.NaN() }},
		{"References[0].Max", func(d *Data) { d.References[0].Max = math.Inf(1) }},
		{"References[1].LatencyMS", func(d *Data) { d.References[1].LatencyMS = d.References[1].LatencyMS[:1] }},
		{"References[0].Ratio", func(d *Data) { d.References[0].Ratio = nil }},
		{"References[1].LatencyMS[2]", func(d *Data) { d.References[1].LatencyMS[2] = math.Inf(1) }},
		{"References[0].Ratio[1]", func(d *Data) { d.References[0].Ratio[1] = math.NaN() }},
		{"HeldOut", func(d *Data) { d.HeldOut = []bool{true, false} }},
		{"HeldOut", func(d *Data) { d.HeldOut = []bool{true, true, true} }},
		{"HeldOut[1]", func(d *Data) { d.Metric, d.TrueFront, d.HeldOut = "device:pixel4-gpu", nil, []bool{false, true, false} }},
		{"ChosenLabel", func(d *Data) { d.ChosenLabel = "chosen\r\n(whole split)" }},
	} {
		d := withExtras(synth(20, 8))
		tc.edit(d)
		var b bytes.Buffer
		err := Write(&b, d)
		var ie *InvalidError
		if !errors.As(err, &ie) {
			t.Errorf("%s: got %v, want an *InvalidError", tc.field, err)
			continue
		}
		if ie.Field != tc.field {
			t.Errorf("%s: error names %q (%v)", tc.field, ie.Field, err)
		}
		if b.Len() != 0 {
			t.Errorf("%s: %d bytes written despite the error", tc.field, b.Len())
		}
	}
	if err := Write(io.Discard, nil); err == nil {
		t.Error("nil Data accepted")
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.html")
	d := synth(100, 9)
	if err := WriteFile(path, d); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, mustWrite(t, d)) {
		t.Error("file differs from Write's output")
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", fi.Mode(), err)
	}
	// A failed render leaves the previous page and no temporary file.
	d.History[0].Accuracy = math.NaN()
	if err := WriteFile(path, d); err == nil {
		t.Fatal("invalid data written")
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, got) {
		t.Error("failed WriteFile changed the existing page")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries, want just the page", len(ents))
	}
	if err := WriteFile(filepath.Join(dir, "missing", "x.html"), synth(10, 9)); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}

// TestWriteSample writes a page to look at in a browser:
//
//	FLEETNAS_REPORT_SAMPLE=/tmp/report_sample.html go test ./report -run WriteSample
func TestWriteSample(t *testing.T) {
	path := os.Getenv("FLEETNAS_REPORT_SAMPLE")
	if path == "" {
		t.Skip("set FLEETNAS_REPORT_SAMPLE to a path to write a sample page")
	}
	d := synth(8000, 42)
	d.Title = "fleetnas sample: multihw on a synthetic 3-device fleet"
	if err := WriteFile(path, d); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkWrite10k(b *testing.B) {
	d := synth(10_000, 10)
	var n int
	for b.Loop() {
		var buf bytes.Buffer
		if err := Write(&buf, d); err != nil {
			b.Fatal(err)
		}
		n = buf.Len()
	}
	b.ReportMetric(float64(n), "page-bytes")
}

// A run of one evaluation has zero-width data ranges everywhere; the page
// must still render.
func TestSingleEvaluation(t *testing.T) {
	for _, extras := range []bool{false, true} {
		d := synth(1, 11)
		if extras {
			d = withExtras(d)
		}
		d.TrueFront = nil
		doc := parse(t, mustWrite(t, d))
		if got, want := len(doc.all("svg")), 1+2+len(d.Devices)+2; got != want {
			t.Errorf("extras %v: %d <svg>, want %d", extras, got, want)
		}
	}
}

// withExtras adds to d what the page shows beyond a search's own results:
// a summary, two references (one without an accuracy on the search's
// data), a held-out device and a chosen network scored afterwards.
func withExtras(d *Data) *Data {
	d.Summary = [][2]string{
		{"deployment target", "224x224x3, 1000 classes"},
		{"stand-alone test accuracy", "91.2%"},
		{"target met", "no: MAX 0.93 > 0.85 (pixel4-gpu)"},
	}
	d.References = []Reference{
		{Name: "MobileNetV2", Accuracy: 72, Avg: 1, Max: 1, LatencyMS: []float64{20, 8, 3}, Ratio: []float64{1, 1, 1}},
		{Name: "MobileNetV3-Small", Accuracy: math.NaN(), Avg: 0.6, Max: 0.8, LatencyMS: []float64{8, 6.4, 1.5}, Ratio: []float64{0.4, 0.8, 0.5}},
	}
	d.HeldOut = []bool{false, false, true}
	d.ChosenLabel = "chosen (whole validation split)"
	d.Chosen.Step = -1
	return d
}

// A zoo reference without an accuracy (NaN) is valid; only an infinite
// one is not.
func TestReferenceWithoutAccuracy(t *testing.T) {
	d := withExtras(synth(50, 12))
	for i := range d.References {
		d.References[i].Accuracy = math.NaN()
	}
	mustWrite(t, d)
}

// figureTexts returns the texts drawn in the figure with the given id, with
// their heights on the canvas (vgsvg flips y, so the height is -y).
func figureTexts(t *testing.T, doc *element, id string) (texts []string, heights []float64) {
	t.Helper()
	for _, f := range doc.all("figure") {
		if f.attr("id") != id {
			continue
		}
		for _, x := range f.all("text") {
			var y float64
			if _, err := fmt.Sscan(x.attr("y"), &y); err != nil {
				t.Fatalf("%s: text %q at y %q: %v", id, x.text.String(), x.attr("y"), err)
			}
			texts = append(texts, x.text.String())
			heights = append(heights, -y)
		}
		return texts, heights
	}
	t.Fatalf("no figure %q", id)
	return nil, nil
}

func TestReferences(t *testing.T) {
	d := withExtras(synth(300, 13))
	doc := parse(t, mustWrite(t, d))
	ids := []string{"plot-chosen-devices", "plot-avg", "plot-max", "plot-device-0", "plot-device-1", "plot-device-2"}
	for _, id := range ids {
		texts, _ := figureTexts(t, doc, id)
		for _, r := range d.References {
			if !slices.Contains(texts, r.Name) {
				t.Errorf("%s: no label %q among %q", id, r.Name, texts)
			}
		}
	}
	// The comparison table: the chosen network, then each reference, the
	// one without an accuracy saying so rather than printing NaN.
	var tab *element
	for _, x := range doc.all("table") {
		if x.attr("id") == "references" {
			tab = x
		}
	}
	if tab == nil {
		t.Fatal("no table of references")
	}
	var rows []string
	for _, tr := range tab.all("tbody")[0].all("tr") {
		var cells []string
		for _, c := range tr.kids {
			cells = append(cells, c.text.String())
		}
		rows = append(rows, strings.Join(cells, "|"))
	}
	want := []string{
		"chosen (whole validation split)|" + fmtNum(d.Chosen.Accuracy) + "|" + fmtNum(d.Chosen.Avg) + "|" + fmtNum(d.Chosen.Max),
		"MobileNetV2|72|1|1|1|1|1",
		"MobileNetV3-Small|n/a|0.6|0.8|0.4|0.8|0.5",
	}
	if len(rows) != len(want) || !strings.HasPrefix(rows[0], want[0]) || rows[1] != want[1] || rows[2] != want[2] {
		t.Errorf("reference rows %q, want %q", rows, want)
	}
	if strings.Contains(string(mustWrite(t, d)), "NaN") {
		t.Error("page prints NaN")
	}
}

// Legends sit below the x axis label, outside the data area, and the
// labels of reference lines above the data area, under the title.
func TestLegendOutside(t *testing.T) {
	d := withExtras(synth(300, 14))
	doc := parse(t, mustWrite(t, d))
	for _, id := range []string{"plot-avg", "plot-max", "plot-device-1", "plot-reward"} {
		texts, ys := figureTexts(t, doc, id)
		at := func(s string) float64 {
			i := slices.IndexFunc(texts, func(x string) bool { return strings.HasPrefix(x, s) })
			if i < 0 {
				t.Fatalf("%s: no text %q among %q", id, s, texts)
			}
			return ys[i]
		}
		heads := map[string][2]string{
			"plot-avg":      {"AVG (", "Accuracy vs AVG"},
			"plot-max":      {"MAX (", "Accuracy vs MAX"},
			"plot-device-1": {"pixel4-gpu latency", "pixel4-gpu:"},
			"plot-reward":   {"evaluation", "Reward over"},
		}[id]
		xlabel, title := at(heads[0]), at(heads[1])
		legend := []string{"evaluated (", "search front", "chosen (whole validation split)", "reference network (labelled)"}
		if id == "plot-reward" {
			legend = []string{"reward (", "best so far"}
		}
		for _, l := range legend {
			if y := at(l); y >= xlabel {
				t.Errorf("%s: legend entry %q at height %g, not below the x axis label at %g", id, l, y, xlabel)
			}
		}
		if id == "plot-reward" {
			continue
		}
		// Above every tick label, below the title.
		var ticks float64
		for i, s := range texts {
			if _, err := fmt.Sscan(s, new(float64)); err == nil {
				ticks = max(ticks, ys[i])
			}
		}
		if y := at("MobileNetV3-Small"); y <= ticks || y >= title {
			t.Errorf("%s: reference line label at height %g, want between the top tick label %g and the title %g", id, y, ticks, title)
		}
	}
}

func TestSummary(t *testing.T) {
	d := withExtras(synth(100, 15))
	page := mustWrite(t, d)
	doc := parse(t, page)
	var sections []string
	for _, sec := range doc.all("section") {
		sections = append(sections, sec.attr("id"))
	}
	if len(sections) < 2 || sections[0] != "summary" || sections[1] != "settings" {
		t.Errorf("sections %q, want the summary first, then the settings", sections)
	}
	var got [][2]string
	for _, tr := range doc.all("section")[0].all("tr") {
		got = append(got, [2]string{tr.all("th")[0].text.String(), tr.all("td")[0].text.String()})
	}
	if !slices.Equal(got, d.Summary) {
		t.Errorf("summary rows %q, want %q", got, d.Summary)
	}
	d.Summary = nil
	if strings.Contains(string(mustWrite(t, d)), `id="summary"`) {
		t.Error("empty summary drawn")
	}
}

// A chosen network never evaluated during the search shows no step, in its
// table or in a front's; and a chosen label draws a hollow star, not the
// red disc.
func TestChosenNotEvaluated(t *testing.T) {
	d := withExtras(synth(100, 16))
	d.ParetoAVG = append(d.ParetoAVG, d.Chosen)
	s := string(mustWrite(t, d))
	doc := parse(t, []byte(s))
	for _, tr := range doc.all("tr") {
		if ths := tr.all("th"); len(ths) == 1 && ths[0].text.String() == "step" {
			if got := tr.all("td")[0].text.String(); got != "not evaluated during the search" {
				t.Errorf("chosen step reads %q", got)
			}
		}
	}
	if strings.Contains(s, ">-1<") {
		t.Error("a step of -1 is printed")
	}
	if !strings.Contains(s, `<td class="num">—</td><td class="key">`+d.Chosen.Key) {
		t.Error("the chosen network's row of the AVG front does not show — for its step")
	}

	avg := func(s string) string {
		i := strings.Index(s, `<figure id="plot-avg">`)
		return s[i : i+strings.Index(s[i:], "</figure>")]
	}
	star, disc := "stroke:#D62728;stroke-width:1.6", "fill:#D62728"
	if p := avg(s); !strings.Contains(p, star) || strings.Contains(p, disc) {
		t.Error("with a ChosenLabel, the chosen network is not a hollow star")
	}
	if !strings.Contains(avg(s), ">chosen (whole validation split)</text>") {
		t.Error("the ChosenLabel is not in the legend")
	}
	d.ChosenLabel = ""
	if p := avg(string(mustWrite(t, d))); strings.Contains(p, star) || !strings.Contains(p, disc) || !strings.Contains(p, ">chosen</text>") {
		t.Error("without a ChosenLabel, the chosen network is not the red disc labelled chosen")
	}
}

func TestHeldOut(t *testing.T) {
	d := withExtras(synth(100, 17))
	s := string(mustWrite(t, d))
	for _, want := range []string{
		"<td>edgetpu (held out)</td>",               // the device table
		">edgetpu (held out): accuracy vs latency<", // its panel's title
		"<th>edgetpu (held out) ratio</th>",         // the references' table
		">held out of the search</text>",            // the bar chart's legend
		">(held out)</text>",                        // under its bars
	} {
		if !strings.Contains(s, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	d.HeldOut = nil
	if strings.Contains(string(mustWrite(t, d)), "held out") {
		t.Error("held out devices shown without HeldOut")
	}
}

// The bar chart draws the target where the metric sets one: across the
// chart for avg and max, on its device for device:NAME, nowhere without a
// target.
func TestBarTarget(t *testing.T) {
	for _, tc := range []struct {
		metric string
		target float64
		want   string
	}{
		{"avg", 1, "target: AVG ≤ 1"},
		{"max", 0.85, "target: MAX ≤ 0.85"},
		{"device:pixel4-gpu", 0.9, "target: pixel4-gpu ratio ≤ 0.9"},
		{"", 0, ""},
		{"max", 0, ""},
	} {
		d := withExtras(synth(50, 18))
		d.Metric, d.Target, d.TrueFront = tc.metric, tc.target, nil
		texts, _ := figureTexts(t, parse(t, mustWrite(t, d)), "plot-chosen-devices")
		i := slices.IndexFunc(texts, func(s string) bool { return strings.HasPrefix(s, "target") })
		switch {
		case tc.want == "" && i >= 0:
			t.Errorf("%s %g: bar chart draws %q", tc.metric, tc.target, texts[i])
		case tc.want != "" && (i < 0 || texts[i] != tc.want):
			t.Errorf("%s %g: bar chart target texts %q, want %q", tc.metric, tc.target, texts, tc.want)
		}
	}
}

// Every new part of the page is as deterministic as the rest: the label
// placement, the legend layout, the bar chart.
func TestDeterministicExtras(t *testing.T) {
	a := mustWrite(t, withExtras(synth(2000, 19)))
	b := mustWrite(t, withExtras(synth(2000, 19)))
	if !bytes.Equal(a, b) {
		t.Fatal("two renders of the same Data differ")
	}
	d := mnv4Sample(500)
	if !bytes.Equal(mustWrite(t, d), mustWrite(t, d)) {
		t.Fatal("rendering the same Data twice differs")
	}
}

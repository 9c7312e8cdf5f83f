package report

import (
	"bytes"
	"encoding/csv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/data"
)

// nb201Sample is an NAS-Bench-201 search on the six devices of the
// nb201-mobile fleet, from the benchmark's own accuracies and latencies: a
// controller-like walk of n evaluations whose samples drift towards the
// cells it rewards, with the ResNet cell (the fleet's reference) as the one
// reference, its accuracy known.
func nb201Sample(t testing.TB, n int) *Data {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(data.MustFile("nb201/nb201_multidevice.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var devices []string
	for _, h := range recs[0][5:] {
		devices = append(devices, strings.TrimSuffix(h, "_ms"))
	}
	const resnet = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
	type cell struct {
		key string
		acc float64
		ms  []float64
	}
	var cells []cell
	var ref cell
	for _, r := range recs[1:] {
		c := cell{key: r[1], ms: make([]float64, len(devices))}
		c.acc, _ = strconv.ParseFloat(r[2], 64)
		for k := range devices {
			c.ms[k], _ = strconv.ParseFloat(r[5+k], 64)
		}
		if c.key == resnet {
			ref = c
		}
		cells = append(cells, c)
	}
	if ref.key == "" {
		t.Fatal("no ResNet cell in the CSV")
	}
	const target = 0.6
	point := func(step int, c cell) Point {
		p := Point{Step: step, Key: c.key, Accuracy: c.acc, LatencyMS: c.ms, Ratio: make([]float64, len(devices))}
		for k := range devices {
			p.Ratio[k] = c.ms[k] / ref.ms[k]
			p.Avg += p.Ratio[k] / float64(len(devices))
			p.Max = max(p.Max, p.Ratio[k])
		}
		p.Reward = p.Accuracy - 5*math.Abs(p.Avg/target-1)
		return p
	}
	d := &Data{
		Title:   "fleetnas search: nb201 on nb201-mobile",
		Devices: devices,
		Metric:  "avg",
		Target:  target,
		Settings: [][2]string{
			{"space", "nb201"}, {"fleet", "nb201-mobile"}, {"accuracy", "nb201:cifar10-valid"},
			{"metric", "avg"}, {"target", "0.6"}, {"beta", "-5"}, {"reward", "abs"},
			{"algorithm", "reinforce"}, {"budget", strconv.Itoa(n)}, {"seed", "1"},
		},
		Notes: []string{"Accuracies and latencies are NAS-Bench-201's and HW-NAS-Bench's tables."},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	// The controller: sample a few cells and keep the best-rewarded, more
	// of them as the search goes on, so the cloud thickens near the front.
	for i := range n {
		k := 1 + 6*i/n
		var best Point
		for j := range k {
			p := point(i, cells[rng.IntN(len(cells))])
			if j == 0 || p.Reward > best.Reward {
				best = p
			}
		}
		best.Entropy = 7.2*math.Exp(-3*float64(i)/float64(n)) + 0.4
		d.History = append(d.History, best)
	}
	d.Chosen = d.History[0]
	for _, p := range d.History {
		if p.Reward > d.Chosen.Reward {
			d.Chosen = p
		}
	}
	met := "yes: AVG " + fmtNum(d.Chosen.Avg) + " ≤ 0.6"
	if d.Chosen.Avg > target {
		met = "no: AVG " + fmtNum(d.Chosen.Avg) + " > 0.6"
	}
	d.Summary = [][2]string{
		{"deployment target", "32x32x3, 10 classes (CIFAR-10)"},
		{"chosen network accuracy", fmtNum(d.Chosen.Accuracy) + "% (NAS-Bench-201 CIFAR-10 validation)"},
		{"target met", met},
	}
	d.ParetoAVG = front(d.History, func(p *Point) float64 { return p.Avg })
	d.ParetoMAX = front(d.History, func(p *Point) float64 { return p.Max })
	for k := range devices {
		d.ParetoDevice = append(d.ParetoDevice, front(d.History, func(p *Point) float64 { return p.LatencyMS[k] }))
	}
	all := make([]Point, len(cells))
	for i, c := range cells {
		all[i] = point(-1, c)
	}
	d.TrueFront = front(all, func(p *Point) float64 { return p.Avg })
	r := point(-1, ref)
	d.References = []Reference{{Name: "ResNet cell", Accuracy: r.Accuracy, Avg: r.Avg, Max: r.Max, LatencyMS: r.LatencyMS, Ratio: r.Ratio}}
	return d
}

// mnv4Sample is a multihw supernet search on the seven devices of the mnv4
// fleet, with s23_gpu held out, five zoo references without an accuracy on
// the search's data, and a chosen network scored on the whole validation
// split after the search (the history on one batch each, so its accuracies
// are noisier and its front optimistic).
func mnv4Sample(n int) *Data {
	devices := []string{"pixel6_cpu", "pixel8_edgetpu", "iphone13_coreml", "pixel4_hexagon", "pixel7_gpu", "s23_cpu", "s23_gpu"}
	// MobileNetV2's latencies (MobileNetV4's Table 6): the fleet reference.
	mnv2 := []float64{5.0, 0.7, 0.7, 3.9, 13.6, 4.1, 2.5}
	// How each device reacts to a network's width (w) and depth (dp):
	// CPUs and the DSP pay for width, the accelerators for depth.
	width := []float64{1.1, 0.4, 0.6, 0.9, 0.5, 1.1, 0.6}
	depth := []float64{0.3, 0.9, 0.7, 0.4, 0.8, 0.3, 0.7}
	ratios := func(w, dp float64) []float64 {
		r := make([]float64, len(devices))
		for k := range devices {
			r[k] = 0.25 + width[k]*w*w + depth[k]*dp
		}
		return r
	}
	point := func(step int, key string, acc float64, r []float64) Point {
		p := Point{Step: step, Key: key, Accuracy: acc, Ratio: r, LatencyMS: make([]float64, len(devices))}
		for k := range devices {
			p.LatencyMS[k] = r[k] * mnv2[k]
			if k != 6 { // s23_gpu is held out: not in the search's metrics
				p.Avg += r[k] / 6
				p.Max = max(p.Max, r[k])
			}
		}
		p.Reward = p.Accuracy - 30*max(0, p.Max-1)
		return p
	}
	rng := rand.New(rand.NewPCG(3, 4))
	d := &Data{
		Title:   "fleetnas search: multihw on mnv4 (supernet)",
		Devices: devices,
		Metric:  "max",
		Target:  0.78,
		HeldOut: []bool{false, false, false, false, false, false, true},
		Settings: [][2]string{
			{"space", "multihw"}, {"fleet", "mnv4"}, {"accuracy", "supernet:imagenet-100"},
			{"metric", "max"}, {"target", "0.78"}, {"beta", "-30"}, {"reward", "hard"},
			{"algorithm", "evolution"}, {"budget", strconv.Itoa(n)}, {"seed", "7"},
			{"holdout", "s23_gpu"},
		},
		Notes:       []string{"History accuracies are the supernet's on one validation batch each; the chosen network's on the whole split."},
		ChosenLabel: "chosen (whole validation split; the others one batch)",
	}
	for i := range n {
		// Evolution: later generations crowd the cheap, accurate corner.
		late := float64(i) / float64(n)
		w := 0.35 + 0.9*rng.Float64()*(1-0.4*late)
		dp := 0.2 + 0.7*rng.Float64()*(1-0.3*late)
		acc := 52 + 22*(1-math.Exp(-1.8*(w*w+dp))) + 2.5*rng.NormFloat64() + 3*late
		key := "multihw-" + strconv.Itoa(i) + "-" + strconv.Itoa(rng.IntN(1000))
		p := point(i/50, key, acc, ratios(w, dp))
		p.Entropy = math.NaN()
		d.History = append(d.History, p)
	}
	best := d.History[0]
	for _, p := range d.History {
		if p.Reward > best.Reward {
			best = p
		}
	}
	// Scored again on the whole split: the one-batch score was lucky.
	d.Chosen = best
	d.Chosen.Step = -1
	d.Chosen.Accuracy = best.Accuracy - 4.1
	var over []string
	for k, r := range d.Chosen.Ratio {
		if !d.HeldOut[k] && r > d.Target {
			over = append(over, devices[k])
		}
	}
	met := "yes: MAX " + fmtNum(d.Chosen.Max) + " ≤ " + fmtNum(d.Target)
	if len(over) > 0 {
		met = "no: MAX " + fmtNum(d.Chosen.Max) + " > " + fmtNum(d.Target) + " (" + strings.Join(over, ", ") + ")"
	}
	d.Summary = [][2]string{
		{"deployment target", "224x224x3, 1000 classes"},
		{"stand-alone test accuracy", "71.9% (trained 90 epochs from scratch)"},
		{"target met", met},
		{"held-out device", "s23_gpu: ratio " + fmtNum(d.Chosen.Ratio[6]) + " (MobileNetV2 = 1)"},
	}
	d.ParetoAVG = front(d.History, func(p *Point) float64 { return p.Avg })
	d.ParetoMAX = front(d.History, func(p *Point) float64 { return p.Max })
	for k := range devices {
		d.ParetoDevice = append(d.ParetoDevice, front(d.History, func(p *Point) float64 { return p.LatencyMS[k] }))
	}
	for _, z := range []struct {
		name string
		ms   []float64
	}{
		{"MobileNetV2", mnv2},
		{"MobileNetV3-Large", []float64{4.4, 0.9, 0.65, 4.6, 12.8, 3.7, 2.6}},
		{"MobileNetV3-Small", []float64{1.6, 0.55, 0.35, 2.2, 8.1, 1.3, 1.5}},
		{"MultiHW-AVG", []float64{5.6, 0.75, 0.72, 3.9, 13.1, 4.6, 2.9}},
		{"MultiHW-MAX", []float64{4.9, 0.7, 0.66, 3.8, 15.0, 4.0, 2.7}},
	} {
		r := make([]float64, len(devices))
		for k := range devices {
			r[k] = z.ms[k] / mnv2[k]
		}
		p := point(-1, z.name, math.NaN(), r)
		d.References = append(d.References, Reference{Name: z.name, Accuracy: math.NaN(), Avg: p.Avg, Max: p.Max, LatencyMS: z.ms, Ratio: r})
	}
	return d
}

// TestWriteSamples writes the two sample pages to look at in a browser:
//
//	FLEETNAS_REPORT_SAMPLES=/tmp go test ./report -run WriteSamples
//
// writes /tmp/report-a.html (nb201 on six devices, a reference with an
// accuracy) and /tmp/report-b.html (multihw on mnv4, zoo references
// without one, a held-out device, a chosen network on another basis).
func TestWriteSamples(t *testing.T) {
	dir := os.Getenv("FLEETNAS_REPORT_SAMPLES")
	if dir == "" {
		t.Skip("set FLEETNAS_REPORT_SAMPLES to a directory to write the sample pages")
	}
	for name, d := range map[string]*Data{"report-a.html": nb201Sample(t, 1000), "report-b.html": mnv4Sample(1500)} {
		if err := WriteFile(filepath.Join(dir, name), d); err != nil {
			t.Fatal(err)
		}
	}
}

// The samples are valid pages in every test run, not only when written.
func TestSamplesRender(t *testing.T) {
	for _, d := range []*Data{nb201Sample(t, 300), mnv4Sample(300)} {
		s := string(mustWrite(t, d))
		for _, r := range d.References {
			if !bytes.Contains([]byte(s), []byte(r.Name)) {
				t.Errorf("%s: page lacks reference %q", d.Title, r.Name)
			}
		}
	}
}

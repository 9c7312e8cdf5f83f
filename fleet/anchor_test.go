package fleet

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/data"
	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/latency/roofline"
	"github.com/fleetnas/fleetnas/space"
	"github.com/fleetnas/fleetnas/zoo"
)

// table6 reads MobileNetV4's Table 6 (Qin et al., ECCV 2024) from the
// embedded CSV, independently of the code under test: row -> device ->
// latency in ms, for the cells that hold a number.
func table6(t *testing.T) map[string]map[string]float64 {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(string(data.MustFile("published/mobilenetv4_table6.csv")), "\n") {
		if strings.TrimSpace(l) != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	recs, err := csv.NewReader(strings.NewReader(strings.Join(lines, "\n"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]float64{}
	for _, r := range recs[1:] {
		out[r[0]] = map[string]float64{}
		for j := 4; j < len(r); j++ { // model, top1, params, macs, then devices
			if v, err := strconv.ParseFloat(r[j], 64); err == nil {
				out[r[0]][recs[0][j]] = v
			}
		}
	}
	return out
}

// table6Step is Table 6's rounding: latencies are given to 0.1 ms, so a
// true latency lies within half a step of the printed one.
const table6Step = 0.1

// ratioBounds is the range of true ratios a/b consistent with Table 6's
// rounded a and b.
func ratioBounds(a, b float64) (lo, hi float64) {
	h := table6Step / 2
	return (a - h) / (b + h), (a + h) / (b - h)
}

func zooNet(t *testing.T, z *zoo.Zoo, model string, width float64) *latency.Net {
	t.Helper()
	nw, err := z.Build(model, zoo.Options{Width: width})
	if err != nil {
		t.Fatal(err)
	}
	n, err := latency.FromNetwork(nw, 0)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMNV4AnchoredOnTable6 is issue 12's check: on the mnv4 fleet, the
// reference MobileNetV2 has the latency Table 6 measured on every device,
// the ratios of MobileNet-MultiHW-MAX and -AVG at width 1.5 are Table 6's
// measured ratios on every device that measured them, the fleet orders
// the two on pixel7_gpu as the measurements do, and a network Table 6
// never measured is the roofline's prediction, marked as such.
func TestMNV4AnchoredOnTable6(t *testing.T) {
	if testing.Short() {
		t.Skip("calibrates seven devices")
	}
	z := mustZoo(t)
	f, err := Builtin("mnv4", z)
	if err != nil {
		t.Fatal(err)
	}
	tab := table6(t)
	ref := tab["MobileNet-V2"]

	t.Run("references", func(t *testing.T) {
		for _, d := range f.Devices {
			want, ok := ref[d.Name]
			if !ok {
				t.Fatalf("Table 6 has no MobileNet-V2 latency on %s", d.Name)
			}
			if d.RefMS != want || !d.RefMeasured || d.RefNetwork != "MobileNetV2 @224" {
				t.Errorf("%s: reference %s %g ms measured=%v, want MobileNetV2 @224 measured at %g ms", d.Name, d.RefNetwork, d.RefMS, d.RefMeasured, want)
			}
			// Ratio error over every held-out model but the reference.
			a := d.Accuracy
			if a.RatioN != a.N-1 || !(a.RatioMAPE > 0) || !(a.RatioWithin10 >= 0 && a.RatioWithin10 <= 1) {
				t.Errorf("%s: ratio error %+v", d.Name, a)
			}
			if s := a.String(); !strings.Contains(s, "ratio MAPE") {
				t.Errorf("%s: error summary %q lacks the ratio error", d.Name, s)
			}
		}
	})

	results := map[string]*Result{}
	for _, m := range []struct{ row, zoo string }{{"MultiHardware-MAX-1.5x", "MobileNetMultiMAX"}, {"MultiHardware-AVG-1.5x", "MobileNetMultiAVG"}} {
		r, err := f.Evaluate(zooNet(t, z, m.zoo, 1.5))
		if err != nil {
			t.Fatal(err)
		}
		results[m.row] = r
		t.Run(m.row, func(t *testing.T) {
			checked := 0
			for _, d := range r.Devices {
				lat, ok := tab[m.row][d.Name]
				if !ok {
					if d.Measured {
						t.Errorf("%s: Table 6 did not measure %s, yet the latency is marked measured", d.Name, m.row)
					}
					continue
				}
				checked++
				lo, hi := ratioBounds(lat, ref[d.Name])
				if !(d.Ratio >= lo && d.Ratio <= hi) || !d.Measured || !d.RefMeasured {
					t.Errorf("%s: ratio %.4f (measured=%v), want Table 6's %.1f/%.1f, in [%.4f, %.4f]", d.Name, d.Ratio, d.Measured, lat, ref[d.Name], lo, hi)
				}
			}
			if checked < 5 {
				t.Errorf("only %d devices measured %s; the CSV was misread", checked, m.row)
			}
		})
	}

	t.Run("pixel7_gpu order", func(t *testing.T) {
		const dev = "pixel7_gpu"
		maxMS, avgMS := tab["MultiHardware-MAX-1.5x"][dev], tab["MultiHardware-AVG-1.5x"][dev]
		if math.Abs(maxMS-avgMS) <= table6Step {
			t.Fatalf("Table 6's %g and %g ms are too close to order after rounding", maxMS, avgMS)
		}
		ratio := func(r *Result) float64 {
			for _, d := range r.Devices {
				if d.Name == dev {
					return d.Ratio
				}
			}
			t.Fatalf("no device %s", dev)
			return 0
		}
		rmax, ravg := ratio(results["MultiHardware-MAX-1.5x"]), ratio(results["MultiHardware-AVG-1.5x"])
		if (rmax > ravg) != (maxMS > avgMS) {
			t.Errorf("%s: fleet ratios MAX %.3f, AVG %.3f; Table 6 measured MAX %.1f ms, AVG %.1f ms", dev, rmax, ravg, maxMS, avgMS)
		}
	})

	t.Run("unmeasured networks are predicted", func(t *testing.T) {
		sp, err := space.Get("multihw")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range space.Sample(sp, 5, 12) {
			n, err := latency.FromSpace(sp, c, f.Resolution)
			if err != nil {
				t.Fatal(err)
			}
			r, err := f.Evaluate(n)
			if err != nil {
				t.Fatal(err)
			}
			for i, d := range r.Devices {
				pred, err := f.Devices[i].Model.(*roofline.Model).Predict(n)
				if err != nil {
					t.Fatal(err)
				}
				if d.Measured || d.LatencyMS != pred || d.Ratio != pred/ref[d.Name] {
					t.Errorf("%s on %s: %g ms measured=%v ratio %g, want the prediction %g over the measured reference", n.Key, d.Name, d.LatencyMS, d.Measured, d.Ratio, pred)
				}
			}
		}
	})

	t.Run("json", func(t *testing.T) {
		b, err := json.Marshal(f.Devices[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{`"reference_ms":5,`, `"reference_network":"MobileNetV2 @224"`, `"reference_measured":true`, `"mape_pct":`, `"ratio_mape_pct":`, `"ratio_within_10pct":`, `"ratio_n":12`} {
			if !bytes.Contains(b, []byte(k)) {
				t.Errorf("device JSON lacks %s: %s", k, b)
			}
		}
	})
}

// TestReferenceOverrides: the ratio error follows the reference a fleet
// file gives a device. A target makes the ratio error the latency error;
// a reference Table 6 measured is anchored; one it did not measure is
// predicted and has no known ratio error.
func TestReferenceOverrides(t *testing.T) {
	if testing.Short() {
		t.Skip("calibrates seven devices")
	}
	fl := `name: refs
devices:
  - name: target
    from: mnv4/pixel6_cpu
    reference: {target_ms: 10}
  - name: v2_075
    from: mnv4/pixel6_cpu
    reference: {model: MobileNetV2, width: 0.75}
  - name: avg
    from: mnv4/pixel6_cpu
    reference: {model: MobileNetMultiAVG, width: 1.5}
`
	f, err := Read([]byte(fl), "refs.yaml", t.TempDir(), mustZoo(t))
	if err != nil {
		t.Fatal(err)
	}
	tgt, v2, avg := f.Devices[0], f.Devices[1], f.Devices[2]
	a := tgt.Accuracy
	if tgt.RefMeasured || tgt.RefNetwork != "" || a.RatioN != a.N || math.Abs(a.RatioMAPE-a.MAPE) > 1e-9 || a.RatioWithin10 != a.Within10 {
		t.Errorf("target: %+v; a target reference makes the ratio error the latency error", tgt)
	}
	if v2.RefMeasured || v2.RefNetwork != "MobileNetV2 x0.75 @224" || v2.Accuracy.RatioN != 0 || strings.Contains(v2.Accuracy.String(), "ratio") {
		t.Errorf("unmeasured reference: %+v", v2)
	}
	want := table6(t)["MultiHardware-AVG-1.5x"]["pixel6_cpu"]
	if !avg.RefMeasured || avg.RefMS != want || avg.Accuracy.RatioN != avg.Accuracy.N-1 {
		t.Errorf("measured reference: %+v, want %g ms measured", avg, want)
	}
}

// TestTableReferencesMeasured: table devices are measurements, so the
// nb201-mobile references and every latency they give are marked
// measured; the analytic ridge-point devices measured nothing.
func TestTableReferencesMeasured(t *testing.T) {
	z := mustZoo(t)
	f, err := Builtin("nb201-mobile", z)
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := space.Get("nb201")
	c, _ := sp.Parse(NB201ResNet)
	n, _ := latency.FromSpace(sp, c, 0)
	r, err := f.Evaluate(n)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range f.Devices {
		if !d.RefMeasured || !r.Devices[i].Measured || d.Accuracy.RatioN != 0 {
			t.Errorf("%s: reference measured=%v, latency measured=%v, ratio n %d", d.Name, d.RefMeasured, r.Devices[i].Measured, d.Accuracy.RatioN)
		}
	}
	rp, err := Builtin("ridgepoint", z)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range rp.Devices {
		if d.RefMeasured || d.RefNetwork != "MobileNetV2 @224" {
			t.Errorf("%s: reference %q measured=%v", d.Name, d.RefNetwork, d.RefMeasured)
		}
	}
}

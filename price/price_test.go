package price

import (
	"bytes"
	"encoding/csv"
	"errors"
	"math"
	"strconv"
	"sync"
	"testing"

	"github.com/fleetnas/fleetnas/data"
	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/metric"
	"github.com/fleetnas/fleetnas/setting"
	"github.com/fleetnas/fleetnas/space"
)

// TestPricesFromTheCSV prices NAS-Bench-201 cells and compares every
// device's ratio and the fleet metrics with the shared CSV's latencies
// divided by the ResNet cell's, computed here without the fleet or metric
// code.
func TestPricesFromTheCSV(t *testing.T) {
	rows, err := csv.NewReader(bytes.NewReader(data.MustFile("nb201/nb201_multidevice.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	devices := []string{"pixel3", "raspi4", "eyeriss", "fpga", "pixel2", "samsung_s7"}
	lat := func(row []string) []float64 {
		var out []float64
		for _, d := range devices {
			v, err := strconv.ParseFloat(row[col[d+"_ms"]], 64)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
		return out
	}
	var ref []float64
	for _, r := range rows[1:] {
		if r[col["arch_str"]] == "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|" {
			ref = lat(r)
		}
	}
	p, err := Open(Settings{Space: "nb201", Fleet: "nb201-mobile", Metric: metric.Metric{Kind: metric.KindAvg}, Holdout: []string{"fpga"}})
	if err != nil {
		t.Fatal(err)
	}
	max, err := p.WithMetric(metric.Metric{Kind: metric.KindMax})
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := space.Get("nb201")
	for _, r := range rows[1:200] {
		c, err := sp.Parse(r[col["arch_str"]])
		if err != nil {
			t.Fatal(err)
		}
		pa, err := p.Price(c)
		if err != nil {
			t.Fatal(err)
		}
		pm, err := max.Price(c) // from the shared cache
		if err != nil {
			t.Fatal(err)
		}
		var sum, worst, all float64
		for i, l := range lat(r) {
			ratio := l / ref[i]
			if math.Abs(pa.Ratio[i]-ratio) > 1e-12*ratio || pa.LatencyMS[i] != l {
				t.Fatalf("%s on %s: ratio %v latency %v, the CSV gives %v and %v", pa.Key, devices[i], pa.Ratio[i], pa.LatencyMS[i], ratio, l)
			}
			all = math.Max(all, ratio)
			if devices[i] != "fpga" {
				sum += ratio
				worst = math.Max(worst, ratio)
			}
		}
		if math.Abs(pa.Metric-sum/5) > 1e-12 || math.Abs(pm.Metric-worst) > 1e-12 || pm.AllMax != all || pa.Avg != pm.Avg {
			t.Fatalf("%s: AVG %v MAX %v (all %v), want %v, %v (%v)", pa.Key, pa.Metric, pm.Metric, pm.AllMax, sum/5, worst, all)
		}
	}
}

// TestConcurrentPricing: pricers are shared by concurrent searches (run
// with -race).
func TestConcurrentPricing(t *testing.T) {
	p, err := Open(Settings{Space: "nb201", Fleet: "nb201-mobile", Metric: metric.Metric{Kind: metric.KindMax}})
	if err != nil {
		t.Fatal(err)
	}
	draws := space.Sample(p.Space(), 50, 1)
	want := make([]float64, len(draws))
	for i, c := range draws {
		n, err := p.Network(c)
		if err != nil {
			t.Fatal(err)
		}
		r, err := p.Fleet().Evaluate(n)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = r.Max
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range draws {
				k := (i + g*13) % len(draws)
				got, err := p.Price(draws[k])
				if err != nil || got.Metric != want[k] {
					t.Errorf("%v: %v, %v want %v", draws[k], err, got.Metric, want[k])
				}
			}
		}()
	}
	wg.Wait()
}

func TestOpenErrors(t *testing.T) {
	for _, c := range []struct {
		s    Settings
		name string
	}{
		{Settings{Space: "darts", Fleet: "nb201-mobile", Metric: metric.Metric{Kind: metric.KindMax}}, "space"},
		{Settings{Space: "nb201", Fleet: "", Metric: metric.Metric{Kind: metric.KindMax}}, "fleet"},
		{Settings{Space: "nb201", Fleet: "nowhere.yaml", Metric: metric.Metric{Kind: metric.KindMax}}, "fleet"},
		{Settings{Space: "nb201", Fleet: "nb201-mobile"}, "metric"},
		{Settings{Space: "nb201", Fleet: "nb201-mobile", Metric: metric.Metric{Kind: metric.KindMax}, Resolution: -1}, "resolution"},
		{Settings{Space: "nb201", Fleet: "nb201-mobile", Metric: metric.Metric{Kind: metric.KindMax}, Holdout: []string{"x"}}, "holdout"},
	} {
		_, err := Open(c.s)
		var e *setting.Error
		if !errors.As(err, &e) || e.Name != c.name {
			t.Errorf("%+v: %v, want an error about %s", c.s, err, c.name)
		}
	}
}

// TestResolutionCheckedAtOpen: Open refuses a resolution no network can
// be built at by building the space's first network (all choices 0),
// which must therefore build in every space at any sane resolution.
func TestResolutionCheckedAtOpen(t *testing.T) {
	for _, name := range space.Names() {
		sp, _ := space.Get(name)
		for _, r := range []int{0, sp.DefaultResolution() / 2, sp.DefaultResolution() * 2} {
			// ridgepoint's reference, MobileNetV2, runs from 32 px on.
			if _, err := Open(Settings{Space: name, Fleet: "ridgepoint", Metric: metric.Metric{Kind: metric.KindMax}, Resolution: r}); err != nil && r >= 32 {
				t.Errorf("%s at %d: %v", name, r, err)
			}
			if _, err := latency.FromSpace(sp, make([]int, len(sp.Decisions())), r); err != nil {
				t.Errorf("%s at %d: %v", name, r, err)
			}
		}
	}
	_, err := Open(Settings{Space: "nb201", Fleet: "nb201-mobile", Metric: metric.Metric{Kind: metric.KindMax}, Resolution: 100000})
	var e *setting.Error
	if !errors.As(err, &e) || e.Name != "resolution" {
		t.Errorf("resolution 100000: %v", err)
	}
}

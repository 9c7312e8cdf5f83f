package fleet

import (
	"testing"

	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/metric"
	"github.com/fleetnas/fleetnas/space"
)

// nb201Nets returns all 15,625 cells as Nets carrying only their identity
// (table devices need no graph).
func nb201Nets(t testing.TB) []*latency.Net {
	sp, err := space.Get("nb201")
	if err != nil {
		t.Fatal(err)
	}
	var nets []*latency.Net
	var rec func(prefix []int)
	rec = func(prefix []int) {
		if len(prefix) == 6 {
			c := append([]int(nil), prefix...)
			k, _ := sp.Format(c)
			nets = append(nets, &latency.Net{Space: "nb201", Choice: c, Key: k})
			return
		}
		for i := 0; i < 5; i++ {
			rec(append(prefix, i))
		}
	}
	rec(nil)
	return nets
}

// BenchmarkNB201Exhaustive prices every NAS-Bench-201 cell on the six
// nb201-mobile devices and computes AVG and MAX, the inner loop of an
// exhaustive search. It reports device evaluations per second, and the
// same loop over string-keyed maps (the obvious implementation) as the
// baseline measured in the same process.
func BenchmarkNB201Exhaustive(b *testing.B) {
	f, err := Builtin("nb201-mobile", mustZoo(b))
	if err != nil {
		b.Fatal(err)
	}
	nets := nb201Nets(b)
	w := f.Weights()
	nd := len(f.Devices)
	b.Run("dense", func(b *testing.B) {
		r := make([]float64, nd)
		var sink float64
		for i := 0; i < b.N; i++ {
			for _, n := range nets {
				if err := f.Ratios(n, r); err != nil {
					b.Fatal(err)
				}
				sink += metric.Avg(r, w) + metric.Max(r)
			}
		}
		b.ReportMetric(float64(b.N*len(nets)*nd)/b.Elapsed().Seconds(), "device-evals/s")
		_ = sink
	})
	b.Run("map-baseline", func(b *testing.B) {
		maps := make([]map[string]float64, nd)
		for j, d := range f.Devices {
			maps[j] = map[string]float64{}
			for _, n := range nets {
				v, _ := d.Model.Latency(n)
				maps[j][n.Key] = v
			}
		}
		r := make([]float64, nd)
		var sink float64
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for _, n := range nets {
				for j, d := range f.Devices {
					r[j] = maps[j][n.Key] / d.RefMS
				}
				sink += metric.Avg(r, w) + metric.Max(r)
			}
		}
		b.ReportMetric(float64(b.N*len(nets)*nd)/b.Elapsed().Seconds(), "device-evals/s")
		_ = sink
	})
}

// TestNB201ExhaustiveCovers: every cell is priced on every device (the
// table is complete), so the benchmark measures real lookups.
func TestNB201ExhaustiveCovers(t *testing.T) {
	f, err := Builtin("nb201-mobile", mustZoo(t))
	if err != nil {
		t.Fatal(err)
	}
	r := make([]float64, len(f.Devices))
	for _, n := range nb201Nets(t) {
		if err := f.Ratios(n, r); err != nil {
			t.Fatal(err)
		}
	}
}

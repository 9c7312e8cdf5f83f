package linear

import (
	"testing"

	"github.com/fleetnas/fleetnas/latency"
)

// benchModel fits opt on all 5,000 Pixel 2 measurements.
func benchModel(b *testing.B, opt Options) (*Model, [][]int, []float64) {
	b.Helper()
	choices, pixel2, _, err := FBNetPhones()
	if err != nil {
		b.Fatal(err)
	}
	m, err := Fit("fbnet", fbnet(b).Decisions(), choices, pixel2, opt)
	if err != nil {
		b.Fatal(err)
	}
	return m, choices, pixel2
}

// BenchmarkLatency is the search-loop cost of pricing one network.
func BenchmarkLatency(b *testing.B) {
	for _, o := range []struct {
		name string
		opt  Options
	}{{"additive", TuNAS()}, {"robust", Robust()}, {"pairwise", Options{Kind: Pairwise, Log: true, Ridge: 1, PairRidge: 300}}} {
		b.Run(o.name, func(b *testing.B) {
			m, choices, _ := benchModel(b, o.opt)
			nets := make([]*latency.Net, 64)
			for i := range nets {
				nets[i] = &latency.Net{Space: "fbnet", Choice: choices[i]}
			}
			b.ReportAllocs()
			var sink float64
			for i := 0; b.Loop(); i++ {
				v, err := m.Latency(nets[i%len(nets)])
				if err != nil {
					b.Fatal(err)
				}
				sink += v
			}
			_ = sink
		})
	}
}

// BenchmarkFit is the cost of one fit on 5,000 measurements.
func BenchmarkFit(b *testing.B) {
	choices, pixel2, _, err := FBNetPhones()
	if err != nil {
		b.Fatal(err)
	}
	ds := fbnet(b).Decisions()
	for _, o := range []struct {
		name string
		opt  Options
	}{{"additive", TuNAS()}, {"robust", Robust()}, {"pairwise", Options{Kind: Pairwise, Log: true, Ridge: 1, PairRidge: 300}}} {
		b.Run(o.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Fit("fbnet", ds, choices, pixel2, o.opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

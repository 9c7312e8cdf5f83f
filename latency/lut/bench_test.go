package lut

import (
	"testing"

	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/space"
)

func BenchmarkFBNetBuild(b *testing.B) {
	for b.Loop() {
		if _, err := FBNet("pixel3"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNote10Build(b *testing.B) {
	for b.Loop() {
		if _, err := Note10(224); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLatencyProxyless is the cost of pricing one lowered network,
// what a search loop pays per candidate.
func BenchmarkLatencyProxyless(b *testing.B) {
	tb, err := Pixel1()
	if err != nil {
		b.Fatal(err)
	}
	sp, _ := space.Get("proxyless")
	net, err := latency.FromSpace(sp, space.Sample(sp, 1, 9)[0], 0)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := tb.Latency(net); err != nil {
			b.Fatal(err)
		}
	}
}

package fleet

import (
	"math"
	"testing"

	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/space"
	"github.com/fleetnas/fleetnas/zoo"
)

func mustZoo(t testing.TB) *zoo.Zoo {
	z, err := zoo.New()
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// TestNB201MobileByHand: arch_idx 1 of the shared CSV against the ResNet
// cell, ratios computed by hand from the two CSV rows.
func TestNB201MobileByHand(t *testing.T) {
	f, err := Builtin("nb201-mobile", mustZoo(t))
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := space.Get("nb201")
	const s = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
	c, _ := sp.Parse(s)
	n, err := latency.FromSpace(sp, c, 0)
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.Evaluate(n)
	if err != nil {
		t.Fatal(err)
	}
	// The ResNet cell's row of the shared CSV (arch_idx 11472), copied by hand.
	ref := map[string]float64{"pixel3": 14.72, "raspi4": 34.96, "eyeriss": 4.629, "fpga": 3.648, "pixel2": 17, "samsung_s7": 23}
	lat := map[string]float64{"pixel3": 17.24, "raspi4": 54.78, "eyeriss": 7.578, "fpga": 5.315, "pixel2": 17, "samsung_s7": 62}
	var sum, mx float64
	for _, d := range r.Devices {
		want := lat[d.Name] / ref[d.Name]
		if math.Abs(d.Ratio-want) > 1e-12 || d.LatencyMS != lat[d.Name] {
			t.Errorf("%s: ratio %g latency %g, want %g %g", d.Name, d.Ratio, d.LatencyMS, want, lat[d.Name])
		}
		sum += want
		mx = math.Max(mx, want)
	}
	if math.Abs(r.Avg-sum/6) > 1e-12 || r.Max != mx {
		t.Errorf("avg %g max %g, want %g %g", r.Avg, r.Max, sum/6, mx)
	}
	// The reference network itself has ratio 1 everywhere.
	rc, _ := sp.Parse(NB201ResNet)
	rn, _ := latency.FromSpace(sp, rc, 0)
	rr, err := f.Evaluate(rn)
	if err != nil {
		t.Fatal(err)
	}
	if rr.Avg != 1 || rr.Max != 1 {
		t.Errorf("reference: avg %g max %g", rr.Avg, rr.Max)
	}
}

func TestUnknownFleet(t *testing.T) {
	if _, err := Builtin("iphones", mustZoo(t)); err == nil {
		t.Error("unknown fleet accepted")
	}
}

// TestLUTFleetsCoverTheirSpaces: every sampled network of the space a LUT
// fleet is made for prices without a missing entry.
func TestLUTFleetsCoverTheirSpaces(t *testing.T) {
	z := mustZoo(t)
	for _, c := range []struct{ fleet, space string }{{"note10", "ofa"}, {"pixel1", "proxyless"}, {"fbnet-lut", "fbnet"}} {
		f, err := Builtin(c.fleet, z)
		if err != nil {
			t.Fatal(err)
		}
		sp, _ := space.Get(c.space)
		for _, ch := range space.Sample(sp, 50, 3) {
			n, err := latency.FromSpace(sp, ch, f.Resolution)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Evaluate(n); err != nil {
				t.Errorf("%s: %v", c.fleet, err)
			}
		}
	}
}

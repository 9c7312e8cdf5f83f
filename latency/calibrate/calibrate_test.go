package calibrate

import (
	"testing"

	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/latency/linear"
	"github.com/fleetnas/fleetnas/space"
)

func fbnet(t *testing.T, device string, n int) (space.Space, *latency.Measurements) {
	t.Helper()
	sp, err := space.Get("fbnet")
	if err != nil {
		t.Fatal(err)
	}
	choices, byDev, err := linear.FBNetTables()
	if err != nil {
		t.Fatal(err)
	}
	_, p2, s7, err := linear.FBNetPhones()
	if err != nil {
		t.Fatal(err)
	}
	byDev["pixel2"], byDev["samsung_s7"] = p2, s7
	m := &latency.Measurements{Space: "fbnet"}
	for i := 0; i < n; i++ {
		k, _ := sp.Format(choices[i])
		m.Choices = append(m.Choices, choices[i])
		m.Keys = append(m.Keys, k)
		m.MS = append(m.MS, byDev[device][i])
	}
	return sp, m
}

// TestLUTFitOnTableDevice: HW-NAS-Bench's Pixel 3 column is an exact sum
// of a per-op table, so a per-signature table fitted to 1,000 networks
// must predict held-out networks to rounding error.
func TestLUTFitOnTableDevice(t *testing.T) {
	sp, m := fbnet(t, "pixel3", 1000)
	r, err := Run(sp, m, Options{Kind: "lut", Folds: 5, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Accuracy.MAPE > 0.01 || r.Accuracy.Within5 != 1 {
		t.Errorf("held-out error on an additive device: %+v", r.Accuracy)
	}
}

// TestCalibrateKinds runs every kind on 400 real phone measurements: each
// must give a usable held-out error; the figures themselves are measured
// in the note, not asserted.
func TestCalibrateKinds(t *testing.T) {
	sp, m := fbnet(t, "pixel2", 400)
	for _, k := range []Options{{Kind: "linear"}, {Kind: "linear", Linear: "additive"}, {Kind: "lut"}, {Kind: "roofline", Folds: 3}} {
		r, err := Run(sp, m, k)
		if err != nil {
			t.Fatalf("%+v: %v", k, err)
		}
		t.Logf("%s/%s: %s", k.Kind, k.Linear, r.Accuracy)
		if r.Accuracy.N != 400 || !(r.Accuracy.MAPE < 60) || r.Accuracy.Spearman < 0.3 {
			t.Errorf("%+v: %+v", k, r.Accuracy)
		}
	}
	if _, err := Run(sp, m, Options{Kind: "oracle"}); err == nil {
		t.Error("unknown kind accepted")
	}
	if _, err := Run(sp, m, Options{Folds: 1000}); err == nil {
		t.Error("more folds than networks accepted")
	}
}

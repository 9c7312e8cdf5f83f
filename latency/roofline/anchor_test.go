package roofline

import (
	"math"
	"slices"
	"testing"

	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/space"
	"github.com/fleetnas/fleetnas/zoo"
)

// TestAnchoredModel: an anchored roofline returns the measurement for a
// measured network (found by structure), predicts every other network as
// the plain model does, and leaves the plain model alone. The 5 ms
// measurement is an arbitrary test value.
func TestAnchoredModel(t *testing.T) {
	z, err := zoo.New()
	if err != nil {
		t.Fatal(err)
	}
	build := func(model string, width float64) *latency.Net {
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
	v2, max := build("MobileNetV2", 1), build("MobileNetMultiMAX", 1)
	prior, _, err := MNV4Prior("pixel6_cpu")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := New(prior)
	if err != nil {
		t.Fatal(err)
	}
	known, err := latency.NewLookup([]latency.MeasuredNet{{Name: "MobileNetV2", Net: v2, MS: 5}})
	if err != nil {
		t.Fatal(err)
	}
	m := plain.Anchored(known)

	if ms, err := m.Latency(v2); err != nil || ms != 5 {
		t.Errorf("measured network: %g %v, want 5", ms, err)
	}
	if ms, meas, _ := latency.Of(m, v2); ms != 5 || !meas {
		t.Errorf("measured network: Of says %g %v", ms, meas)
	}
	want, err := plain.Latency(v2)
	if err != nil || want == 5 {
		t.Fatalf("plain model: %g %v (it must predict, not measure)", want, err)
	}
	if got, _ := m.Predict(v2); got != want {
		t.Errorf("Predict of the measured network %g, want the roofline's %g", got, want)
	}
	if latency.IsMeasured(plain, v2) || plain.Measurements() != nil {
		t.Error("Anchored changed the plain model")
	}
	// The multihw space's Multi-MAX is not measured: predicted, marked so.
	sp, _ := space.Get("multihw")
	c, _ := sp.Parse(space.MultiMAXChoice)
	smax, err := latency.FromSpace(sp, c, 224)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []*latency.Net{max, smax} {
		got, meas, err := latency.Of(m, n)
		want, _ := plain.Latency(n)
		if err != nil || meas || got != want {
			t.Errorf("%s: %g measured=%v %v, want the prediction %g", n.Key, got, meas, err, want)
		}
	}
	bp, _ := plain.Breakdown(v2)
	ba, _ := m.Breakdown(v2)
	if !slices.Equal(bp, ba) {
		t.Error("Breakdown of the anchored model is not the prediction's")
	}
	if m.Params().PeakGMACs != prior.PeakGMACs {
		t.Error("Anchored changed the parameters")
	}
	if plain.Anchored(nil).Measurements() != nil || plain.Anchored(&latency.Lookup{}).Measurements() != nil {
		t.Error("an empty lookup is kept")
	}
}

// TestMNV4DevicesAnchored: every Table 6 row a device was calibrated on
// is answered with its measurement, and the held-out predictions a device
// carries are the ones its Accuracy scores.
func TestMNV4DevicesAnchored(t *testing.T) {
	if testing.Short() {
		t.Skip("calibrates seven devices")
	}
	z, err := zoo.New()
	if err != nil {
		t.Fatal(err)
	}
	devs, err := MNV4Devices(z)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if len(d.HeldOut) != d.Samples || d.Model.Measurements().Len() != d.Samples {
			t.Errorf("%s: %d held out, %d measured, %d samples", d.Name, len(d.HeldOut), d.Model.Measurements().Len(), d.Samples)
		}
		pred := make([]float64, len(d.HeldOut))
		meas := make([]float64, len(d.HeldOut))
		for i, h := range d.HeldOut {
			pred[i], meas[i] = h.PredictedMS, h.MeasuredMS
			got, measured, err := latency.Of(d.Model, h.Net)
			if err != nil || !measured || got != h.MeasuredMS {
				t.Errorf("%s on %s: %g measured=%v %v, want the measurement %g", h.Name, d.Name, got, measured, err, h.MeasuredMS)
			}
		}
		a, err := latency.Score("", pred, meas)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(a.MAPE-d.Accuracy.MAPE) > 1e-9 || a.Kendall != d.Accuracy.Kendall {
			t.Errorf("%s: held-out predictions score MAPE %g, Accuracy says %g", d.Name, a.MAPE, d.Accuracy.MAPE)
		}
	}
}

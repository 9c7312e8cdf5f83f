package metric

import (
	"math"
	"strings"
	"testing"
)

func TestMetricsByHand(t *testing.T) {
	r, err := Ratios([]float64{10, 30, 5}, []float64{20, 20, 5})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.5, 1.5, 1}
	for i := range r {
		if r[i] != want[i] {
			t.Fatalf("ratios %v", r)
		}
	}
	if a := Avg(r, nil); a != 1 {
		t.Errorf("avg %g", a)
	}
	// Weights 2,1,1: (1 + 1.5 + 1)/4.
	if a := Avg(r, []float64{2, 1, 1}); a != 3.5/4 {
		t.Errorf("weighted avg %g", a)
	}
	if m := Max(r); m != 1.5 {
		t.Errorf("max %g", m)
	}
	if _, err := Ratios([]float64{1}, []float64{0}); err == nil {
		t.Error("zero reference accepted")
	}
}

func TestRewards(t *testing.T) {
	abs, _ := ParseReward("abs", 1, -0.5)
	if v := abs.Of(0.7, 1.2); math.Abs(v-(0.7-0.1)) > 1e-12 {
		t.Errorf("abs over: %g", v)
	}
	if v := abs.Of(0.7, 0.8); math.Abs(v-(0.7-0.1)) > 1e-12 {
		t.Errorf("abs under (symmetric): %g", v)
	}
	mnas, _ := ParseReward("mnas", 2, -0.07)
	if v := mnas.Of(0.75, 4); math.Abs(v-0.75*math.Pow(2, -0.07)) > 1e-12 {
		t.Errorf("mnas: %g", v)
	}
	hard, _ := ParseReward("hard", 1, 0)
	if hard.Of(0.7, 0.9) != 0.7 || hard.Of(0.7, 2) != 0.35 {
		t.Errorf("hard: %g %g", hard.Of(0.7, 0.9), hard.Of(0.7, 2))
	}
	for _, bad := range []struct {
		k    string
		t, b float64
	}{{"abs", 1, 0.1}, {"abs", 0, -1}, {"abs", math.NaN(), -1}, {"lin", 1, -1}} {
		if _, err := ParseReward(bad.k, bad.t, bad.b); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}

func TestParse(t *testing.T) {
	for _, c := range []struct {
		s    string
		want Metric
	}{{"avg", Metric{Kind: KindAvg}}, {"max", Metric{Kind: KindMax}}, {"device:pixel3", Metric{Kind: KindDevice, Device: "pixel3"}}} {
		m, err := Parse(c.s)
		if err != nil || m != c.want || m.String() != c.s {
			t.Errorf("%s: %+v %v", c.s, m, err)
		}
		var back Metric
		b, _ := m.MarshalText()
		if err := back.UnmarshalText(b); err != nil || back != m {
			t.Errorf("%s: text round trip gave %+v, %v", c.s, back, err)
		}
	}
	for _, s := range []string{"mean", "device:", "MAX"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

// TestScope works a three-device fleet by hand: ratios 0.5, 1.5, 1 with
// weights 2, 1, 1, the second device held out.
func TestScope(t *testing.T) {
	devices, weights := []string{"a", "b", "c"}, []float64{2, 1, 1}
	ratios := []float64{0.5, 1.5, 1}
	for _, c := range []struct {
		m      string
		metric float64
	}{{"avg", 2.0 / 3}, {"max", 1}, {"device:c", 1}, {"device:a", 0.5}} {
		m, _ := Parse(c.m)
		s, err := NewScope(m, devices, weights, []string{"b"})
		if err != nil {
			t.Fatal(err)
		}
		v := s.Of(ratios)
		// Searched devices a, c: (2*0.5 + 1)/3 and max(0.5, 1); all
		// devices: (2*0.5 + 1.5 + 1)/4 and 1.5.
		if math.Abs(v.Avg-2.0/3) > 1e-15 || v.Max != 1 || v.AllAvg != 3.5/4 || v.AllMax != 1.5 || math.Abs(v.Metric-c.metric) > 1e-15 {
			t.Errorf("%s: %+v", c.m, v)
		}
		if h := s.HeldOut(); h[0] || !h[1] || h[2] {
			t.Errorf("held out %v", h)
		}
	}
	for _, c := range []struct {
		m       string
		heldOut []string
		want    string
	}{
		{"device:b", []string{"b"}, "metric: device:b is held out"},
		{"device:z", nil, `metric: no device "z"`},
		{"avg", []string{"z"}, `holdout: no device "z"`},
		{"max", []string{"a", "b", "c"}, "holdout: leaves no device"},
	} {
		m, _ := Parse(c.m)
		if _, err := NewScope(m, devices, weights, c.heldOut); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s held out %v: %v, want %q", c.m, c.heldOut, err, c.want)
		}
	}
	if _, err := NewScope(Metric{}, devices, weights, nil); err == nil {
		t.Error("the zero metric was accepted")
	}
}

// TestFeasibility works the three-device fleet of TestScope by hand at
// target 0.9 (ratios 0.5, 1.5, 1; weights 2, 1, 1; b held out).
func TestFeasibility(t *testing.T) {
	devices, weights := []string{"a", "b", "c"}, []float64{2, 1, 1}
	ratios := []float64{0.5, 1.5, 1}
	for _, c := range []struct {
		m    string
		met  bool
		miss float64
		over []string
	}{
		{"avg", true, 0, []string{"c"}},          // AVG 2/3 <= 0.9; c alone is over
		{"max", false, 1/0.9 - 1, []string{"c"}}, // MAX 1 > 0.9
		{"device:a", true, 0, nil},
		{"device:c", false, 1/0.9 - 1, []string{"c"}},
	} {
		m, _ := Parse(c.m)
		s, err := NewScope(m, devices, weights, []string{"b"})
		if err != nil {
			t.Fatal(err)
		}
		f := s.Feasibility(ratios, 0.9)
		if f.Met != c.met || math.Abs(f.Miss-c.miss) > 1e-12 || strings.Join(f.Over, ",") != strings.Join(c.over, ",") {
			t.Errorf("%s: %+v", c.m, f)
		}
		if want := map[bool]string{true: "target met", false: "target missed"}[c.met]; !strings.HasPrefix(f.String(), want) {
			t.Errorf("%s: %q", c.m, f)
		}
	}
}

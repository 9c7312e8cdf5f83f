package metric

import (
	"math"
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

func TestParseKind(t *testing.T) {
	for _, s := range []string{"avg", "max", "device:pixel3"} {
		k, err := ParseKind(s)
		if err != nil || k.String() != s {
			t.Errorf("%s: %v %v", s, k, err)
		}
	}
	for _, s := range []string{"mean", "device:", ""} {
		if _, err := ParseKind(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

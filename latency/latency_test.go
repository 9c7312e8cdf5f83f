package latency

import (
	"math"
	"testing"
)

// TestScoreByHand checks every statistic on a case worked out by hand.
func TestScoreByHand(t *testing.T) {
	meas := []float64{10, 20, 30, 40}
	pred := []float64{11, 19, 36, 38} // APEs 10%, 5%, 20%, 5%
	a, err := Score("hand", pred, meas)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(a.MAPE-10) > 1e-12 {
		t.Errorf("MAPE %g, want 10", a.MAPE)
	}
	if math.Abs(a.MedianAPE-7.5) > 1e-12 {
		t.Errorf("median APE %g, want 7.5", a.MedianAPE)
	}
	if want := math.Sqrt((1 + 1 + 36 + 4) / 4.0); math.Abs(a.RMSE-want) > 1e-12 {
		t.Errorf("RMSE %g, want %g", a.RMSE, want)
	}
	if a.Within5 != 0.5 || a.Within10 != 0.75 {
		t.Errorf("within 5/10: %g %g, want 0.5 0.75", a.Within5, a.Within10)
	}
	// Same order: both rank correlations are 1.
	if a.Spearman != 1 || a.Kendall != 1 {
		t.Errorf("rank correlations %g %g", a.Spearman, a.Kendall)
	}
	// One swapped pair out of 6: tau = (5-1)/6; Spearman 1 - 6*2/(4*15) = 0.8.
	b, _ := Score("swap", []float64{1, 3, 2, 4}, meas)
	if math.Abs(b.Kendall-4.0/6) > 1e-12 || math.Abs(b.Spearman-0.8) > 1e-12 {
		t.Errorf("swapped: Kendall %g Spearman %g", b.Kendall, b.Spearman)
	}
}

func TestScoreRejects(t *testing.T) {
	if _, err := Score("x", []float64{1}, []float64{1}); err == nil {
		t.Error("one measurement accepted")
	}
	if _, err := Score("x", []float64{1, 2}, []float64{0, 2}); err == nil {
		t.Error("zero latency accepted")
	}
	if _, err := Score("x", []float64{math.NaN(), 2}, []float64{1, 2}); err == nil {
		t.Error("NaN prediction accepted")
	}
}

func TestRanksTies(t *testing.T) {
	r := ranks([]float64{5, 1, 5, 3})
	want := []float64{3.5, 1, 3.5, 2}
	for i := range r {
		if r[i] != want[i] {
			t.Fatalf("ranks %v, want %v", r, want)
		}
	}
}

func TestFolds(t *testing.T) {
	f := Folds(10, 3, 1)
	count := map[int]int{}
	for _, x := range f {
		count[x]++
	}
	if len(count) != 3 || count[0]+count[1]+count[2] != 10 || count[0] < 3 || count[0] > 4 {
		t.Errorf("fold sizes %v", count)
	}
	g := Folds(10, 3, 1)
	for i := range f {
		if f[i] != g[i] {
			t.Fatal("folds depend on something besides the seed")
		}
	}
	if l := Folds(5, 0, 1); len(l) != 5 {
		t.Errorf("leave-one-out: %v", l)
	}
}

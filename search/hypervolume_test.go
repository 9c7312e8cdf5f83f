package search

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestHypervolumeByHand(t *testing.T) {
	ref := Ref{Accuracy: 0, Cost: 10}
	cases := []struct {
		name string
		ps   []Point
		want float64
	}{
		{"empty", nil, 0},
		{"one", []Point{pt(5, 0, 2)}, 5 * 8},
		// Staircase: (cost 2, acc 3), (4, 6), (8, 7):
		// [2,4)*3 + [4,8)*6 + [8,10)*7 = 6 + 24 + 14.
		{"staircase", []Point{pt(6, 1, 4), pt(3, 0, 2), pt(7, 2, 8)}, 44},
		// A dominated point and points beyond the reference add nothing.
		{"dominated", []Point{pt(3, 0, 2), pt(6, 1, 4), pt(7, 2, 8), pt(5, 3, 5), pt(9, 4, 11), pt(-1, 5, 1)}, 44},
		{"duplicates", []Point{pt(5, 0, 2), pt(5, 1, 2)}, 40},
	}
	for _, c := range cases {
		got, err := Hypervolume(c.ps, 0, ref)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: hypervolume %g, want %g", c.name, got, c.want)
		}
	}
	rel, err := RelativeHypervolume([]Point{pt(3, 0, 2)}, cases[2].ps, 0, ref)
	if err != nil || math.Abs(rel-24.0/44) > 1e-12 {
		t.Errorf("relative hypervolume %g (%v), want %g", rel, err, 24.0/44)
	}
	if _, err := RelativeHypervolume(nil, nil, 0, ref); err == nil {
		t.Error("relative hypervolume of an empty truth: want an error")
	}
	if _, err := Hypervolume([]Point{pt(1, 0, 1)}, 1, ref); err == nil {
		t.Error("missing objective: want an error")
	}
	if _, err := Hypervolume(nil, 0, Ref{Accuracy: math.NaN()}); err == nil {
		t.Error("NaN reference: want an error")
	}
	if _, err := Hypervolume([]Point{pt(math.Inf(1), 0, 1)}, 0, ref); err == nil {
		t.Error("infinite point: want an error")
	}
}

// TestHypervolumeGrid compares with midpoint integration of the dominated
// indicator over a fine grid.
func TestHypervolumeGrid(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 11))
	ref := Ref{Accuracy: 0.2, Cost: 0.9}
	for trial := range 10 {
		var ps []Point
		for i := range 1 + r.IntN(12) {
			ps = append(ps, pt(r.Float64(), i, r.Float64(), r.Float64()))
		}
		for k := range 2 {
			got, err := Hypervolume(ps, k, ref)
			if err != nil {
				t.Fatal(err)
			}
			const n = 600
			var cells int
			for i := range n {
				acc := ref.Accuracy + (1-ref.Accuracy)*(float64(i)+0.5)/n
				for j := range n {
					cost := ref.Cost * (float64(j) + 0.5) / n
					for _, p := range ps {
						if p.Accuracy >= acc && p.Cost[k] <= cost {
							cells++
							break
						}
					}
				}
			}
			grid := float64(cells) * (1 - ref.Accuracy) * ref.Cost / (n * n)
			// The error is at most the staircase's perimeter times a cell.
			tol := 2 * float64(len(ps)+1) * (1.0 / n)
			if math.Abs(got-grid) > tol {
				t.Errorf("trial %d objective %d: hypervolume %.5f, grid %.5f", trial, k, got, grid)
			}
		}
	}
}

package search

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Ref is the reference point of a hypervolume: the worst accuracy and the
// worst cost that still count. Only the part of a point's improvement
// over Ref (higher accuracy, lower cost) adds area.
type Ref struct {
	Accuracy float64
	Cost     float64
}

// Hypervolume returns the area of the (accuracy, cost k) plane that the
// points dominate and that dominates ref: the union of the rectangles
// [ref.Accuracy, p.Accuracy] x [p.Cost[k], ref.Cost]. The points need not
// form a front; dominated points and points beyond ref add nothing.
func Hypervolume(points []Point, k int, ref Ref) (float64, error) {
	if math.IsNaN(ref.Accuracy) || math.IsNaN(ref.Cost) || math.IsInf(ref.Accuracy, 0) || math.IsInf(ref.Cost, 0) {
		return 0, fmt.Errorf("hypervolume: reference point %+v is not finite", ref)
	}
	type xy struct{ acc, cost float64 }
	var ps []xy
	for i, p := range points {
		if k < 0 || k >= len(p.Cost) {
			return 0, fmt.Errorf("hypervolume: point %d (%q) has no cost %d", i, p.Key, k)
		}
		a, c := p.Accuracy, p.Cost[k]
		if math.IsNaN(a) || math.IsNaN(c) || math.IsInf(a, 0) || math.IsInf(c, 0) {
			return 0, fmt.Errorf("hypervolume: point %d (%q) is (%v, %v)", i, p.Key, a, c)
		}
		if a > ref.Accuracy && c < ref.Cost {
			ps = append(ps, xy{a, c})
		}
	}
	slices.SortFunc(ps, func(p, q xy) int {
		if p.cost != q.cost {
			if p.cost < q.cost {
				return -1
			}
			return 1
		}
		switch {
		case p.acc > q.acc:
			return -1
		case p.acc < q.acc:
			return 1
		}
		return 0
	})
	// Sweep cost upwards: between consecutive costs the dominated height
	// is the best accuracy of the points seen so far.
	var area, best float64
	best = ref.Accuracy
	for i, p := range ps {
		best = math.Max(best, p.acc)
		next := ref.Cost
		if i+1 < len(ps) {
			next = ps[i+1].cost
		}
		area += (best - ref.Accuracy) * (next - p.cost)
	}
	return area, nil
}

// RelativeHypervolume is Hypervolume(found)/Hypervolume(truth): the share
// of the true front's area that a search recovered (1 when it found the
// whole front). truth is usually the exhaustive front of a benchmark.
func RelativeHypervolume(found, truth []Point, k int, ref Ref) (float64, error) {
	hf, err := Hypervolume(found, k, ref)
	if err != nil {
		return 0, fmt.Errorf("found front: %w", err)
	}
	ht, err := Hypervolume(truth, k, ref)
	if err != nil {
		return 0, fmt.Errorf("true front: %w", err)
	}
	if ht == 0 {
		return 0, errors.New("hypervolume: the true front dominates nothing beyond the reference point")
	}
	return hf / ht, nil
}

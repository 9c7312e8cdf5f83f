package search

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func pt(acc float64, step int, cost ...float64) Point {
	return Point{Accuracy: acc, Cost: cost, Key: fmt.Sprintf("n%d", step), Step: step}
}

func keys(ps []Point) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Key)
	}
	return out
}

func TestArchiveByHand(t *testing.T) {
	a, err := NewArchive([]string{"avg", "max"})
	if err != nil {
		t.Fatal(err)
	}
	adds := []struct {
		p    Point
		join bool
	}{
		{pt(70, 1, 1.0, 2.0), true},
		{pt(72, 2, 1.2, 1.5), true},  // better on max: dominates n1 there
		{pt(69, 3, 1.1, 1.9), false}, // dominated by n1 (avg) and n2 (max)
		{pt(75, 4, 1.5, 3.0), true},
		{pt(75, 5, 1.5, 3.0), false}, // duplicate of n4, later step
		{pt(70, 0, 1.0, 9.0), true},  // ties n1 on avg with an earlier step
		{pt(71, 6, 0.9, 4.0), true},  // cheapest on avg, dominates n0
	}
	for _, x := range adds {
		got, err := a.Add(x.p)
		if err != nil {
			t.Fatal(err)
		}
		if got != x.join {
			t.Errorf("Add(%s) joined = %v, want %v", x.p.Key, got, x.join)
		}
	}
	// avg: n6 (0.9, 71) dominates n1 and n0 (1.0, 70); then n2 (1.2, 72), n4 (1.5, 75).
	if got, want := keys(a.Front(0)), []string{"n6", "n2", "n4"}; !slices.Equal(got, want) {
		t.Errorf("avg front %v, want %v", got, want)
	}
	// max: n2 (1.5, 72), n4 (3.0, 75).
	if got, want := keys(a.Front(1)), []string{"n2", "n4"}; !slices.Equal(got, want) {
		t.Errorf("max front %v, want %v", got, want)
	}
	if a.Front(2) != nil || a.Front(-1) != nil {
		t.Error("Front of a missing objective should be nil")
	}
	f := a.Front(0)
	f[0].Cost[0] = 99
	if a.Front(0)[0].Cost[0] == 99 {
		t.Error("Front returned the archive's own cost slice")
	}
	for _, bad := range []Point{pt(1, 1, 1), pt(math.NaN(), 1, 1, 1), pt(1, 1, 1, math.Inf(1))} {
		if _, err := a.Add(bad); err == nil {
			t.Errorf("Add(%+v): want an error", bad)
		}
	}
	for _, objs := range [][]string{nil, {"a", "a"}, {""}} {
		if _, err := NewArchive(objs); err == nil {
			t.Errorf("NewArchive(%q): want an error", objs)
		}
	}
}

// bruteFront is the definition: points no other point dominates, with
// exact duplicates resolved by the tie rule.
func bruteFront(ps []Point, k int) []Point {
	var out []Point
	for i, p := range ps {
		keep := true
		for j, q := range ps {
			if j < i && pointEqual(p, q) {
				keep = false // an identical copy is kept once
				break
			}
			if q.Accuracy >= p.Accuracy && q.Cost[k] <= p.Cost[k] {
				strict := q.Accuracy > p.Accuracy || q.Cost[k] < p.Cost[k]
				if strict || beats(q, p) {
					keep = false
					break
				}
			}
		}
		if keep {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(p, q Point) int {
		if p.Cost[k] < q.Cost[k] {
			return -1
		}
		return 1
	})
	return out
}

func TestArchiveMatchesBruteForceInAnyOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	for trial := range 50 {
		var ps []Point
		for i := range 60 {
			// Small integer grids make ties and duplicates common.
			ps = append(ps, Point{
				Accuracy: float64(r.IntN(10)),
				Cost:     []float64{float64(r.IntN(10)), float64(r.IntN(4))},
				Key:      fmt.Sprint("k", r.IntN(5)),
				Step:     r.IntN(20),
			})
			_ = i
		}
		var fronts [2][]Point
		for order := range 3 {
			a, _ := NewArchive([]string{"x", "y"})
			q := slices.Clone(ps)
			r.Shuffle(len(q), func(i, j int) { q[i], q[j] = q[j], q[i] })
			for _, p := range q {
				if _, err := a.Add(p); err != nil {
					t.Fatal(err)
				}
			}
			for k := range 2 {
				want := bruteFront(ps, k)
				got := a.Front(k)
				if !slices.EqualFunc(got, want, pointEqual) {
					t.Fatalf("trial %d order %d objective %d: front %v, want %v", trial, order, k, got, want)
				}
				if order > 0 && !slices.EqualFunc(got, fronts[k], pointEqual) {
					t.Fatalf("trial %d: the front depends on the order of Add", trial)
				}
				fronts[k] = got
			}
			data, err := json.Marshal(a)
			if err != nil {
				t.Fatal(err)
			}
			var b Archive
			if err := json.Unmarshal(data, &b); err != nil {
				t.Fatal(err)
			}
			for k := range 2 {
				if !slices.EqualFunc(b.Front(k), a.Front(k), pointEqual) {
					t.Fatalf("trial %d: JSON round trip changed front %d", trial, k)
				}
			}
		}
	}
}

func pointEqual(p, q Point) bool {
	return p.Accuracy == q.Accuracy && slices.Equal(p.Cost, q.Cost) && p.Key == q.Key && p.Step == q.Step
}

func TestArchiveJSON(t *testing.T) {
	a, _ := NewArchive([]string{"avg", "pixel3"})
	_, _ = a.Add(pt(70, 1, 1, 2))
	data, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"format":"fleetnas-pareto-archive/1","objectives":["avg","pixel3"],"fronts":[[{"accuracy":70,"cost":[1,2],"key":"n1","step":1}],[{"accuracy":70,"cost":[1,2],"key":"n1","step":1}]]}`
	if string(data) != want {
		t.Errorf("JSON\n%s\nwant\n%s", data, want)
	}
	empty, _ := NewArchive([]string{"avg"})
	if data, _ := json.Marshal(empty); string(data) != `{"format":"fleetnas-pareto-archive/1","objectives":["avg"],"fronts":[[]]}` {
		t.Errorf("empty archive JSON %s", data)
	}
	for _, bad := range []string{
		`{`, `{"format":"x","objectives":["a"],"fronts":[[]]}`,
		`{"format":"fleetnas-pareto-archive/1","objectives":[],"fronts":[]}`,
		`{"format":"fleetnas-pareto-archive/1","objectives":["a"],"fronts":[]}`,
		`{"format":"fleetnas-pareto-archive/1","objectives":["a"],"fronts":[[{"accuracy":1,"cost":[1,2]}]]}`,
	} {
		var b Archive
		if err := json.Unmarshal([]byte(bad), &b); err == nil {
			t.Errorf("Unmarshal(%s): want an error", bad)
		}
	}
	// A hand-edited file with a dominated point is repaired.
	var b Archive
	if err := json.Unmarshal([]byte(`{"format":"fleetnas-pareto-archive/1","objectives":["a"],"fronts":[[{"accuracy":1,"cost":[5]},{"accuracy":2,"cost":[1]}]]}`), &b); err != nil {
		t.Fatal(err)
	}
	if f := b.Front(0); len(f) != 1 || f[0].Accuracy != 2 {
		t.Errorf("repaired front %v", f)
	}
}

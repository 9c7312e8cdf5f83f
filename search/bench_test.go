package search

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fleetnas/fleetnas/space"
)

// benchDecisions is a real space of about 30 decisions.
func benchDecisions(b *testing.B) []space.Decision {
	s, err := space.Get("multihw")
	if err != nil {
		b.Fatal(err)
	}
	return s.Decisions()
}

// BenchmarkProposeObserve times one Propose+Observe pair of each
// controller, the overhead a search adds to every evaluation.
func BenchmarkProposeObserve(b *testing.B) {
	ds := benchDecisions(b)
	for _, algo := range []string{"tunas", "evolution", "random"} {
		for _, batch := range []int{1, 8} {
			if algo != "tunas" && batch > 1 {
				continue
			}
			name := fmt.Sprintf("%s/decisions=%d", algo, len(ds))
			if algo == "tunas" {
				name += fmt.Sprintf("/batch=%d", batch)
			}
			b.Run(name, func(b *testing.B) {
				c, err := New(algo, ds, Config{Seed: 1, Batch: batch})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					v, _ := c.Propose()
					if err := c.Observe(v, toyReward(v)); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
	b.Run("exhaustive/nb201", func(b *testing.B) {
		s, _ := space.Get("nb201")
		c, _ := New("exhaustive", s.Decisions(), Config{})
		b.ReportAllocs()
		for b.Loop() {
			v, ok := c.Propose()
			if !ok {
				c, _ = New("exhaustive", s.Decisions(), Config{})
				v, _ = c.Propose()
			}
			if err := c.Observe(v, toyReward(v)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkMarshalState(b *testing.B) {
	ds := benchDecisions(b)
	for _, algo := range []string{"tunas", "evolution"} {
		b.Run(algo, func(b *testing.B) {
			c, _ := New(algo, ds, Config{Seed: 1})
			for range 100 {
				v, _ := c.Propose()
				_ = c.Observe(v, toyReward(v))
			}
			for b.Loop() {
				data, err := c.MarshalState()
				if err != nil {
					b.Fatal(err)
				}
				if err := c.UnmarshalState(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkArchiveAdd adds points whose accuracy grows noisily with cost,
// as a search's evaluations do, to an archive of 8 objectives.
func BenchmarkArchiveAdd(b *testing.B) {
	a, _ := NewArchive([]string{"avg", "max", "d1", "d2", "d3", "d4", "d5", "d6"})
	r := rand.New(rand.NewPCG(1, 1))
	i := 0
	for b.Loop() {
		cost := make([]float64, 8)
		base := r.Float64()
		for k := range cost {
			cost[k] = base * (0.5 + r.Float64())
		}
		_, _ = a.Add(Point{Accuracy: math.Sqrt(base) + 0.1*r.NormFloat64(), Cost: cost, Step: i})
		i++
	}
}

func BenchmarkEnumerateNB201(b *testing.B) {
	s, _ := space.Get("nb201")
	ds := s.Decisions()
	for b.Loop() {
		n := 0
		_ = Enumerate(ds, func([]int) bool { n++; return true })
	}
}

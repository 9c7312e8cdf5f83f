package search

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Point is one evaluated network as the Pareto archive sees it.
type Point struct {
	// Accuracy is maximised (any scale, the same for all points).
	Accuracy float64 `json:"accuracy"`
	// Cost holds one value per objective of the archive, each minimised:
	// for example the fleet's AVG and MAX and each device's latency.
	Cost []float64 `json:"cost"`
	// Key identifies the network (its canonical string, typically).
	Key string `json:"key"`
	// Step is when the network was evaluated (its proposal number).
	Step int `json:"step"`
}

// Archive keeps, for each objective k separately, the points not
// dominated in (maximise Accuracy, minimise Cost[k]): the issue's "Pareto
// archive (accuracy vs fleet metric, and vs each device's latency)". One
// archive serves all objectives so that a search records each evaluation
// once.
//
// Ties are broken so that the fronts depend only on the set of points
// added, never on their order: of two points with equal accuracy and
// cost, the one with the smaller Step is kept, then the smaller Key.
// Points are identified by their values, not their Key: a network
// evaluated twice with different results is two points.
//
// The zero Archive has no objectives; use NewArchive. An Archive is
// JSON-encodable for checkpoints. It is not safe for concurrent use.
type Archive struct {
	objectives []string
	fronts     [][]Point // per objective, sorted by increasing cost
}

// archiveFormat marks the JSON of an archive so that a checkpoint of a
// different layout is refused rather than misread.
const archiveFormat = "fleetnas-pareto-archive/1"

// NewArchive returns an empty archive over the named cost objectives.
func NewArchive(objectives []string) (*Archive, error) {
	if len(objectives) == 0 {
		return nil, errors.New("pareto archive: no objectives")
	}
	seen := map[string]bool{}
	for _, o := range objectives {
		if o == "" {
			return nil, errors.New("pareto archive: an objective has no name")
		}
		if seen[o] {
			return nil, fmt.Errorf("pareto archive: objective %q appears twice", o)
		}
		seen[o] = true
	}
	return &Archive{objectives: slices.Clone(objectives), fronts: make([][]Point, len(objectives))}, nil
}

// Objectives returns the objectives' names, in Cost order.
func (a *Archive) Objectives() []string { return slices.Clone(a.objectives) }

// checkPoint rejects points the fronts cannot order.
func (a *Archive) checkPoint(p Point) error {
	if len(p.Cost) != len(a.objectives) {
		return fmt.Errorf("pareto archive: point %q has %d costs for %d objectives (%s)", p.Key, len(p.Cost), len(a.objectives), strings.Join(a.objectives, ", "))
	}
	if math.IsNaN(p.Accuracy) || math.IsInf(p.Accuracy, 0) {
		return fmt.Errorf("pareto archive: point %q has accuracy %v", p.Key, p.Accuracy)
	}
	for k, c := range p.Cost {
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return fmt.Errorf("pareto archive: point %q has %s %v", p.Key, a.objectives[k], c)
		}
	}
	return nil
}

// Add offers p to every front and reports whether it joined at least one.
// The archive keeps its own copy of p.
func (a *Archive) Add(p Point) (bool, error) {
	if err := a.checkPoint(p); err != nil {
		return false, err
	}
	p.Cost = slices.Clone(p.Cost)
	joined := false
	for k := range a.fronts {
		if f, ok := insert(a.fronts[k], p, k); ok {
			a.fronts[k] = f
			joined = true
		}
	}
	return joined, nil
}

// beats reports whether p should replace q when both have the same
// accuracy and cost k: the deterministic tie rule.
func beats(p, q Point) bool {
	if p.Step != q.Step {
		return p.Step < q.Step
	}
	return p.Key < q.Key
}

// insert adds p to front f of objective k if no member dominates it,
// removing the members p dominates; f stays sorted by increasing cost and
// therefore by increasing accuracy.
func insert(f []Point, p Point, k int) ([]Point, bool) {
	c := p.Cost[k]
	// i is the first member with cost >= c.
	i, _ := slices.BinarySearchFunc(f, c, func(q Point, c float64) int {
		switch {
		case q.Cost[k] < c:
			return -1
		case q.Cost[k] > c:
			return 1
		}
		return 0
	})
	// The member just cheaper than p has the best accuracy among the
	// cheaper ones; it dominates p if it is at least as accurate.
	if i > 0 && f[i-1].Accuracy >= p.Accuracy {
		return f, false
	}
	if i < len(f) && f[i].Cost[k] == c {
		q := f[i]
		if q.Accuracy > p.Accuracy || (q.Accuracy == p.Accuracy && !beats(p, q)) {
			return f, false
		}
	}
	// p enters; it dominates the following members that are no more
	// accurate than it (their cost is >= c).
	j := i
	for j < len(f) && f[j].Accuracy <= p.Accuracy {
		j++
	}
	return slices.Replace(f, i, j, p), true
}

// Front returns a copy of objective k's front sorted by increasing cost
// (and so increasing accuracy); nil if k is not an objective.
func (a *Archive) Front(k int) []Point {
	if k < 0 || k >= len(a.fronts) {
		return nil
	}
	out := make([]Point, len(a.fronts[k]))
	for i, p := range a.fronts[k] {
		p.Cost = slices.Clone(p.Cost)
		out[i] = p
	}
	return out
}

// archiveJSON is the checkpoint form of an Archive.
type archiveJSON struct {
	Format     string    `json:"format"`
	Objectives []string  `json:"objectives"`
	Fronts     [][]Point `json:"fronts"`
}

// MarshalJSON encodes the objectives and fronts.
func (a *Archive) MarshalJSON() ([]byte, error) {
	// Empty fronts encode as [] rather than null, which reads better in
	// a checkpoint and round-trips the same.
	fronts := make([][]Point, len(a.fronts))
	for k, f := range a.fronts {
		fronts[k] = append([]Point{}, f...)
	}
	return json.Marshal(archiveJSON{Format: archiveFormat, Objectives: a.objectives, Fronts: fronts})
}

// UnmarshalJSON restores an archive. It rebuilds the fronts by adding
// every saved point to every front, which gives exactly the fronts of all
// points ever added (each front's points dominate everything that left
// it), and so repairs a hand-edited file instead of trusting it.
func (a *Archive) UnmarshalJSON(data []byte) error {
	var j archiveJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return fmt.Errorf("pareto archive: %w", err)
	}
	if j.Format != archiveFormat {
		return fmt.Errorf("pareto archive: format %q, this version reads %q", j.Format, archiveFormat)
	}
	b, err := NewArchive(j.Objectives)
	if err != nil {
		return err
	}
	if len(j.Fronts) != len(j.Objectives) {
		return fmt.Errorf("pareto archive: %d fronts for %d objectives", len(j.Fronts), len(j.Objectives))
	}
	for _, f := range j.Fronts {
		for _, p := range f {
			if _, err := b.Add(p); err != nil {
				return err
			}
		}
	}
	*a = *b
	return nil
}

package profile

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/fleetnas/fleetnas/onnx"
	"github.com/fleetnas/fleetnas/ort"
	"github.com/fleetnas/fleetnas/space"
)

// A shared machine is not slow at random: for seconds at a time another
// tenant (on a cloud VM, the other hyperthread of the same core; on a
// laptop, a browser) slows every model by 30-50%, and the runs within such
// a stretch are as steady as in quiet time. Neither the median nor the
// coefficient of variation of one measurement shows it, and a table
// profiled across such stretches, or a network measured in one, is off by
// the slowdown. On this project's 2-core VM, a canary model ran within 5%
// of its quiet speed only a quarter to a half of the time.
//
// quietGate measures that directly: it times a small reference model (the
// canary: the body of multihw's first network at 64 px, without the
// classifier head, whose 5 MB of weights would make it a test of the
// memory bus; 0.035 ms a run on this project's VM) before and after every
// measurement, and holds measurements back until the canary runs at its
// quiet speed.
type quietGate struct {
	s   *ort.Session
	opt Options
	// levels are all canary timings (the median of canaryRuns runs), ms.
	levels []float64
	// stuck is set after a wait ran out without a quiet canary: later
	// measurements do not wait (each would wait as long in vain) until a
	// canary timing is quiet again.
	stuck bool
	// Waited is the total time spent waiting; Vain counts the waits that
	// ran out.
	Waited time.Duration
	Vain   int
	// start is when the gate opened: the waiting budget grows with the
	// time spent measuring since (Options.WaitShare).
	start time.Time
}

const (
	// canaryRuns runs make one canary timing: well under a millisecond.
	canaryRuns = 10
	// canaryBand: the canary's quiet speed is the median of its timings
	// within this fraction of the fastest, rather than the fastest, which
	// is a lucky outlier a few percent below the typical quiet timing.
	canaryBand = 0.04
	// canaryHead is the number of final blocks left out of the canary
	// (multihw's head: 1x1 conv, pooling, classifier).
	canaryHead = 3
	// calibrationTimings are taken, pollInterval apart, when the gate
	// opens, so that the quiet speed is known before the first
	// measurement (and is refined by every later canary timing).
	calibrationTimings = 20
	pollInterval       = 25 * time.Millisecond
)

// newQuietGate loads the canary and calibrates it. opt must have its
// defaults applied.
func newQuietGate(opt Options) (*quietGate, error) {
	sp, err := space.Get("multihw")
	if err != nil {
		return nil, err
	}
	n, err := sp.Network(make([]int, len(sp.Decisions())), space.Options{Resolution: 64})
	if err != nil {
		return nil, err
	}
	n.Blocks = n.Blocks[:len(n.Blocks)-canaryHead]
	n.Name = "quiet-gate canary"
	cg, err := n.Lower(0)
	if err != nil {
		return nil, fmt.Errorf("building the canary model: %w", err)
	}
	b, err := onnx.Marshal(cg, onnx.GraphWeights(cg, 1))
	if err != nil {
		return nil, err
	}
	in, out := onnx.Shapes(cg)
	s, err := ort.NewSession(b, onnx.InputName, in, onnx.OutputName, out, ort.Options{Threads: opt.Threads})
	if err != nil {
		return nil, fmt.Errorf("loading the canary model: %w", err)
	}
	g := &quietGate{s: s, opt: opt, start: time.Now()}
	if _, err := s.TimeWith(opt.Clock, 5, 1, nil); err != nil {
		s.Close()
		return nil, err
	}
	for i := range calibrationTimings {
		if i > 0 {
			time.Sleep(pollInterval)
		}
		if _, err := g.level(); err != nil {
			s.Close()
			return nil, err
		}
	}
	return g, nil
}

// Close frees the canary.
func (g *quietGate) Close() error { return g.s.Close() }

// level times the canary once and records the timing (ms).
func (g *quietGate) level() (float64, error) {
	t, err := g.s.TimeWith(g.opt.Clock, 0, canaryRuns, nil)
	if err != nil {
		return 0, fmt.Errorf("timing the canary: %w", err)
	}
	g.levels = append(g.levels, t.MedianMs)
	if g.quiet(t.MedianMs) {
		g.stuck = false
	}
	return t.MedianMs, nil
}

// QuietMs is the canary's quiet speed: the median of its timings within
// canaryBand of the fastest.
func (g *quietGate) QuietMs() float64 { return quietSpeed(g.levels) }

// quietSpeed is the median of the timings within canaryBand of the
// fastest (NaN without timings).
func quietSpeed(levels []float64) float64 {
	if len(levels) == 0 {
		return math.NaN()
	}
	fastest := slices.Min(levels)
	var band []float64
	for _, l := range levels {
		if l <= fastest*(1+canaryBand) {
			band = append(band, l)
		}
	}
	slices.Sort(band)
	return ort.Quantile(band, 0.5)
}

// quiet reports whether a canary timing is within the tolerance of the
// quiet speed.
func (g *quietGate) quiet(ms float64) bool { return ms <= g.QuietMs()*(1+g.opt.Quiet) }

// budget is how long the gate may still wait: WaitShare times the time
// spent measuring so far, less what it has waited already, and at most
// MaxWait (just MaxWait for a negative WaitShare).
func (g *quietGate) budget() time.Duration {
	if g.opt.WaitShare < 0 {
		return g.opt.MaxWait
	}
	busy := time.Since(g.start) - g.Waited
	return min(g.opt.MaxWait, time.Duration(g.opt.WaitShare*float64(busy))-g.Waited)
}

// wait times the canary until it runs at its quiet speed or the budget
// has run out, and returns the last canary timing.
func (g *quietGate) wait() (float64, error) {
	start := time.Now()
	limit := g.budget()
	defer func() { g.Waited += time.Since(start) }()
	for {
		ms, err := g.level()
		if err != nil || g.quiet(ms) || g.stuck {
			return ms, err
		}
		if time.Since(start) >= limit {
			if limit >= g.opt.MaxWait {
				// A whole MaxWait in vain: the machine is busy for a
				// while; do not wait again until it is quiet.
				g.Vain++
				g.stuck = true
			}
			return ms, nil
		}
		time.Sleep(pollInterval)
	}
}

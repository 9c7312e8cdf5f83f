package supernet

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/fleetnas/fleetnas/space"
)

// WarmupFraction is the part of a search TuNAS spends warming up ops and
// filters (its flags increase_ops_warmup_steps_fraction and
// increase_filters_warmup_steps_fraction, both 0.25), which is also how
// long it keeps the controller's learning rate at zero
// (rl_delay_steps_fraction).
const WarmupFraction = 0.25

// Warmup is TuNAS's op and filter warmup (tunas/controller.py,
// independent_sample, with probabilities from custom_layers.linear_decay):
// at step t each op decision is overridden with probability
// 1 - t/OpSteps and each filter (width) decision with probability
// 1 - t/FilterSteps, both clamped to [0, 1], so the override is certain at
// step 0 and gone once the warmup is over.
//
// A filter override is TuNAS's exactly: the decision takes its largest
// width, so that early on every filter of the shared tensors is trained
// and the narrow choices are not judged on weights only the wide ones
// updated. An op override in TuNAS enables every op of the decision at
// once, which trains all ops on every step and makes them compute
// features of one kind; a single-path supernet runs one op per layer, so
// here the override is the layer's largest op (largest kernel, then
// largest expansion; the stem's separable conv on), whose weights hold
// every smaller op's (see the package doc). The supernet thus starts as
// the one largest network and the other ops are mixed in as the
// override fades. Overriding with a uniformly drawn op instead was
// measured on Fashion-MNIST (multihw, proxy width 0.25, batch 64, 800
// steps with warmup over the first 400): the training accuracy of the
// drawn candidates stayed at chance, 10-11%, against about 60% with this
// override, and random candidates scored 9-15% on validation data
// against 55-64%.
type Warmup struct {
	OpSteps, FilterSteps int
}

// DefaultWarmup is TuNAS's warmup for a search of totalSteps steps: ops
// and filters both over the first WarmupFraction of the steps.
func DefaultWarmup(totalSteps int) Warmup {
	n := int(WarmupFraction * float64(max(totalSteps, 0)))
	return Warmup{OpSteps: n, FilterSteps: n}
}

// OpProbability is the probability that an op decision is overridden at
// step.
func (w Warmup) OpProbability(step int) float64 { return linearDecay(step, w.OpSteps) }

// FilterProbability is the probability that a width decision takes its
// largest width at step.
func (w Warmup) FilterProbability(step int) float64 { return linearDecay(step, w.FilterSteps) }

// Active reports whether step is still inside either warmup.
func (w Warmup) Active(step int) bool {
	return w.OpProbability(step) > 0 || w.FilterProbability(step) > 0
}

// linearDecay is TuNAS's linear_decay: 1 at step 0, falling linearly to 0
// at step n and staying there; 0 throughout when n is 0.
func linearDecay(step, n int) float64 {
	switch {
	case n <= 0 || step >= n:
		return 0
	case step <= 0:
		return 1
	}
	return 1 - float64(step)/float64(n)
}

// WarmupChoice applies the warmup of step to a proposed choice vector and
// returns the vector to train. It draws from r, in decision order, one
// uniform number per decision and, for each overridden op decision, the
// op; the same r state gives the same vector on any machine.
func (s *Supernet) WarmupChoice(choice []int, step int, w Warmup, r *rand.Rand) ([]int, error) {
	if r == nil {
		return nil, errors.New("supernet: warmup needs a random source")
	}
	if w.OpSteps < 0 || w.FilterSteps < 0 {
		return nil, fmt.Errorf("supernet: warmup steps must not be negative, got ops %d, filters %d", w.OpSteps, w.FilterSteps)
	}
	if err := space.Check(s.space, choice); err != nil {
		return nil, err
	}
	out := slices.Clone(choice)
	pOp, pFilter := w.OpProbability(step), w.FilterProbability(step)
	for d, kind := range s.lay.kinds {
		u := r.Float64()
		switch kind {
		case kindWidth:
			if u < pFilter {
				out[d] = widestIndex(s.lay.widths[d])
			}
		case kindOp:
			if u < pOp {
				out[d] = s.lay.largest[d]
			}
		}
	}
	return out, nil
}

// widestIndex returns the index of the largest width.
func widestIndex(ws []int) int {
	best := 0
	for j, w := range ws {
		if w > ws[best] {
			best = j
		}
	}
	return best
}

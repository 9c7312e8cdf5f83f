package search

import (
	"encoding/json"
	"math"
	"slices"
)

// random proposes uniform choice vectors, drawn independently and so with
// replacement: a vector may come twice. It is the baseline every other
// controller must beat, and without-replacement sampling would need
// memory proportional to the budget for a difference that only matters
// when the budget approaches the size of the space (use exhaustive then).
type random struct {
	base
}

func newRandom(radix []int, cfg Config) *random {
	return &random{base: newBase("random", radix, cfg.Seed)}
}

// Propose draws a uniform vector.
func (r *random) Propose() ([]int, bool) {
	if r.pending != nil {
		return slices.Clone(r.pending), true
	}
	return r.propose(uniform(r.rng, r.radix)), true
}

// Observe records the reward.
func (r *random) Observe(choice []int, reward float64) error {
	if err := r.checkObserve(choice, reward); err != nil {
		return err
	}
	r.accept(reward)
	return nil
}

// Entropy is that of the uniform distribution, log(space size): the value
// tunas starts from and never reached by a learning controller.
func (r *random) Entropy() float64 {
	var h float64
	for _, n := range r.radix {
		h += math.Log(float64(n))
	}
	return h
}

// MarshalState saves the random stream and best observation.
func (r *random) MarshalState() ([]byte, error) {
	bs, err := r.state()
	if err != nil {
		return nil, err
	}
	return json.Marshal(bs)
}

// UnmarshalState restores a state saved by MarshalState.
func (r *random) UnmarshalState(data []byte) error {
	var st baseState
	if err := r.decodeState(data, &st, &st); err != nil {
		return err
	}
	r.restore(st)
	return nil
}

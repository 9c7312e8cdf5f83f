package search

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/fleetnas/fleetnas/setting"
	"github.com/fleetnas/fleetnas/space"
)

// exhaustive proposes every choice vector once, in the order of Enumerate:
// lexicographic, the last decision changing fastest (a mixed-radix counter
// whose most significant digit is decision 0).
type exhaustive struct {
	base
	next []int // the next vector to propose; nil once all were proposed
}

func newExhaustive(radix []int, cfg Config) (*exhaustive, error) {
	if n, ok := spaceSize(radix, MaxExhaustive); !ok {
		return nil, setting.Errorf("algo", "exhaustive: the space has more than %d choice vectors (%s); use tunas, evolution or random", MaxExhaustive, n)
	}
	return &exhaustive{base: newBase("exhaustive", radix, cfg.Seed), next: make([]int, len(radix))}, nil
}

// Size returns the number of choice vectors of decisions when it is at
// most MaxExhaustive (what an exhaustive search can enumerate); ok is
// false otherwise.
func Size(decisions []space.Decision) (n int, ok bool) {
	n = 1
	for _, d := range decisions {
		r := len(d.Choices)
		if r == 0 || n > MaxExhaustive/r {
			return 0, false
		}
		n *= r
	}
	return n, true
}

// spaceSize returns the number of vectors as text and whether it is at
// most limit; it never overflows, however many decisions there are.
func spaceSize(radix []int, limit int) (string, bool) {
	n := 1
	for _, r := range radix {
		if n > limit/r {
			var l float64
			for _, r := range radix {
				l += math.Log10(float64(r))
			}
			return fmt.Sprintf("about 10^%.1f", l), false
		}
		n *= r
	}
	return fmt.Sprint(n), true
}

// Propose returns the next vector in order, or ok=false when all were
// proposed.
func (x *exhaustive) Propose() ([]int, bool) {
	if x.pending != nil {
		return slices.Clone(x.pending), true
	}
	if x.next == nil {
		return nil, false
	}
	v := slices.Clone(x.next)
	if !increment(x.next, x.radix) {
		x.next = nil
	}
	return x.propose(v), true
}

// increment advances v to the next vector in lexicographic order and
// reports false when v was the last one.
func increment(v, radix []int) bool {
	for d := len(v) - 1; d >= 0; d-- {
		v[d]++
		if v[d] < radix[d] {
			return true
		}
		v[d] = 0
	}
	return false
}

// rank is v's position in the enumeration.
func rank(v, radix []int) int {
	r := 0
	for d, c := range v {
		r = r*radix[d] + c
	}
	return r
}

// Observe records the reward.
func (x *exhaustive) Observe(choice []int, reward float64) error {
	if err := x.checkObserve(choice, reward); err != nil {
		return err
	}
	x.accept(reward)
	return nil
}

// Entropy is 0: the order is fixed.
func (x *exhaustive) Entropy() float64 { return 0 }

// exhaustiveState is the saved form of an exhaustive controller.
type exhaustiveState struct {
	baseState
	Next []int `json:"next"` // null once every vector was proposed
}

// MarshalState saves the position in the enumeration.
func (x *exhaustive) MarshalState() ([]byte, error) {
	bs, err := x.state()
	if err != nil {
		return nil, err
	}
	return json.Marshal(exhaustiveState{baseState: bs, Next: x.next})
}

// UnmarshalState restores a state saved by MarshalState.
func (x *exhaustive) UnmarshalState(data []byte) error {
	var st exhaustiveState
	if err := x.decodeState(data, &st, &st.baseState); err != nil {
		return err
	}
	// The position must agree with the count of vectors handed out, or
	// the enumeration would skip or repeat some.
	given := st.Observed
	if st.Pending != nil {
		given++
	}
	size, _ := spaceSize(x.radix, MaxExhaustive)
	if st.Next == nil {
		if fmt.Sprint(given) != size {
			return fmt.Errorf("exhaustive: state is finished after %d of %s vectors", given, size)
		}
	} else {
		if err := x.checkVector(st.Next); err != nil {
			return fmt.Errorf("exhaustive: state's next vector: %w", err)
		}
		if rank(st.Next, x.radix) != given {
			return fmt.Errorf("exhaustive: state's next vector %v is not vector %d of the enumeration", st.Next, given)
		}
	}
	x.restore(st.baseState)
	x.next = st.Next
	return nil
}

// Enumerate calls fn with every choice vector of the decisions, in
// lexicographic order (the last decision changing fastest, the order of
// the exhaustive controller), until fn returns false. fn receives the
// same slice every time, updated in place, so that enumerating a large
// space allocates nothing; fn must copy it to keep it and must not change
// it. Enumerate fails only on a space with no decisions or an empty
// decision.
func Enumerate(decisions []space.Decision, fn func([]int) bool) error {
	if fn == nil {
		return errors.New("search: Enumerate needs a function")
	}
	radix, err := radixOf(decisions)
	if err != nil {
		return err
	}
	v := make([]int, len(radix))
	for fn(v) && increment(v, radix) {
	}
	return nil
}

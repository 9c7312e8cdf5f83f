package search

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/fleetnas/fleetnas/setting"
)

// evolution is regularized (aging) evolution (Real et al., "Regularized
// Evolution for Image Classifier Architecture Search", AAAI 2019):
//
//   - the first Population proposals are uniform random vectors;
//   - afterwards each proposal draws Sample members of the population
//     uniformly with replacement (as in the paper's Algorithm 1, where
//     the population is left unchanged while sampling), takes the
//     best-rewarded one as the parent (ties: the first drawn) and mutates
//     it: exactly one decision, drawn uniformly among those with more
//     than one choice, gets a different choice drawn uniformly;
//   - the observed child joins the population and the oldest member dies
//     (a FIFO queue), so that no lucky individual lives forever, which is
//     what regularizes the search against noisy rewards.
//
// Every proposal counts as one evaluation, even if the vector was seen
// before: the controller keeps no cache, so callers that evaluate
// deterministically may cache rewards themselves.
type evolution struct {
	base
	population, sample int
	pop                []member // oldest first
	mutable            []int    // decisions with at least two choices
}

// member is one individual of the population.
type member struct {
	Choice []int   `json:"choice"`
	Reward float64 `json:"reward"`
}

func newEvolution(radix []int, cfg Config) (*evolution, error) {
	p, s := cfg.Population, cfg.Sample
	if p == 0 {
		p = DefaultPopulation
	}
	if s == 0 {
		s = min(DefaultSample, p)
	}
	if err := checkEvolutionParams(p, s); err != nil {
		return nil, err
	}
	e := &evolution{base: newBase("evolution", radix, cfg.Seed), population: p, sample: s}
	for d, n := range radix {
		if n > 1 {
			e.mutable = append(e.mutable, d)
		}
	}
	return e, nil
}

func checkEvolutionParams(p, s int) error {
	if p < 1 {
		return setting.Errorf("population", "evolution's must be at least 1, got %d", p)
	}
	if s < 1 || s > p {
		return setting.Errorf("sample", "evolution's tournament must hold between 1 and the population %d, got %d", p, s)
	}
	return nil
}

// Propose returns a random vector while the population fills up, then a
// mutated tournament winner.
func (e *evolution) Propose() ([]int, bool) {
	if e.pending != nil {
		return slices.Clone(e.pending), true
	}
	if len(e.pop) < e.population {
		return e.propose(uniform(e.rng, e.radix)), true
	}
	parent := -1
	for range e.sample {
		i := e.rng.IntN(len(e.pop))
		if parent < 0 || e.pop[i].Reward > e.pop[parent].Reward {
			parent = i
		}
	}
	child := slices.Clone(e.pop[parent].Choice)
	if len(e.mutable) > 0 {
		// A space of one vector has nothing to mutate; the child is then
		// the parent again.
		d := e.mutable[e.rng.IntN(len(e.mutable))]
		c := e.rng.IntN(e.radix[d] - 1)
		if c >= child[d] {
			c++ // skip the parent's choice: uniform over the others
		}
		child[d] = c
	}
	return e.propose(child), true
}

// Observe adds the evaluated vector to the population and retires the
// oldest member once the population is full.
func (e *evolution) Observe(choice []int, reward float64) error {
	if err := e.checkObserve(choice, reward); err != nil {
		return err
	}
	v := e.accept(reward)
	if len(e.pop) == e.population {
		copy(e.pop, e.pop[1:])
		e.pop = e.pop[:len(e.pop)-1]
	}
	e.pop = append(e.pop, member{Choice: v, Reward: reward})
	return nil
}

// Entropy is 0: evolution has no explicit distribution.
func (e *evolution) Entropy() float64 { return 0 }

// evolutionState is the saved form of an evolution controller, settings
// included (they win over the Config of the restoring controller).
type evolutionState struct {
	baseState
	Population int      `json:"population"`
	Sample     int      `json:"sample"`
	Members    []member `json:"members"`
}

// MarshalState saves the population (oldest first) and random stream.
func (e *evolution) MarshalState() ([]byte, error) {
	bs, err := e.state()
	if err != nil {
		return nil, err
	}
	return json.Marshal(evolutionState{baseState: bs, Population: e.population, Sample: e.sample, Members: e.pop})
}

// UnmarshalState restores a state saved by MarshalState.
func (e *evolution) UnmarshalState(data []byte) error {
	var st evolutionState
	if err := e.decodeState(data, &st, &st.baseState); err != nil {
		return err
	}
	if err := checkEvolutionParams(st.Population, st.Sample); err != nil {
		return fmt.Errorf("evolution: state's settings: %v", err)
	}
	if len(st.Members) != min(st.Population, st.Observed) {
		return fmt.Errorf("evolution: state has %d members for a population of %d after %d observations", len(st.Members), st.Population, st.Observed)
	}
	for i, m := range st.Members {
		if err := e.checkVector(m.Choice); err != nil {
			return fmt.Errorf("evolution: state's member %d: %w", i, err)
		}
		if math.IsNaN(m.Reward) || math.IsInf(m.Reward, 0) {
			return fmt.Errorf("evolution: state's member %d has reward %v", i, m.Reward)
		}
	}
	e.restore(st.baseState)
	e.population, e.sample, e.pop = st.Population, st.Sample, st.Members
	return nil
}

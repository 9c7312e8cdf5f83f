package search

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/fleetnas/fleetnas/setting"
	"github.com/fleetnas/fleetnas/space"
)

// Controller proposes networks and learns from their rewards. Propose and
// Observe alternate: every proposal must be observed before the next one is
// made, which is what lets a controller be checkpointed between any two
// calls and resumed identically.
//
// A Controller is not safe for concurrent use; a search loop owns it.
type Controller interface {
	// Name is the algorithm: "tunas", "evolution", "random" or "exhaustive".
	Name() string
	// Propose returns the next choice vector to evaluate; ok is false when
	// there is nothing left (only exhaustive ever runs out). Calling
	// Propose again before Observe returns the same pending proposal, so a
	// caller that lost track of it (a crash, a retry) cannot skip or
	// duplicate work. The returned slice belongs to the caller.
	Propose() (choice []int, ok bool)
	// Observe reports the reward of the pending proposal. It fails, and
	// leaves the controller unchanged, when nothing is pending, when choice
	// is not the pending proposal or when the reward is not finite.
	Observe(choice []int, reward float64) error
	// Chosen is the network to deploy now: for tunas the most likely
	// choice of each decision (ties: lowest index), for the others the
	// best-rewarded vector observed (ties: earliest). It is nil before the
	// first observation of a reward-tracking controller.
	Chosen() []int
	// Entropy is the entropy in nats of the controller's sampling
	// distribution, summed over decisions: it falls as tunas converges,
	// is log(space size) for random and 0 for evolution and exhaustive,
	// which have no explicit distribution.
	Entropy() float64
	// MarshalState returns everything needed to continue identically,
	// including the random stream and any pending proposal.
	MarshalState() ([]byte, error)
	// UnmarshalState replaces the controller's state with a saved one. It
	// fails clearly, leaving the controller unchanged, on corrupt state, on
	// state of another algorithm and on state of a different space.
	UnmarshalState([]byte) error
}

// Config holds the settings of all controllers; each uses its own fields
// and zero values mean the documented defaults, so callers can leave alone
// what they do not tune. Errors about them name them (package setting) as
// learning_rate, baseline_momentum, entropy_bonus, population, sample and
// tunas_batch; an unknown algorithm or a space too large for exhaustive is
// about algo.
type Config struct {
	// Seed selects the random stream; the same seed gives the same
	// proposals for the same rewards.
	Seed uint64

	// LearningRate is tunas's Adam step size (default DefaultLearningRate).
	LearningRate float64
	// BaselineMomentum is the momentum of tunas's reward baseline, an
	// exponential moving average (default 0.95, TuNAS's value).
	BaselineMomentum float64
	// EntropyBonus weighs the entropy term that tunas's loss subtracts to
	// keep exploring (default 0, TuNAS's value).
	EntropyBonus float64

	// Population is evolution's population size (default
	// DefaultPopulation).
	Population int
	// Sample is evolution's tournament size: how many members are drawn
	// to pick a parent (default DefaultSample, at most Population).
	Sample int

	// Batch is the number of tunas proposals per policy update (default
	// 1). In TuNAS each accelerator core samples its own network per step;
	// Batch plays the role of the number of cores.
	Batch int
}

// Defaults of Config's zero values, chosen by the NAS-Bench-201
// experiment in experiment_test.go (TestExperimentNB201, 20 seeds, budgets
// of 100-1000 evaluations):
//
//   - DefaultLearningRate 0.1: of 0.02-0.5, the best compromise for tunas
//     (0.05 is slower at 100-300 evaluations and no better at 1000; 0.2
//     and above converge prematurely). TuNAS's own 0.0003 per 256 images
//     with a 10x warm-up is tuned for ~10^5 noisy steps, not ~10^3 exact
//     rewards; searches of very different length may want to re-tune it.
//   - DefaultBaselineMomentum 0.95 and an entropy bonus of 0: TuNAS's.
//   - DefaultBatch 1: larger batches only slowed tunas at these budgets.
//   - DefaultPopulation 20 and DefaultSample 5: P=10/S=3, 20/5 and 50/10
//     did about equally well; a smaller population spends less of a small
//     budget on its random initial members, and 20 keeps enough diversity
//     for budgets in the thousands.
const (
	DefaultLearningRate     = 0.1
	DefaultBaselineMomentum = 0.95
	DefaultPopulation       = 20
	DefaultSample           = 5
	DefaultBatch            = 1
)

// MaxExhaustive is the largest space the exhaustive controller accepts: a
// bigger one would take longer to evaluate than any search is worth, and is
// almost certainly a mistake.
const MaxExhaustive = 1_000_000

// Algorithms lists the controllers New accepts.
func Algorithms() []string {
	return []string{"tunas", "evolution", "random", "exhaustive"}
}

// DescribeChosen says in words which network Chosen returns for an
// algorithm, for reports.
func DescribeChosen(algo string) string {
	if algo == "tunas" {
		return "the most likely network of the trained controller (argmax of every decision), as TuNAS deploys"
	}
	return "the network with the best reward seen"
}

// CopesWithDrift reports whether an algorithm may be fed rewards that
// drift, i.e. a network's reward changes as the search goes (a supernet's
// accuracy does, as its weights train). tunas learns from each reward as
// it comes and random's proposals ignore rewards; evolution's population
// and exhaustive's choice keep rewards that go stale.
func CopesWithDrift(algo string) bool { return algo == "tunas" || algo == "random" }

// New returns a controller of algorithm algo over decisions. The decisions
// are copied, so the caller may reuse its slice.
func New(algo string, decisions []space.Decision, cfg Config) (Controller, error) {
	radix, err := radixOf(decisions)
	if err != nil {
		return nil, err
	}
	switch algo {
	case "tunas":
		return newTunas(radix, cfg)
	case "evolution":
		return newEvolution(radix, cfg)
	case "random":
		return newRandom(radix, cfg), nil
	case "exhaustive":
		return newExhaustive(radix, cfg)
	}
	return nil, setting.Errorf("algo", "unknown search algorithm %q: one of %s", algo, strings.Join(Algorithms(), ", "))
}

// radixOf returns the number of choices of each decision, the only thing
// the algorithms need to know about a space.
func radixOf(decisions []space.Decision) ([]int, error) {
	if len(decisions) == 0 {
		return nil, errors.New("search: the space has no decisions")
	}
	radix := make([]int, len(decisions))
	for i, d := range decisions {
		if len(d.Choices) == 0 {
			return nil, fmt.Errorf("search: decision %d (%s) has no choices", i, d.Name)
		}
		radix[i] = len(d.Choices)
	}
	return radix, nil
}

// stateFormat versions the serialised state so that a future change of
// layout is detected instead of misread.
const stateFormat = 1

// base is what every controller shares: the space's shape, the random
// stream, the pending proposal and the best observation.
type base struct {
	algo  string
	radix []int
	src   *rand.PCG
	rng   *rand.Rand

	pending    []int // nil when no proposal is waiting for its reward
	best       []int // nil before the first observation
	bestReward float64
	observed   int
}

func newBase(algo string, radix []int, seed uint64) base {
	// The second PCG word is a fixed per-package constant so that seeds
	// of this package do not collide with space.Sample's stream.
	src := rand.NewPCG(seed, 0x7365617263682121) // "search!!"
	return base{algo: algo, radix: radix, src: src, rng: rand.New(src)}
}

// Name is the algorithm.
func (b *base) Name() string { return b.algo }

// Chosen returns a copy of the best observed vector.
func (b *base) Chosen() []int { return slices.Clone(b.best) }

// propose records v as pending and returns the caller's copy.
func (b *base) propose(v []int) []int {
	b.pending = v
	return slices.Clone(v)
}

// checkObserve validates an observation without changing anything, so
// that a rejected Observe leaves the controller as it was.
func (b *base) checkObserve(choice []int, reward float64) error {
	if b.pending == nil {
		return fmt.Errorf("%s: Observe without a pending proposal (call Propose first)", b.algo)
	}
	if !slices.Equal(choice, b.pending) {
		return fmt.Errorf("%s: observed %v but the pending proposal is %v", b.algo, choice, b.pending)
	}
	if math.IsNaN(reward) || math.IsInf(reward, 0) {
		return fmt.Errorf("%s: reward of %v is %v, not a finite number", b.algo, choice, reward)
	}
	return nil
}

// accept clears the pending proposal and updates the best observation;
// strict improvement keeps the earliest of equal rewards.
func (b *base) accept(reward float64) []int {
	v := b.pending
	b.pending = nil
	b.observed++
	if b.best == nil || reward > b.bestReward {
		b.best = slices.Clone(v)
		b.bestReward = reward
	}
	return v
}

// baseState is the serialised form of base; controllers embed it in their
// own state so that the JSON is one flat object.
type baseState struct {
	Algorithm  string  `json:"algorithm"`
	Format     int     `json:"format"`
	Radix      []int   `json:"radix"`
	RNG        []byte  `json:"rng"`
	Pending    []int   `json:"pending,omitempty"`
	Best       []int   `json:"best,omitempty"`
	BestReward float64 `json:"best_reward"`
	Observed   int     `json:"observed"`
}

func (b *base) state() (baseState, error) {
	rng, err := b.src.MarshalBinary()
	if err != nil {
		return baseState{}, fmt.Errorf("%s: saving the random stream: %w", b.algo, err)
	}
	return baseState{
		Algorithm:  b.algo,
		Format:     stateFormat,
		Radix:      b.radix,
		RNG:        rng,
		Pending:    b.pending,
		Best:       b.best,
		BestReward: b.bestReward,
		Observed:   b.observed,
	}, nil
}

// decodeState decodes data into st (which embeds a baseState reached
// through bs) after checking that it is this algorithm's state of this
// space; it rejects unknown fields, which mean a corrupt or foreign file.
func (b *base) decodeState(data []byte, st any, bs *baseState) error {
	var probe struct {
		Algorithm string `json:"algorithm"`
		Format    int    `json:"format"`
		Radix     []int  `json:"radix"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return fmt.Errorf("%s: corrupt controller state: %w", b.algo, err)
	}
	if probe.Algorithm != b.algo {
		return fmt.Errorf("%s: the state is of algorithm %q, not %q", b.algo, probe.Algorithm, b.algo)
	}
	if probe.Format != stateFormat {
		return fmt.Errorf("%s: state format %d, this version reads %d", b.algo, probe.Format, stateFormat)
	}
	if len(probe.Radix) != len(b.radix) {
		return fmt.Errorf("%s: the state is of a space with %d decisions, this one has %d", b.algo, len(probe.Radix), len(b.radix))
	}
	if !slices.Equal(probe.Radix, b.radix) {
		return fmt.Errorf("%s: the state's choices per decision %v differ from this space's %v", b.algo, probe.Radix, b.radix)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(st); err != nil {
		return fmt.Errorf("%s: corrupt controller state: %w", b.algo, err)
	}
	if err := checkRNG(b.algo, bs.RNG); err != nil {
		return err
	}
	if bs.Pending != nil {
		if err := b.checkVector(bs.Pending); err != nil {
			return fmt.Errorf("%s: state's pending proposal: %w", b.algo, err)
		}
	}
	if bs.Best != nil {
		if err := b.checkVector(bs.Best); err != nil {
			return fmt.Errorf("%s: state's best vector: %w", b.algo, err)
		}
	}
	if bs.Observed < 0 || (bs.Observed == 0) != (bs.Best == nil) {
		return fmt.Errorf("%s: state has %d observations but best vector %v", b.algo, bs.Observed, bs.Best)
	}
	if math.IsNaN(bs.BestReward) || math.IsInf(bs.BestReward, 0) {
		return fmt.Errorf("%s: state's best reward %v is not finite", b.algo, bs.BestReward)
	}
	return nil
}

// restore installs a baseState that decodeState accepted; it is called
// only once every check of the controller's own state has passed, so it
// cannot leave a controller half-restored.
func (b *base) restore(bs baseState) {
	src := new(rand.PCG)
	_ = src.UnmarshalBinary(bs.RNG) // checked by decodeState
	b.src = src
	b.rng = rand.New(src)
	b.pending = bs.Pending
	b.best = bs.Best
	b.bestReward = bs.BestReward
	b.observed = bs.Observed
}

// checkVector reports whether v is a valid choice vector of the space.
func (b *base) checkVector(v []int) error {
	return checkVector(b.radix, v)
}

func checkVector(radix, v []int) error {
	if len(v) != len(radix) {
		return fmt.Errorf("vector %v has %d entries for %d decisions", v, len(v), len(radix))
	}
	for i, c := range v {
		if c < 0 || c >= radix[i] {
			return fmt.Errorf("vector %v: decision %d's choice %d is out of range 0..%d", v, i, c, radix[i]-1)
		}
	}
	return nil
}

// checkRNG verifies that a saved random stream decodes, so that restore
// cannot fail after the controller's own fields were replaced.
func checkRNG(algo string, data []byte) error {
	if err := new(rand.PCG).UnmarshalBinary(data); err != nil {
		return fmt.Errorf("%s: state's random stream: %w", algo, err)
	}
	return nil
}

// uniform draws a uniform choice vector.
func uniform(r *rand.Rand, radix []int) []int {
	v := make([]int, len(radix))
	for i, n := range radix {
		v[i] = r.IntN(n)
	}
	return v
}

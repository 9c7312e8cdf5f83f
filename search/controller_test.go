package search

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
)

// toyReward is a deterministic reward over any vector, with ties, so that
// tie rules are exercised.
func toyReward(v []int) float64 {
	var s float64
	for d, c := range v {
		s += float64((c*(d+3))%4) / 4
	}
	return s
}

// step runs one Propose/Observe pair with toyReward.
func step(t *testing.T, c Controller) ([]int, bool) {
	t.Helper()
	v, ok := c.Propose()
	if !ok {
		return nil, false
	}
	if err := c.Observe(v, toyReward(v)); err != nil {
		t.Fatalf("%s: %v", c.Name(), err)
	}
	return v, true
}

func TestNewErrors(t *testing.T) {
	if _, err := New("bayesian", decisionsOf(2), Config{}); err == nil || !strings.Contains(err.Error(), "tunas, evolution, random, exhaustive") {
		t.Errorf("unknown algorithm: error %v should list the algorithms", err)
	}
	if _, err := New("random", nil, Config{}); err == nil {
		t.Error("no decisions: want an error")
	}
	if _, err := New("random", decisionsOf(2, 0), Config{}); err == nil {
		t.Error("empty decision: want an error")
	}
	bad := []Config{
		{LearningRate: -1}, {LearningRate: math.NaN()}, {BaselineMomentum: 1}, {BaselineMomentum: -0.1},
		{EntropyBonus: -1}, {EntropyBonus: math.Inf(1)}, {Batch: -2},
	}
	for _, cfg := range bad {
		if _, err := New("tunas", decisionsOf(2), cfg); err == nil {
			t.Errorf("tunas %+v: want an error", cfg)
		}
	}
	for _, cfg := range []Config{{Population: -1}, {Population: 5, Sample: 6}, {Sample: -1}} {
		if _, err := New("evolution", decisionsOf(2), cfg); err == nil {
			t.Errorf("evolution %+v: want an error", cfg)
		}
	}
	if _, err := New("evolution", decisionsOf(2), Config{Population: 3}); err != nil {
		t.Errorf("evolution with a population below the default sample: %v", err)
	}
	_, err := New("exhaustive", decisionsOf(10, 10, 10, 10, 10, 10, 2), Config{})
	if err == nil || !strings.Contains(err.Error(), "1000000") {
		t.Errorf("exhaustive over 2e6 vectors: error %v should name the limit", err)
	}
	if _, err := New("exhaustive", decisionsOf(10, 10, 10, 10, 10, 10), Config{}); err != nil {
		t.Errorf("exhaustive over exactly 1e6 vectors: %v", err)
	}
	if _, err := New("exhaustive", decisionsOf(slices.Repeat([]int{1000}, 40)...), Config{}); err == nil || !strings.Contains(err.Error(), "10^120") {
		t.Errorf("exhaustive over 1e120 vectors: %v", err)
	}
	if got := Algorithms(); !slices.Equal(got, []string{"tunas", "evolution", "random", "exhaustive"}) {
		t.Errorf("Algorithms() = %v", got)
	}
}

// TestObserveErrors checks that every misuse is refused and changes
// nothing.
func TestObserveErrors(t *testing.T) {
	for _, algo := range Algorithms() {
		c, err := New(algo, decisionsOf(3, 4, 2), Config{Seed: 1, Population: 4, Sample: 2})
		if err != nil {
			t.Fatal(err)
		}
		if c.Name() != algo {
			t.Errorf("Name() = %q, want %q", c.Name(), algo)
		}
		for range 6 {
			step(t, c)
		}
		if err := c.Observe([]int{0, 0, 0}, 1); err == nil {
			t.Errorf("%s: Observe without a proposal: want an error", algo)
		}
		before, _ := c.MarshalState()
		v, _ := c.Propose()
		again, _ := c.Propose()
		if !slices.Equal(v, again) {
			t.Errorf("%s: Propose while pending gave %v then %v", algo, v, again)
		}
		pending, _ := c.MarshalState()
		other := slices.Clone(v)
		other[0] = (other[0] + 1) % 3
		for _, o := range []struct {
			v []int
			r float64
		}{{other, 1}, {v[:2], 1}, {v, math.NaN()}, {v, math.Inf(1)}, {v, math.Inf(-1)}, {nil, 1}} {
			if err := c.Observe(o.v, o.r); err == nil {
				t.Errorf("%s: Observe(%v, %v) with %v pending: want an error", algo, o.v, o.r, v)
			}
		}
		if after, _ := c.MarshalState(); !bytes.Equal(after, pending) {
			t.Errorf("%s: rejected observations changed the state", algo)
		}
		if bytes.Equal(before, pending) {
			t.Errorf("%s: the pending proposal is not in the state", algo)
		}
		v[0] = 99 // the caller's copy must not alias the pending proposal
		if w, _ := c.Propose(); w[0] == 99 {
			t.Errorf("%s: Propose returned the controller's own slice", algo)
		}
	}
}

// run records n steps of c with toyReward.
func run(t *testing.T, c Controller, n int) [][]int {
	t.Helper()
	var out [][]int
	for range n {
		v, ok := step(t, c)
		if !ok {
			break
		}
		out = append(out, v)
	}
	return out
}

func TestDeterminism(t *testing.T) {
	ds := decisionsOf(3, 5, 2, 4, 6)
	for _, algo := range Algorithms() {
		for _, cfg := range []Config{{Seed: 42, Population: 8, Sample: 3}, {Seed: 42, Batch: 3, EntropyBonus: 0.01}} {
			a, _ := New(algo, ds, cfg)
			b, _ := New(algo, ds, cfg)
			ra, rb := run(t, a, 300), run(t, b, 300)
			if !slices.EqualFunc(ra, rb, slices.Equal) {
				t.Errorf("%s: same seed, different sequences", algo)
			}
			if algo == "exhaustive" {
				continue
			}
			cfg.Seed = 43
			c, _ := New(algo, ds, cfg)
			if rc := run(t, c, 300); slices.EqualFunc(ra, rc, slices.Equal) {
				t.Errorf("%s: seeds 42 and 43 gave the same sequence", algo)
			}
		}
	}
}

// TestStateRoundTrip saves controllers at several points (with and
// without a pending proposal, mid-batch) and checks that a controller
// created with other settings continues exactly like the original.
func TestStateRoundTrip(t *testing.T) {
	ds := decisionsOf(3, 5, 2, 4, 6)
	cfg := Config{Seed: 5, Population: 7, Sample: 3, Batch: 3, EntropyBonus: 0.05, LearningRate: 0.2}
	for _, algo := range Algorithms() {
		for _, at := range []int{0, 1, 5, 8, 40} {
			for _, withPending := range []bool{false, true} {
				a, _ := New(algo, ds, cfg)
				run(t, a, at)
				if withPending {
					a.Propose()
				}
				data, err := a.MarshalState()
				if err != nil {
					t.Fatal(err)
				}
				b, _ := New(algo, ds, Config{Seed: 999, Population: 30, Sample: 1, Batch: 1})
				if err := b.UnmarshalState(data); err != nil {
					t.Fatalf("%s at %d: %v", algo, at, err)
				}
				if !slices.Equal(a.Chosen(), b.Chosen()) || a.Entropy() != b.Entropy() {
					t.Errorf("%s at %d: restored Chosen/Entropy differ", algo, at)
				}
				ra, rb := run(t, a, 60), run(t, b, 60)
				if !slices.EqualFunc(ra, rb, slices.Equal) {
					t.Errorf("%s at %d (pending %v): restored controller diverged", algo, at, withPending)
				}
				sa, _ := a.MarshalState()
				sb, _ := b.MarshalState()
				if !bytes.Equal(sa, sb) {
					t.Errorf("%s at %d: states differ after continuing", algo, at)
				}
			}
		}
	}
}

func TestUnmarshalStateErrors(t *testing.T) {
	ds := decisionsOf(3, 5, 2)
	states := map[string][]byte{}
	for _, algo := range Algorithms() {
		c, _ := New(algo, ds, Config{Seed: 1, Population: 4})
		run(t, c, 10)
		states[algo], _ = c.MarshalState()
	}
	for _, algo := range Algorithms() {
		c, _ := New(algo, ds, Config{Seed: 1, Population: 4})
		run(t, c, 3)
		before, _ := c.MarshalState()
		for other, data := range states {
			if other == algo {
				continue
			}
			err := c.UnmarshalState(data)
			if err == nil || !strings.Contains(err.Error(), other) {
				t.Errorf("%s: restoring %s state: %v", algo, other, err)
			}
		}
		d, _ := New(algo, decisionsOf(3, 5), Config{})
		if err := d.UnmarshalState(states[algo]); err == nil || !strings.Contains(err.Error(), "3 decisions") {
			t.Errorf("%s: restoring into a 2-decision space: %v", algo, err)
		}
		d, _ = New(algo, decisionsOf(3, 5, 4), Config{})
		if err := d.UnmarshalState(states[algo]); err == nil {
			t.Errorf("%s: restoring into a space with other choice counts: want an error", algo)
		}
		corrupt := [][]byte{
			nil, []byte("{"), []byte(`"tunas"`), []byte(`{}`),
			bytes.Replace(states[algo], []byte(`"rng":"`), []byte(`"rng":"AA`), 1),
			bytes.Replace(states[algo], []byte(`"format":1`), []byte(`"format":2`), 1),
			bytes.Replace(states[algo], []byte(`"observed":`), []byte(`"surprise":1,"observed":`), 1),
			bytes.Replace(states[algo], []byte(`"best":[`), []byte(`"best":[7,`), 1),
		}
		corrupt = append(corrupt, mutateJSON(t, states[algo], algo)...)
		for i, data := range corrupt {
			if err := c.UnmarshalState(data); err == nil {
				t.Errorf("%s: corrupt state %d (%.80s...) accepted", algo, i, data)
			}
		}
		if after, _ := c.MarshalState(); !bytes.Equal(after, before) {
			t.Errorf("%s: failed restores changed the controller", algo)
		}
	}
}

// mutateJSON returns algorithm-specific corruptions of a valid state.
func mutateJSON(t *testing.T, data []byte, algo string) [][]byte {
	t.Helper()
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	out := [][]byte{
		edit(func(m map[string]any) { m["observed"] = -1 }),
		edit(func(m map[string]any) { m["pending"] = []int{0, 9, 0} }),
	}
	switch algo {
	case "tunas":
		out = append(out,
			edit(func(m map[string]any) { m["logits"] = []float64{1, 2} }),
			edit(func(m map[string]any) { m["learning_rate"] = -1 }),
			edit(func(m map[string]any) { m["batch"] = 0 }),
			edit(func(m map[string]any) { m["batch_choices"] = [][]int{{0, 0, 0}} }),
			edit(func(m map[string]any) { a := m["adam_v"].([]any); a[0] = -1.0 }),
			edit(func(m map[string]any) { m["adam_steps"] = 3.0 }),
		)
	case "evolution":
		out = append(out,
			edit(func(m map[string]any) { m["sample"] = 9 }),
			edit(func(m map[string]any) { a := m["members"].([]any); a[0].(map[string]any)["choice"] = []int{1} }),
			edit(func(m map[string]any) { m["members"] = slices.Repeat(m["members"].([]any), 3) }),
		)
	case "exhaustive":
		out = append(out,
			edit(func(m map[string]any) { m["next"] = []int{3, 0, 0} }),
			edit(func(m map[string]any) { m["next"] = []int{0, 0, 0} }),
			edit(func(m map[string]any) { m["next"] = nil }),
		)
	}
	return out
}

func TestChosenTiesEarliest(t *testing.T) {
	for _, algo := range []string{"random", "evolution", "exhaustive"} {
		c, _ := New(algo, decisionsOf(4, 4), Config{Seed: 3, Population: 3, Sample: 2})
		if c.Chosen() != nil {
			t.Errorf("%s: Chosen before any observation = %v, want nil", algo, c.Chosen())
		}
		var first []int
		for i := range 12 {
			v, _ := c.Propose()
			r := 1.0
			if i == 5 || i == 7 {
				r = 2 // a tie: the earlier one stays chosen
			}
			if i == 5 {
				first = v
			}
			if err := c.Observe(v, r); err != nil {
				t.Fatal(err)
			}
		}
		if got := c.Chosen(); !slices.Equal(got, first) {
			t.Errorf("%s: chose %v, want the earlier of the tied best %v", algo, got, first)
		}
	}
	c, _ := New("tunas", decisionsOf(4, 4), Config{})
	if got := c.Chosen(); !slices.Equal(got, []int{0, 0}) {
		t.Errorf("untrained tunas chose %v, want the lowest indices", got)
	}
}

func TestEntropy(t *testing.T) {
	ds := decisionsOf(3, 5)
	want := map[string]float64{"random": math.Log(15), "tunas": math.Log(15), "evolution": 0, "exhaustive": 0}
	for algo, h := range want {
		c, _ := New(algo, ds, Config{})
		if got := c.Entropy(); math.Abs(got-h) > 1e-12 {
			t.Errorf("%s: entropy %g, want %g", algo, got, h)
		}
	}
}

func TestExhaustiveAndEnumerate(t *testing.T) {
	ds := decisionsOf(2, 3, 1, 2)
	var want [][]int
	if err := Enumerate(ds, func(v []int) bool { want = append(want, slices.Clone(v)); return true }); err != nil {
		t.Fatal(err)
	}
	if len(want) != 12 || !slices.Equal(want[0], []int{0, 0, 0, 0}) || !slices.Equal(want[1], []int{0, 0, 0, 1}) || !slices.Equal(want[11], []int{1, 2, 0, 1}) {
		t.Fatalf("Enumerate order: %v", want)
	}
	for i := 1; i < len(want); i++ {
		if slices.Compare(want[i-1], want[i]) >= 0 {
			t.Fatalf("not lexicographic at %d: %v then %v", i, want[i-1], want[i])
		}
	}
	c, _ := New("exhaustive", ds, Config{})
	got := run(t, c, 100)
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("exhaustive proposals %v, want %v", got, want)
	}
	if v, ok := c.Propose(); ok {
		t.Errorf("exhaustive after the last vector proposed %v", v)
	}
	n := 0
	_ = Enumerate(ds, func([]int) bool { n++; return n < 5 })
	if n != 5 {
		t.Errorf("Enumerate did not stop when asked: %d calls", n)
	}
	if err := Enumerate(decisionsOf(2, 0), func([]int) bool { return true }); err == nil {
		t.Error("Enumerate of an empty decision: want an error")
	}
	if err := Enumerate(ds, nil); err == nil {
		t.Error("Enumerate(nil fn): want an error")
	}
}

// TestEvolutionMechanics checks the initial random phase, that every
// later proposal is a population member with exactly one decision
// changed, and the FIFO population.
func TestEvolutionMechanics(t *testing.T) {
	ds := decisionsOf(3, 1, 4, 2, 5)
	c, _ := New("evolution", ds, Config{Seed: 9, Population: 6, Sample: 3})
	e := c.(*evolution)
	var history [][]int
	for i := range 400 {
		popBefore := slices.Clone(e.pop)
		v, _ := c.Propose()
		if i >= 6 {
			if len(popBefore) != 6 {
				t.Fatalf("step %d: population %d, want 6", i, len(popBefore))
			}
			found := false
			for _, m := range popBefore {
				diff := 0
				for d := range v {
					if v[d] != m.Choice[d] {
						diff++
					}
				}
				if diff == 1 {
					found = true
				}
			}
			if !found {
				t.Fatalf("step %d: %v is not a one-decision mutation of the population", i, v)
			}
			if v[1] != 0 {
				t.Fatalf("step %d: mutated a single-choice decision: %v", i, v)
			}
		}
		if err := c.Observe(v, toyReward(v)); err != nil {
			t.Fatal(err)
		}
		history = append(history, v)
		start := max(0, len(history)-6)
		for j, m := range e.pop {
			if !slices.Equal(m.Choice, history[start+j]) {
				t.Fatalf("step %d: population is not the last 6 children in order", i)
			}
		}
	}
	if r := toyReward(c.Chosen()); r < toyReward([]int{0, 0, 0, 0, 0}) {
		t.Errorf("evolution's best %v has reward %g", c.Chosen(), r)
	}
	// A one-vector space cannot be mutated; the child is the parent.
	one, _ := New("evolution", decisionsOf(1, 1), Config{Population: 2, Sample: 1})
	for _, v := range run(t, one, 5) {
		if !slices.Equal(v, []int{0, 0}) {
			t.Errorf("one-vector space proposed %v", v)
		}
	}
}

// TestRandomUniform checks the random controller's marginals.
func TestRandomUniform(t *testing.T) {
	c, _ := New("random", decisionsOf(4, 3), Config{Seed: 2})
	counts := [2][4]int{}
	const n = 12000
	for range n {
		v, _ := c.Propose()
		_ = c.Observe(v, 0)
		counts[0][v[0]]++
		counts[1][v[1]]++
	}
	for d, k := range []int{4, 3} {
		for j := range k {
			exp := float64(n) / float64(k)
			if math.Abs(float64(counts[d][j])-exp) > 5*math.Sqrt(exp) {
				t.Errorf("decision %d choice %d drawn %d times, expected about %.0f", d, j, counts[d][j], exp)
			}
		}
	}
}

// FuzzUnmarshalState feeds arbitrary bytes to every controller's restore;
// it must never panic, and accepted states must keep working.
func FuzzUnmarshalState(f *testing.F) {
	ds := decisionsOf(3, 2)
	for _, algo := range Algorithms() {
		c, _ := New(algo, ds, Config{Population: 3, Batch: 2})
		for range 5 {
			v, _ := c.Propose()
			_ = c.Observe(v, float64(len(v))/3)
		}
		data, _ := c.MarshalState()
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, algo := range Algorithms() {
			c, _ := New(algo, ds, Config{Population: 3, Batch: 2})
			if c.UnmarshalState(data) == nil {
				for range 5 {
					if v, ok := c.Propose(); ok {
						if err := c.Observe(v, 1); err != nil {
							t.Fatalf("%s: accepted state then failed: %v", algo, err)
						}
					}
				}
				c.Chosen()
				c.Entropy()
			}
		}
	})
}

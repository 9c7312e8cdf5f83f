package search

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/fleetnas/fleetnas/setting"
)

// Adam settings of TuNAS's controller optimiser. beta1 = 0 turns off
// momentum, so each step follows the current policy gradient, normalised
// by a long (beta2) average of squared gradients; the update is then
// insensitive to the scale of the rewards.
const (
	adamBeta1 = 0.0
	adamBeta2 = 0.999
	adamEps   = 1e-8
)

// Distributor is implemented by controllers with an explicit sampling
// distribution (tunas), for reports that show how a search converged.
type Distributor interface {
	// Probabilities returns each decision's choice probabilities.
	Probabilities() [][]float64
}

// tunas is the REINFORCE controller of TuNAS (Bender et al. 2020, and
// google-research/tunas): one independent categorical distribution per
// decision with logits starting at 0, so the first proposals are uniform.
//
// After every Batch observations it updates the logits θ:
//
//   - the reward baseline b is an exponential moving average (momentum
//     BaselineMomentum) of the batch-mean reward, updated before it is
//     used and zero-debiased as in TuNAS: b = num/den with num and den
//     accumulating reward and 1 from 0, so the very first batch sets b to
//     its own mean exactly (no arbitrary initial value, no bias towards 0
//     in the first steps; a single-sample first batch gets advantage 0);
//   - each sample i of the batch has the loss -(R_i - b) Σ_d log p_d(a_id)
//     and the gradient g_i; Adam (beta1 0, beta2 0.999, eps 1e-8, bias
//     corrected) steps along the mean of the g_i with the second moment
//     fed the mean of g_i², as TuNAS does across TPU cores;
//   - the entropy bonus λ enters the loss as -λ H(θ) and, as in TuNAS,
//     is applied as a separate plain gradient step of size LearningRate
//     (it would otherwise be renormalised by Adam together with the
//     noisy policy gradient).
//
// TuNAS also delays and exponentially warms up its learning rate because
// it trains shared weights at the same time; with rewards from a
// benchmark or a predictor there is nothing to wait for, so the rate is
// constant here.
type tunas struct {
	base
	lr, momentum, bonus float64
	batch               int

	off    []int     // decision d's logits are logits[off[d]:off[d+1]]
	logits []float64 // θ
	adamM  []float64
	adamV  []float64
	adamT  int

	emaNum, emaDen float64

	batchChoices [][]int
	batchRewards []float64

	// Scratch, derived from logits; never saved.
	probs, logp  []float64
	probsOK      bool
	grad, gradSq []float64
	entGrad      []float64
}

func newTunas(radix []int, cfg Config) (*tunas, error) {
	lr, mom, bonus, batch := cfg.LearningRate, cfg.BaselineMomentum, cfg.EntropyBonus, cfg.Batch
	if lr == 0 {
		lr = DefaultLearningRate
	}
	if mom == 0 {
		mom = DefaultBaselineMomentum
	}
	if batch == 0 {
		batch = DefaultBatch
	}
	if err := checkTunasParams(lr, mom, bonus, batch); err != nil {
		return nil, err
	}
	t := &tunas{
		base: newBase("tunas", radix, cfg.Seed),
		lr:   lr, momentum: mom, bonus: bonus, batch: batch,
	}
	t.off = make([]int, len(radix)+1)
	for d, n := range radix {
		t.off[d+1] = t.off[d] + n
	}
	n := t.off[len(radix)]
	t.logits = make([]float64, n)
	t.adamM = make([]float64, n)
	t.adamV = make([]float64, n)
	t.probs = make([]float64, n)
	t.logp = make([]float64, n)
	t.grad = make([]float64, n)
	t.gradSq = make([]float64, n)
	return t, nil
}

func checkTunasParams(lr, mom, bonus float64, batch int) error {
	if !(lr > 0) || math.IsInf(lr, 0) {
		return setting.Errorf("learning_rate", "tunas's must be a positive number, got %v", lr)
	}
	if !(mom >= 0 && mom < 1) {
		return setting.Errorf("baseline_momentum", "tunas's must be in [0, 1), got %v", mom)
	}
	if !(bonus >= 0) || math.IsInf(bonus, 0) {
		return setting.Errorf("entropy_bonus", "tunas's must be a non-negative number, got %v", bonus)
	}
	if batch < 1 {
		return setting.Errorf("tunas_batch", "tunas's must be at least 1, got %d", batch)
	}
	return nil
}

// updateProbs recomputes the probabilities from the logits (max-shifted,
// so large logits cannot overflow). It runs before every proposal after
// an update, so it computes only what sampling needs.
func (t *tunas) updateProbs() {
	if t.probsOK {
		return
	}
	for d := range t.radix {
		th := t.logits[t.off[d]:t.off[d+1]]
		p := t.probs[t.off[d]:t.off[d+1]]
		m := slices.Max(th)
		var s float64
		for j, x := range th {
			p[j] = math.Exp(x - m)
			s += p[j]
		}
		inv := 1 / s
		for j := range p {
			p[j] *= inv
		}
	}
	t.probsOK = true
}

// updateLogp fills logp with the log-probabilities of the current logits,
// for the entropy and its gradient.
func (t *tunas) updateLogp() {
	for d := range t.radix {
		th := t.logits[t.off[d]:t.off[d+1]]
		m := slices.Max(th)
		var s float64
		for _, x := range th {
			s += math.Exp(x - m)
		}
		lse := m + math.Log(s)
		for j, x := range th {
			t.logp[t.off[d]+j] = x - lse
		}
	}
}

// Propose samples one choice per decision from the current policy.
func (t *tunas) Propose() ([]int, bool) {
	if t.pending != nil {
		return slices.Clone(t.pending), true
	}
	return t.propose(t.sample()), true
}

// sample draws a vector from the current policy by inverting each
// decision's cumulative distribution with one uniform number.
func (t *tunas) sample() []int {
	t.updateProbs()
	v := make([]int, len(t.radix))
	for d := range t.radix {
		p := t.probs[t.off[d]:t.off[d+1]]
		u := t.rng.Float64()
		c := len(p) - 1 // if rounding leaves u above the total
		var cum float64
		for j, pj := range p {
			cum += pj
			if u < cum {
				c = j
				break
			}
		}
		v[d] = c
	}
	return v
}

// Observe records the reward and updates the policy once a batch is full.
func (t *tunas) Observe(choice []int, reward float64) error {
	if err := t.checkObserve(choice, reward); err != nil {
		return err
	}
	v := t.accept(reward)
	t.batchChoices = append(t.batchChoices, v)
	t.batchRewards = append(t.batchRewards, reward)
	if len(t.batchChoices) == t.batch {
		t.update()
	}
	return nil
}

// update performs one REINFORCE step on the full batch (see tunas).
func (t *tunas) update() {
	n := float64(len(t.batchRewards))
	var mean float64
	for _, r := range t.batchRewards {
		mean += r
	}
	mean /= n
	t.emaNum = t.momentum*t.emaNum + (1-t.momentum)*mean
	t.emaDen = t.momentum*t.emaDen + (1 - t.momentum)
	baseline := t.emaNum / t.emaDen

	t.updateProbs()
	if t.bonus > 0 {
		// The entropy step uses the gradient at the logits the batch was
		// sampled from, like TuNAS's two optimisers applied to one loss.
		if t.entGrad == nil {
			t.entGrad = make([]float64, len(t.logits))
		}
		t.updateLogp()
		clear(t.entGrad)
		addEntropyGrad(t.entGrad, t.probs, t.logp, t.off, 1)
	}
	t.adamT++
	lrT := t.lr * math.Sqrt(1-math.Pow(adamBeta2, float64(t.adamT))) / (1 - math.Pow(adamBeta1, float64(t.adamT)))

	if len(t.batchChoices) == 1 {
		// The common case, fused into one pass for speed: the gradient
		// of one sample is adv*(p_j - [j = a]) and its square is g².
		adv := t.batchRewards[0] - baseline
		v := t.batchChoices[0]
		for d, a := range v {
			for j := t.off[d]; j < t.off[d+1]; j++ {
				g := adv * t.probs[j]
				if j-t.off[d] == a {
					g -= adv
				}
				t.adamStep(j, g, g*g, lrT)
			}
		}
	} else {
		clear(t.grad)
		clear(t.gradSq)
		for i, v := range t.batchChoices {
			addPolicyGrad(t.grad, t.gradSq, t.probs, t.off, v, t.batchRewards[i]-baseline, n)
		}
		for j, g := range t.grad {
			t.adamStep(j, g, t.gradSq[j], lrT)
		}
	}
	t.probsOK = false
	t.batchChoices = t.batchChoices[:0]
	t.batchRewards = t.batchRewards[:0]
}

// adamStep updates logit j with Adam given the mean gradient g and the
// mean squared gradient g2 of the batch, then applies the entropy step.
func (t *tunas) adamStep(j int, g, g2, lrT float64) {
	t.adamM[j] = adamBeta1*t.adamM[j] + (1-adamBeta1)*g
	t.adamV[j] = adamBeta2*t.adamV[j] + (1-adamBeta2)*g2
	t.logits[j] -= lrT * t.adamM[j] / (math.Sqrt(t.adamV[j]) + adamEps)
	if t.bonus > 0 {
		// Descending -bonus*H is ascending H.
		t.logits[j] += t.lr * t.bonus * t.entGrad[j]
	}
}

// addPolicyGrad adds to grad (and its square to gradSq), divided by n, the
// gradient with respect to the logits of the REINFORCE loss
// -adv * Σ_d log p_d(v_d). For a softmax, ∂ log p(a)/∂θ_j = [j = a] - p_j,
// so the gradient is -adv * ([j = v_d] - p_j) within each decision.
func addPolicyGrad(grad, gradSq, probs []float64, off, v []int, adv, n float64) {
	for d, a := range v {
		p := probs[off[d]:off[d+1]]
		g := grad[off[d]:off[d+1]]
		g2 := gradSq[off[d]:off[d+1]]
		for j, pj := range p {
			x := adv * pj
			if j == a {
				x -= adv
			}
			g[j] += x / n
			g2[j] += x * x / n
		}
	}
}

// addEntropyGrad adds scale * ∂H/∂θ to grad, where H = Σ_d H_d is the
// summed entropy; for a softmax ∂H_d/∂θ_j = -p_j (log p_j + H_d).
func addEntropyGrad(grad, probs, logp []float64, off []int, scale float64) {
	for d := 0; d+1 < len(off); d++ {
		p := probs[off[d]:off[d+1]]
		lp := logp[off[d]:off[d+1]]
		var h float64
		for j, pj := range p {
			h -= pj * lp[j]
		}
		for j, pj := range p {
			grad[off[d]+j] += scale * -pj * (lp[j] + h)
		}
	}
}

// Chosen returns each decision's most likely choice (lowest index on ties,
// so an untrained controller chooses all zeros).
func (t *tunas) Chosen() []int {
	v := make([]int, len(t.radix))
	for d := range t.radix {
		th := t.logits[t.off[d]:t.off[d+1]]
		for j, x := range th {
			if x > th[v[d]] {
				v[d] = j
			}
		}
	}
	return v
}

// Entropy sums the entropies of the decisions' distributions.
func (t *tunas) Entropy() float64 {
	t.updateProbs()
	t.updateLogp()
	var h float64
	for j, p := range t.probs {
		if p > 0 {
			h -= p * t.logp[j]
		}
	}
	return h
}

// Probabilities returns a copy of each decision's distribution.
func (t *tunas) Probabilities() [][]float64 {
	t.updateProbs()
	out := make([][]float64, len(t.radix))
	for d := range t.radix {
		out[d] = slices.Clone(t.probs[t.off[d]:t.off[d+1]])
	}
	return out
}

// tunasState is the saved form of a tunas controller. The settings are
// part of it: a restored controller continues with the settings it was
// saved with, whatever Config it was created with.
type tunasState struct {
	baseState
	LearningRate     float64   `json:"learning_rate"`
	BaselineMomentum float64   `json:"baseline_momentum"`
	EntropyBonus     float64   `json:"entropy_bonus"`
	Batch            int       `json:"batch"`
	Logits           []float64 `json:"logits"`
	AdamM            []float64 `json:"adam_m"`
	AdamV            []float64 `json:"adam_v"`
	AdamSteps        int       `json:"adam_steps"`
	BaselineNum      float64   `json:"baseline_num"`
	BaselineDen      float64   `json:"baseline_den"`
	BatchChoices     [][]int   `json:"batch_choices,omitempty"`
	BatchRewards     []float64 `json:"batch_rewards,omitempty"`
}

// MarshalState saves the policy, optimiser, baseline, partial batch and
// random stream.
func (t *tunas) MarshalState() ([]byte, error) {
	bs, err := t.state()
	if err != nil {
		return nil, err
	}
	return json.Marshal(tunasState{
		baseState:        bs,
		LearningRate:     t.lr,
		BaselineMomentum: t.momentum,
		EntropyBonus:     t.bonus,
		Batch:            t.batch,
		Logits:           t.logits,
		AdamM:            t.adamM,
		AdamV:            t.adamV,
		AdamSteps:        t.adamT,
		BaselineNum:      t.emaNum,
		BaselineDen:      t.emaDen,
		BatchChoices:     t.batchChoices,
		BatchRewards:     t.batchRewards,
	})
}

// UnmarshalState restores a state saved by MarshalState.
func (t *tunas) UnmarshalState(data []byte) error {
	var st tunasState
	if err := t.decodeState(data, &st, &st.baseState); err != nil {
		return err
	}
	if err := checkTunasParams(st.LearningRate, st.BaselineMomentum, st.EntropyBonus, st.Batch); err != nil {
		return fmt.Errorf("tunas: state's settings: %v", err)
	}
	n := t.off[len(t.radix)]
	for name, xs := range map[string][]float64{"logits": st.Logits, "adam_m": st.AdamM, "adam_v": st.AdamV} {
		if len(xs) != n {
			return fmt.Errorf("tunas: state has %d %s for %d choices", len(xs), name, n)
		}
		if err := allFinite(xs); err != nil {
			return fmt.Errorf("tunas: state's %s: %w", name, err)
		}
	}
	for _, v := range st.AdamV {
		if v < 0 {
			return fmt.Errorf("tunas: state's adam_v has a negative entry %v", v)
		}
	}
	if st.AdamSteps < 0 {
		return fmt.Errorf("tunas: state has %d Adam steps", st.AdamSteps)
	}
	if err := allFinite([]float64{st.BaselineNum, st.BaselineDen}); err != nil {
		return fmt.Errorf("tunas: state's baseline: %w", err)
	}
	if st.BaselineDen < 0 || (st.BaselineDen == 0) != (st.AdamSteps == 0) {
		return fmt.Errorf("tunas: state's baseline weight %v does not match its %d updates", st.BaselineDen, st.AdamSteps)
	}
	if len(st.BatchChoices) != len(st.BatchRewards) || len(st.BatchChoices) >= st.Batch {
		return fmt.Errorf("tunas: state has %d batch choices and %d rewards for a batch of %d", len(st.BatchChoices), len(st.BatchRewards), st.Batch)
	}
	if st.Observed != st.AdamSteps*st.Batch+len(st.BatchChoices) {
		return fmt.Errorf("tunas: state has %d observations but %d updates of %d and %d in the batch", st.Observed, st.AdamSteps, st.Batch, len(st.BatchChoices))
	}
	for _, v := range st.BatchChoices {
		if err := t.checkVector(v); err != nil {
			return fmt.Errorf("tunas: state's batch: %w", err)
		}
	}
	if err := allFinite(st.BatchRewards); err != nil {
		return fmt.Errorf("tunas: state's batch rewards: %w", err)
	}

	t.restore(st.baseState)
	t.lr, t.momentum, t.bonus, t.batch = st.LearningRate, st.BaselineMomentum, st.EntropyBonus, st.Batch
	t.logits, t.adamM, t.adamV, t.adamT = st.Logits, st.AdamM, st.AdamV, st.AdamSteps
	t.emaNum, t.emaDen = st.BaselineNum, st.BaselineDen
	t.batchChoices = st.BatchChoices
	t.batchRewards = st.BatchRewards
	t.probsOK = false
	return nil
}

// allFinite reports the first NaN or infinite entry of xs.
func allFinite(xs []float64) error {
	for i, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("entry %d is %v", i, x)
		}
	}
	return nil
}

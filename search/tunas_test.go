package search

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/fleetnas/fleetnas/space"
)

// decisionsOf builds anonymous decisions with the given choice counts.
func decisionsOf(radix ...int) []space.Decision {
	ds := make([]space.Decision, len(radix))
	for i, n := range radix {
		ds[i].Name = "d" + string(rune('a'+i))
		for j := range n {
			ds[i].Choices = append(ds[i].Choices, string(rune('A'+j)))
		}
	}
	return ds
}

func offsets(radix []int) []int {
	off := make([]int, len(radix)+1)
	for d, n := range radix {
		off[d+1] = off[d] + n
	}
	return off
}

// tunasLoss is the loss the controller descends, written independently
// of the gradient code: -adv Σ_d log p_d(v_d) - bonus Σ_d H_d.
func tunasLoss(theta []float64, off, v []int, adv, bonus float64) float64 {
	var loss float64
	for d := 0; d+1 < len(off); d++ {
		th := theta[off[d]:off[d+1]]
		var z float64
		for _, x := range th {
			z += math.Exp(x)
		}
		var h float64
		for _, x := range th {
			p := math.Exp(x) / z
			h -= p * math.Log(p)
		}
		loss += -adv*(th[v[d]]-math.Log(z)) - bonus*h
	}
	return loss
}

func TestTunasGradientFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	radix := []int{2, 3, 5, 7, 1}
	off := offsets(radix)
	n := off[len(radix)]
	for trial := range 20 {
		theta := make([]float64, n)
		for j := range theta {
			theta[j] = 3 * r.NormFloat64()
		}
		v := uniform(r, radix)
		adv := r.NormFloat64()
		bonus := r.Float64()
		probs, logp := make([]float64, n), make([]float64, n)
		softmaxInto(probs, logp, theta, off)
		grad, sq := make([]float64, n), make([]float64, n)
		addPolicyGrad(grad, sq, probs, off, v, adv, 1)
		for j := range grad {
			if want := grad[j] * grad[j]; math.Abs(sq[j]-want) > 1e-12 {
				t.Fatalf("trial %d: squared gradient %d = %g, want %g", trial, j, sq[j], want)
			}
		}
		addEntropyGrad(grad, probs, logp, off, -bonus)
		const h = 1e-5
		for j := range theta {
			tp, tm := slices.Clone(theta), slices.Clone(theta)
			tp[j] += h
			tm[j] -= h
			fd := (tunasLoss(tp, off, v, adv, bonus) - tunasLoss(tm, off, v, adv, bonus)) / (2 * h)
			if math.Abs(fd-grad[j]) > 1e-7*(1+math.Abs(fd)) {
				t.Errorf("trial %d: ∂loss/∂θ_%d = %.10g, finite differences %.10g", trial, j, grad[j], fd)
			}
		}
	}
}

// softmaxInto fills probs and logp with each decision's softmax of theta,
// independently of the controller's cached version.
func softmaxInto(probs, logp, theta []float64, off []int) {
	for d := 0; d+1 < len(off); d++ {
		th := theta[off[d]:off[d+1]]
		m := slices.Max(th)
		var s float64
		for _, x := range th {
			s += math.Exp(x - m)
		}
		for j, x := range th {
			logp[off[d]+j] = x - m - math.Log(s)
			probs[off[d]+j] = math.Exp(logp[off[d]+j])
		}
	}
}

// TestTunasGradientUnbiased checks that the REINFORCE estimate of the
// controller, averaged over many samples of its own sampler, is minus the
// exact gradient of the expected reward, computed by enumerating a tiny
// space; a constant baseline must not bias it.
func TestTunasGradientUnbiased(t *testing.T) {
	radix := []int{3, 2, 4}
	c, err := New("tunas", decisionsOf(radix...), Config{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	tu := c.(*tunas)
	r := rand.New(rand.NewPCG(3, 4))
	for j := range tu.logits {
		tu.logits[j] = r.NormFloat64()
	}
	tu.probsOK = false
	tu.updateProbs()
	reward := map[[3]int]float64{}
	if err := Enumerate(decisionsOf(radix...), func(v []int) bool {
		reward[[3]int(v)] = r.Float64() * 2
		return true
	}); err != nil {
		t.Fatal(err)
	}
	n := len(tu.logits)
	// Exact: ∇E[R] = Σ_a p(a) R(a) ∇log p(a).
	exact := make([]float64, n)
	for a, rw := range reward {
		p := 1.0
		for d, c := range a {
			p *= tu.probs[tu.off[d]+c]
		}
		// addPolicyGrad with adv = -p R adds p R ∇log p(a).
		addPolicyGrad(exact, make([]float64, n), tu.probs, tu.off, a[:], -p*rw, 1)
	}
	const samples = 200_000
	const baseline = 0.7
	mean, m2 := make([]float64, n), make([]float64, n)
	g, sq := make([]float64, n), make([]float64, n)
	for range samples {
		v := tu.sample()
		clear(g)
		addPolicyGrad(g, sq, tu.probs, tu.off, v, reward[[3]int(v)]-baseline, 1)
		for j, x := range g {
			mean[j] += x
			m2[j] += x * x
		}
	}
	for j := range mean {
		mean[j] /= samples
		se := math.Sqrt((m2[j]/samples - mean[j]*mean[j]) / samples)
		// The loss gradient estimates -∇E[R].
		if z := (mean[j] + exact[j]) / se; math.Abs(z) > 4.5 {
			t.Errorf("θ_%d: mean estimate %.5f, exact %.5f (%.1f standard errors off)", j, mean[j], -exact[j], z)
		}
	}
}

// TestTunasConcentrates runs tunas on a space whose reward counts the
// decisions set to a known best choice, plus deterministic noise.
func TestTunasConcentrates(t *testing.T) {
	radix := []int{4, 3, 5, 2, 6}
	best := []int{2, 0, 4, 1, 3}
	for _, batch := range []int{1, 4} {
		c, err := New("tunas", decisionsOf(radix...), Config{Seed: 11, Batch: batch})
		if err != nil {
			t.Fatal(err)
		}
		noise := rand.New(rand.NewPCG(5, 6))
		for range 1500 {
			v, _ := c.Propose()
			var rw float64
			for d := range v {
				if v[d] == best[d] {
					rw += 0.1
				}
			}
			if err := c.Observe(v, rw+0.02*noise.NormFloat64()); err != nil {
				t.Fatal(err)
			}
		}
		if got := c.Chosen(); !slices.Equal(got, best) {
			t.Errorf("batch %d: chose %v, want %v", batch, got, best)
		}
		probs := c.(Distributor).Probabilities()
		for d, p := range probs {
			if p[best[d]] < 0.9 {
				t.Errorf("batch %d: decision %d: p(best) = %.3f after 1500 steps, want > 0.9", batch, d, p[best[d]])
			}
		}
		if h := c.Entropy(); h > 1 {
			t.Errorf("batch %d: entropy %.3f nats, want the policy to have concentrated", batch, h)
		}
	}
}

// TestTunasFirstUpdate checks the first steps by hand: the debiased
// baseline makes the first single-sample advantage 0 (no move), and the
// second step moves every logit of a rewarded choice by the Adam step.
func TestTunasFirstUpdate(t *testing.T) {
	c, err := New("tunas", decisionsOf(2, 3), Config{Seed: 1, LearningRate: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	tu := c.(*tunas)
	if h, want := c.Entropy(), math.Log(2)+math.Log(3); math.Abs(h-want) > 1e-12 {
		t.Fatalf("initial entropy %g, want %g", h, want)
	}
	v, _ := c.Propose()
	if err := c.Observe(v, 5); err != nil {
		t.Fatal(err)
	}
	for j, x := range tu.logits {
		if x != 0 {
			t.Fatalf("logit %d moved to %g after the first (zero-advantage) step", j, x)
		}
	}
	if b := tu.emaNum / tu.emaDen; b != 5 {
		t.Fatalf("baseline after the first reward is %g, want 5", b)
	}
	w, _ := c.Propose()
	if err := c.Observe(w, 6); err != nil {
		t.Fatal(err)
	}
	// Baseline: (0.95*0.05*5 + 0.05*6) / (0.95*0.05 + 0.05).
	b := (0.95*0.05*5 + 0.05*6) / (0.95*0.05 + 0.05)
	if got := tu.emaNum / tu.emaDen; math.Abs(got-b) > 1e-12 {
		t.Fatalf("baseline %g, want %g", got, b)
	}
	// With v = 0 after one step, each update is lrT * g/(sqrt(0.001 g²))
	// = lrT*sign(g)/sqrt(0.001) (eps aside): the chosen logits rise, the
	// others fall, by the same amount.
	lrT := 0.1 * math.Sqrt(1-0.999*0.999)
	step := lrT / math.Sqrt(1-adamBeta2)
	for d, a := range w {
		for j := range tu.radix[d] {
			want := -step
			if j == a {
				want = step
			}
			if got := tu.logits[tu.off[d]+j]; math.Abs(got-want) > 1e-6 {
				t.Errorf("decision %d choice %d: logit %g, want %g", d, j, got, want)
			}
		}
	}
}

// TestTunasUpdateMatchesReference replays a controller's proposals through
// a straightforward re-implementation of the TuNAS update (debiased EMA
// baseline, per-sample REINFORCE gradients, Adam with beta1 = 0 whose
// second moment averages squared per-sample gradients, decoupled entropy
// step) and compares the logits after every update.
func TestTunasUpdateMatchesReference(t *testing.T) {
	radix := []int{3, 1, 4, 2}
	off := offsets(radix)
	n := off[len(radix)]
	for _, batch := range []int{1, 3} {
		const lr, mom, bonus = 0.07, 0.9, 0.03
		c, _ := New("tunas", decisionsOf(radix...), Config{Seed: 4, Batch: batch, LearningRate: lr, BaselineMomentum: mom, EntropyBonus: bonus})
		tu := c.(*tunas)
		theta, m, v := make([]float64, n), make([]float64, n), make([]float64, n)
		var num, den float64
		var vs [][]int
		var rs []float64
		steps := 0
		for i := range 60 {
			x, _ := c.Propose()
			r := toyReward(x) + float64(i%7)/10
			if err := c.Observe(x, r); err != nil {
				t.Fatal(err)
			}
			vs, rs = append(vs, x), append(rs, r)
			if len(vs) < batch {
				continue
			}
			steps++
			var mean float64
			for _, r := range rs {
				mean += r / float64(batch)
			}
			num = mom*num + (1-mom)*mean
			den = mom*den + (1 - mom)
			b := num / den
			probs, logp := make([]float64, n), make([]float64, n)
			softmaxInto(probs, logp, theta, off)
			g, g2 := make([]float64, n), make([]float64, n)
			for k, x := range vs {
				one, sq := make([]float64, n), make([]float64, n)
				addPolicyGrad(one, sq, probs, off, x, rs[k]-b, 1)
				for j := range one {
					g[j] += one[j] / float64(batch)
					g2[j] += one[j] * one[j] / float64(batch)
				}
			}
			dh := make([]float64, n)
			addEntropyGrad(dh, probs, logp, off, 1)
			corr := math.Sqrt(1 - math.Pow(0.999, float64(steps)))
			for j := range theta {
				m[j] = g[j]
				v[j] = 0.999*v[j] + 0.001*g2[j]
				theta[j] += -lr*corr*m[j]/(math.Sqrt(v[j])+1e-8) + lr*bonus*dh[j]
			}
			vs, rs = nil, nil
			for j := range theta {
				if math.Abs(theta[j]-tu.logits[j]) > 1e-12 {
					t.Fatalf("batch %d, update %d: logit %d is %.15g, reference %.15g", batch, steps, j, tu.logits[j], theta[j])
				}
			}
		}
	}
}

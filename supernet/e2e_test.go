package supernet

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/dataset"
	"github.com/fleetnas/fleetnas/optim"
	"github.com/fleetnas/fleetnas/search"
	"github.com/fleetnas/fleetnas/space"
)

// synthetic returns n gray images of side res whose class (0..3) is the
// quadrant holding a bright square, on a noisy background.
func synthetic(n, res int, seed uint64) *dataset.Split {
	r := rand.New(rand.NewPCG(seed, 5))
	s := &dataset.Split{H: res, W: res, C: 1, Pixels: make([]uint8, n*res*res), Labels: make([]int, n)}
	half := res / 2
	for i := range n {
		y := i % 4
		s.Labels[i] = y
		img := s.Pixels[i*res*res : (i+1)*res*res]
		for j := range img {
			img[j] = uint8(r.IntN(80))
		}
		oy, ox := (y/2)*half+r.IntN(3), (y%2)*half+r.IntN(3)
		for a := range half - 2 {
			for b := range half - 2 {
				img[(oy+a)*res+ox+b] = uint8(180 + r.IntN(70))
			}
		}
	}
	return s
}

// TestEndToEnd trains the supernet on a tiny synthetic data set the way
// a search does, then runs a few steps of the search loop itself.
//
// Training: 60 steps of candidates with the ops of MobileNet-MultiHW-AVG
// and uniformly drawn widths, with TuNAS's filter warmup over the first
// quarter; the training loss falls. (Candidates that also draw their ops
// share weights between far more different networks and need many more
// steps than a unit test can afford before the loss moves.)
//
// Search loop: the tunas controller proposes, the supernet trains the
// proposal on a training batch, and the controller is rewarded with the
// proposal's accuracy on a validation batch.
func TestEndToEnd(t *testing.T) {
	const steps, lr = 60, 0.02
	s := newTest(t, Config{Channels: 1, Classes: 4, Seed: 1, LabelSmoothing: 0.1})
	sp := s.Space()
	loader, err := dataset.NewLoader(synthetic(256, testRes, 1), 16, 2, dataset.Augment{})
	if err != nil {
		t.Fatal(err)
	}
	valSplit := synthetic(64, testRes, 2)
	opt, err := optim.NewSGD(optim.SGDConfig{Momentum: 0.9, Nesterov: true, WeightDecay: 4e-5})
	if err != nil {
		t.Fatal(err)
	}
	ops := parse(t, sp, space.MultiAVGChoice)
	widths := map[int]bool{}
	for d, dec := range sp.Decisions() {
		widths[d] = strings.HasSuffix(dec.Name, "/width")
	}
	w := Warmup{FilterSteps: int(WarmupFraction * steps)}
	r := rand.New(rand.NewPCG(7, 7))
	proposals := space.Sample(sp, steps, 3)
	var losses []float64
	step := 0
	for epoch := 0; step < steps; epoch++ {
		for x, labels := range loader.Epoch(epoch) {
			if step == steps {
				break
			}
			proposal := proposals[step]
			for d := range proposal {
				if !widths[d] {
					proposal[d] = ops[d]
				}
			}
			choice, err := s.WarmupChoice(proposal, step, w, r)
			if err != nil {
				t.Fatal(err)
			}
			loss, _, err := s.Step(x, labels, choice, opt, lr)
			if err != nil {
				t.Fatal(err)
			}
			losses = append(losses, loss)
			step++
		}
	}
	mean := func(xs []float64) float64 {
		var m float64
		for _, x := range xs {
			m += x
		}
		return m / float64(len(xs))
	}
	first, last := mean(losses[:10]), mean(losses[steps-10:])
	t.Logf("losses %.2f", losses)
	if !(last < 0.8*first) {
		t.Errorf("loss did not fall: first ten steps %.3f, last ten %.3f", first, last)
	}
	eval, err := dataset.NewEvalLoader(valSplit, 32)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := s.Evaluate(ops, eval, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("validation accuracy of MultiHW-AVG with the shared weights: %.1f%%", acc)
	if acc <= 25 {
		t.Errorf("validation accuracy %.1f%% is not above chance", acc)
	}

	// The search loop.
	ctl, err := search.New("tunas", sp.Decisions(), search.Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	valLoader, err := dataset.NewLoader(valSplit, 32, 3, dataset.Augment{})
	if err != nil {
		t.Fatal(err)
	}
	step = 0
	for x, labels := range loader.Epoch(100) {
		if step == 8 {
			break
		}
		choice, ok := ctl.Propose()
		if !ok {
			t.Fatal("the controller ran out of proposals")
		}
		if _, _, err := s.Step(x, labels, choice, opt, lr); err != nil {
			t.Fatal(err)
		}
		for vx, vl := range valLoader.Epoch(step) {
			acc, err := s.EvaluateBatch(vx, vl, choice)
			if err != nil {
				t.Fatal(err)
			}
			if err := ctl.Observe(choice, acc/100); err != nil {
				t.Fatal(err)
			}
			break
		}
		step++
	}
}

package supernet

import (
	"testing"
	"time"

	"github.com/fleetnas/fleetnas/nn"
	"github.com/fleetnas/fleetnas/optim"
	"github.com/fleetnas/fleetnas/space"
)

// benchSetup is the setting that decides whether a supernet search fits
// in an hour: multihw at proxy width 0.25 on 32x32 RGB images, 10
// classes, batch 64.
func benchSetup(b *testing.B, cacheSize int) (*Supernet, *nn.Tensor, []int, [][]int) {
	b.Helper()
	s, err := New(multihw(b), Config{Resolution: 32, Classes: 10, ProxyWidth: 0.25, Seed: 1, CacheSize: cacheSize})
	if err != nil {
		b.Fatal(err)
	}
	x, labels := randomBatch(s, 64, 1)
	return s, x, labels, space.Sample(s.Space(), b.N+1, 7)
}

// BenchmarkStep is one training step of a new random candidate each time
// (cache of one, so every step builds its model); build-ms is the part
// spent in train.Build and binding.
func BenchmarkStep(b *testing.B) {
	s, x, labels, choices := benchSetup(b, 1)
	opt, _ := optim.NewSGD(optim.SGDConfig{Momentum: 0.9, Nesterov: true})
	var build time.Duration
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		if _, err := s.candidate(choices[i]); err != nil {
			b.Fatal(err)
		}
		build += time.Since(t0)
		if _, _, err := s.Step(x, labels, choices[i], opt, 0.01); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(build.Microseconds())/1000/float64(b.N), "build-ms/op")
}

// BenchmarkStepCached repeats one candidate, whose model stays cached.
func BenchmarkStepCached(b *testing.B) {
	s, x, labels, choices := benchSetup(b, 1)
	opt, _ := optim.NewSGD(optim.SGDConfig{Momentum: 0.9, Nesterov: true})
	b.ResetTimer()
	for range b.N {
		if _, _, err := s.Step(x, labels, choices[0], opt, 0.01); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGatherScatter is the weight-sharing overhead of a step: one
// gather and one scatter of a random candidate's parameters.
func BenchmarkGatherScatter(b *testing.B) {
	s, _, _, choices := benchSetup(b, 64)
	var cs []*Candidate
	for i := range min(b.N, 64) {
		c, err := s.candidate(choices[i])
		if err != nil {
			b.Fatal(err)
		}
		cs = append(cs, c)
	}
	b.ResetTimer()
	for i := range b.N {
		c := cs[i%len(cs)]
		c.gather()
		for j := range c.bindings {
			c.bindings[j].scatter()
		}
	}
}

// BenchmarkEvaluateBatch is the reward of one random candidate on a
// validation batch of 64 (cached model).
func BenchmarkEvaluateBatch(b *testing.B) {
	s, x, labels, choices := benchSetup(b, 1)
	b.ResetTimer()
	for range b.N {
		if _, err := s.EvaluateBatch(x, labels, choices[0]); err != nil {
			b.Fatal(err)
		}
	}
}

package ort

import (
	"errors"
	"fmt"
	"time"
)

// Options configure a session.
type Options struct {
	// Threads is the number of intra-op threads (the parallelism of one
	// operator); 0 means 1. Inter-op parallelism is always off, so that a
	// measurement uses exactly Threads cores.
	Threads int
}

// Timing is the result of Session.Time.
type Timing struct {
	Summary
	// Samples are the individual run times in run order.
	Samples []time.Duration `json:"-"`
}

// Time runs the session warmup times unmeasured (ONNX Runtime allocates
// its buffers and the caches fill during the first runs), then runs more
// times and summarizes them.
func (s *Session) Time(warmup, runs int) (Timing, error) {
	if runs < 1 || warmup < 0 {
		return Timing{}, fmt.Errorf("need at least 1 run and no negative warm-up, got %d runs, %d warm-up", runs, warmup)
	}
	for range warmup {
		if err := s.run(); err != nil {
			return Timing{}, err
		}
	}
	d := make([]time.Duration, runs)
	for i := range d {
		t0 := time.Now()
		if err := s.run(); err != nil {
			return Timing{}, err
		}
		d[i] = time.Since(t0)
	}
	sum, err := Summarize(d)
	return Timing{Summary: sum, Samples: d}, err
}

// errClosed is returned by a session used after Close.
var errClosed = errors.New("ort: session is closed")

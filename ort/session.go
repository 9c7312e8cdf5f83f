package ort

import (
	"errors"
	"fmt"
	"runtime"
	"time"
)

// Options configure a session.
type Options struct {
	// Threads is the number of intra-op threads (the parallelism of one
	// operator); 0 means 1. Inter-op parallelism is always off, so that a
	// measurement uses exactly Threads cores.
	Threads int
	// ProfilePrefix, when set, turns on ONNX Runtime's own profiler: when
	// the session closes it writes PREFIX_<date>.json, a Chrome trace with
	// the time of every node of every run (ReadProfile reads it). Node
	// times add up to less than a run: the profiler leaves out the
	// runtime's work between nodes.
	ProfilePrefix string
}

// Clock says what a timing measures.
type Clock int

const (
	// Wall is elapsed time: the latency a user sees.
	Wall Clock = iota
	// ThreadCPU is the CPU time of the thread that runs the model, which
	// with one thread is ONNX Runtime's only thread (it runs operators on
	// the caller's thread). It leaves out the time the thread waits while
	// other processes use the core, so on a shared machine it is close to
	// what the wall clock gives on a quiet one; it cannot see memory
	// bandwidth or cache taken by others. Only for Threads = 1, on Linux.
	ThreadCPU
)

// String names the clock as the command line does.
func (c Clock) String() string {
	if c == ThreadCPU {
		return "cpu"
	}
	return "wall"
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
	return s.TimeWith(Wall, warmup, runs, nil)
}

// TimeWith is Time on a given clock, calling before (when not nil) ahead
// of every timed run, outside the timed interval. ThreadCPU needs a
// session with one thread.
func (s *Session) TimeWith(clock Clock, warmup, runs int, before func()) (Timing, error) {
	if runs < 1 || warmup < 0 {
		return Timing{}, fmt.Errorf("need at least 1 run and no negative warm-up, got %d runs, %d warm-up", runs, warmup)
	}
	if clock == ThreadCPU && s.threads != 1 {
		return Timing{}, fmt.Errorf("ort: the thread CPU clock measures one thread; the session has %d", s.threads)
	}
	for range warmup {
		if err := s.run(); err != nil {
			return Timing{}, err
		}
	}
	// The cgo call runs on the goroutine's current OS thread; locking it
	// makes the thread CPU clock read the thread that ran the model.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	base := time.Now() // wall durations since it are monotonic
	now := func() (time.Duration, error) {
		if clock == ThreadCPU {
			return threadCPUTime()
		}
		return time.Since(base), nil
	}
	d := make([]time.Duration, runs)
	for i := range d {
		if before != nil {
			before()
		}
		t0, err := now()
		if err != nil {
			return Timing{}, err
		}
		if err := s.run(); err != nil {
			return Timing{}, err
		}
		t1, err := now()
		if err != nil {
			return Timing{}, err
		}
		d[i] = t1 - t0
	}
	sum, err := Summarize(d)
	return Timing{Summary: sum, Samples: d}, err
}

// errClosed is returned by a session used after Close.
var errClosed = errors.New("ort: session is closed")

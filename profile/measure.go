// Package profile measures networks with ONNX Runtime on the local CPU
// and turns the measurements into per-op latency tables (package lut):
// whole-network timings (Measure), a table of every block configuration a
// search space can produce at one resolution, each timed as a single-block
// graph as nn-Meter profiles kernels (Configs, Profile), and a check of
// such a table against whole-network runs of random networks, with a
// fitted correction for what an additive table misses (Validate).
package profile

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/onnx"
	"github.com/fleetnas/fleetnas/ort"
)

// Options say how a model is timed.
type Options struct {
	// Threads is ONNX Runtime's intra-op thread count (0: 1).
	Threads int
	// Warmup runs are not timed (0: 3; negative: none).
	Warmup int
	// MinRuns and MaxRuns bound the timed runs; between them, runs go on
	// until MinTimeMs of measured time has accumulated, so that fast
	// blocks get enough runs for a stable median and slow networks do not
	// take forever. Zero values take 10, 200 and 100 ms (a tiny MinTimeMs
	// gives MinRuns runs exactly).
	MinRuns, MaxRuns int
	MinTimeMs        float64
	// Seed draws the random weights (when none are given) and the input.
	Seed uint64
	// Clock is wall time (the default) or, with one thread, the thread's
	// CPU time, which a shared machine disturbs much less (ort.ThreadCPU).
	Clock ort.Clock
	// FlushBytes > 0 evicts caches before every timed run by writing that
	// much memory, then rewrites the input so that it alone is warm: a
	// block inside a network finds its input just written by the block
	// before but its weights pushed out by the rest of the network,
	// whereas a block timed in a loop keeps its weights in cache. With
	// flushing, a model is run MinRuns times (MinTimeMs is ignored).
	FlushBytes int
	// Retries re-times a model whose runs were noisy (CV > ort.NoisyCV) up
	// to this many more times and keeps the timing with the lowest
	// median: other processes only ever add time, so on a shared machine
	// the lowest median is the closest to the quiet one. 0 means 2;
	// negative means none. A timing that stays noisy is reported as such.
	Retries int
}

func (o Options) withDefaults() Options {
	if o.Threads == 0 {
		o.Threads = 1
	}
	if o.Warmup == 0 {
		o.Warmup = 3
	}
	o.Warmup = max(o.Warmup, 0)
	if o.MinRuns == 0 {
		o.MinRuns = 10
	}
	if o.MaxRuns == 0 {
		o.MaxRuns = 200
	}
	if o.MaxRuns < o.MinRuns {
		o.MaxRuns = o.MinRuns
	}
	if o.MinTimeMs == 0 {
		o.MinTimeMs = 100
	}
	if o.Retries == 0 {
		o.Retries = 2
	}
	o.Retries = max(o.Retries, 0)
	return o
}

// Measure exports a lowered network with the given weights (nil:
// deterministic random weights from opt.Seed), loads it in ONNX Runtime
// (ort.Init must have succeeded) and times it.
func Measure(g *arch.Graph, w *onnx.Weights, opt Options) (ort.Timing, error) {
	opt = opt.withDefaults()
	if w == nil {
		w = onnx.GraphWeights(g, opt.Seed)
	}
	b, err := onnx.Marshal(g, w)
	if err != nil {
		return ort.Timing{}, err
	}
	inShape, outShape := onnx.Shapes(g)
	s, err := ort.NewSession(b, onnx.InputName, inShape, onnx.OutputName, outShape, ort.Options{Threads: opt.Threads})
	if err != nil {
		return ort.Timing{}, err
	}
	defer s.Close()
	r := rand.New(rand.NewPCG(opt.Seed, 0x696e707574)) // "input"
	for i, in := 0, s.Input(); i < len(in); i++ {
		in[i] = float32(r.NormFloat64())
	}
	var before func()
	if opt.FlushBytes > 0 {
		input := append([]float32(nil), s.Input()...)
		before = func() {
			flushCaches(opt.FlushBytes)
			copy(s.Input(), input)
		}
	}
	best, err := timeSession(s, opt, before)
	if err != nil {
		return ort.Timing{}, err
	}
	for range opt.Retries {
		if !best.Noisy() {
			break
		}
		t, err := timeSession(s, opt, before)
		if err != nil {
			return ort.Timing{}, err
		}
		if t.MedianMs < best.MedianMs {
			best = t
		}
	}
	return best, nil
}

// timeSession times a loaded session: a first batch of MinRuns says how
// long a run takes; more runs follow until MinTimeMs is reached.
func timeSession(s *ort.Session, opt Options, before func()) (ort.Timing, error) {
	t, err := s.TimeWith(opt.Clock, opt.Warmup, opt.MinRuns, before)
	if err != nil {
		return ort.Timing{}, err
	}
	total := t.MeanMs * float64(t.Runs)
	// With cache flushing every run costs the flush too, and cold runs
	// vary little: MinRuns it is.
	if total < opt.MinTimeMs && t.MeanMs > 0 && opt.FlushBytes == 0 {
		more := min(opt.MaxRuns-opt.MinRuns, int((opt.MinTimeMs-total)/t.MeanMs)+1)
		if more > 0 {
			t2, err := s.TimeWith(opt.Clock, 0, more, before)
			if err != nil {
				return ort.Timing{}, err
			}
			all := append(t.Samples, t2.Samples...)
			sum, err := ort.Summarize(all)
			if err != nil {
				return ort.Timing{}, err
			}
			t = ort.Timing{Summary: sum, Samples: all}
		}
	}
	return t, nil
}

var flushBuf struct {
	sync.Mutex
	b []byte
	n byte
}

// flushCaches writes one byte per 64-byte line of an n-byte buffer,
// which evicts the lines the timed model left in caches of up to n bytes.
func flushCaches(n int) {
	flushBuf.Lock()
	defer flushBuf.Unlock()
	if len(flushBuf.b) < n {
		flushBuf.b = make([]byte, n)
	}
	flushBuf.n++
	b := flushBuf.b[:n]
	for i := 0; i < len(b); i += 64 {
		b[i] = flushBuf.n
	}
}

// LoadAverage returns the 1-minute load average from /proc/loadavg (-1
// where it cannot be read), which every report carries: latency measured
// while other processes use the cores is not the device's.
func LoadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	var l float64
	if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &l); err != nil {
		return -1
	}
	return l
}

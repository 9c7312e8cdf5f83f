// Package profile measures networks with ONNX Runtime on the local CPU
// and turns the measurements into per-op latency tables (package lut):
// whole-network timings (Measure), a table of every block configuration a
// search space can produce at one resolution, each timed as a single-block
// graph as nn-Meter profiles kernels (Configs, Profile), and a check of
// such a table against whole-network runs of random networks, with a
// fitted correction for what an additive table misses (Validate).
//
// Every timing goes through a quiet gate (gate.go): on a shared machine,
// other tenants slow everything down for seconds at a time, which neither
// the median nor the spread of one measurement shows. Per-layer times of
// a whole network come from ONNX Runtime's own profiler (LayerTimes).
// All of it is written here: no Go library profiles ONNX Runtime.
package profile

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/onnx"
	"github.com/fleetnas/fleetnas/ort"
)

// Options say how a model is timed. A zero field takes its value from
// DefaultOptions, which names the source of each.
type Options struct {
	// Threads is ONNX Runtime's intra-op thread count.
	Threads int
	// Warmup runs are not timed (negative: none).
	Warmup int
	// MinRuns and MaxRuns bound the timed runs; between them, runs go on
	// until MinTimeMs of measured time has accumulated, so that fast
	// blocks get enough runs for a stable median and slow networks do not
	// take forever (a tiny MinTimeMs gives MinRuns runs exactly).
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
	// the lowest median is the closest to the quiet one. Negative means
	// none. A timing that stays noisy is reported as such.
	Retries int
	// Quiet is the tolerance of the quiet gate: a measurement counts only
	// when a small reference model, timed just before and after it, runs
	// within this fraction of its quiet speed; otherwise the measurement
	// waits (up to MaxWait) and is retried (see quietGate). Negative
	// turns the gate off.
	Quiet float64
	// MaxWait bounds one wait for a quiet machine. After a wait in vain,
	// measurements go on without waiting, flagged as slowed, until the
	// machine is quiet again.
	MaxWait time.Duration
	// ProfilePrefix turns on ONNX Runtime's profiler for the measured
	// model (ort.Options.ProfilePrefix); Timing.ProfileFile names the
	// file and LayerTimes reads it per layer.
	ProfilePrefix string
	// WaitShare bounds all the waiting of Profile and Validate: at any
	// time, the gate has waited at most this many times the time spent
	// measuring (what was measured while slowed is measured again at the
	// end if the budget allows). Measure, one model, has no measuring time
	// to earn a budget with: only MaxWait bounds its wait.
	WaitShare float64
}

// Timing is a measurement and the state of the machine around it.
type Timing struct {
	ort.Timing
	// Slowdown is how much slower than its quiet speed the quiet gate's
	// reference model ran around the measurement (the worse of just
	// before and just after): 1 on a quiet machine, 1.3-1.5 while another
	// tenant shares the core; 0 when the gate was off.
	Slowdown float64 `json:"slowdown,omitempty"`
	// Slowed is set when Slowdown exceeded the gate's tolerance even
	// after waiting and retrying: the timing is likely too high.
	Slowed bool `json:"slowed,omitempty"`
	// ProfileFile is ONNX Runtime's profile of the runs, with
	// Options.ProfilePrefix.
	ProfileFile string `json:"profile_file,omitempty"`
	// canaryMs is the reference model's timing behind Slowdown, kept to
	// judge the measurement again once the quiet speed is better known.
	canaryMs float64
}

// timer measures models one after another, with one cache-flush buffer
// (allocating and faulting in 64 MiB per block would dominate a profile
// of small blocks) and one quiet gate.
type timer struct {
	fl   cacheFlusher
	gate *quietGate // nil when Options.Quiet < 0
}

// newTimer loads and calibrates the gate's reference model with opt's
// threads, clock and gate settings, unless the gate is off (ort.Init
// must have succeeded).
func newTimer(opt Options) (*timer, error) {
	opt = opt.withDefaults()
	t := &timer{}
	if opt.Quiet > 0 {
		g, err := newQuietGate(opt)
		if err != nil {
			return nil, err
		}
		t.gate = g
	}
	return t, nil
}

// Close frees the gate's reference model.
func (t *timer) Close() error {
	if t.gate == nil {
		return nil
	}
	return t.gate.Close()
}

// gateSummary says how the gate fared, for a table's source line.
func (t *timer) gateSummary(slowed, timings, remeasured int) string {
	if t.gate == nil {
		return "no quiet gate"
	}
	return fmt.Sprintf("quiet gate %.0f%% (%d timings taken again, %d of %d still slowed, %.0f s waited)",
		100*t.gate.opt.Quiet, remeasured, slowed, timings, t.gate.Waited.Seconds())
}

// judge judges a canary timing against the current quiet speed.
func (t *timer) judge(tm *Timing) {
	if t.gate == nil || tm.canaryMs == 0 {
		return
	}
	tm.Slowdown = tm.canaryMs / t.gate.QuietMs()
	tm.Slowed = !t.gate.quiet(tm.canaryMs)
}

// Measure exports a lowered network with the given weights (nil:
// deterministic random weights from opt.Seed), loads it in ONNX Runtime
// (ort.Init must have succeeded) and times it, behind the quiet gate
// unless opt.Quiet < 0 (calibrating the gate takes about half a second).
func Measure(g *arch.Graph, w *onnx.Weights, opt Options) (Timing, error) {
	opt.WaitShare = -1 // see Options.WaitShare
	t, err := newTimer(opt)
	if err != nil {
		return Timing{}, err
	}
	defer t.Close()
	return t.measure(g, w, opt)
}

// measure times one model: up to 1+Retries timings, each behind the
// gate, until one is neither noisy nor slowed; of several, it keeps the
// best (not slowed first, then the lowest median: other work only ever
// adds time).
func (t *timer) measure(g *arch.Graph, w *onnx.Weights, opt Options) (Timing, error) {
	opt = opt.withDefaults()
	if w == nil {
		w = onnx.GraphWeights(g, opt.Seed)
	}
	b, err := onnx.Marshal(g, w)
	if err != nil {
		return Timing{}, err
	}
	inShape, outShape := onnx.Shapes(g)
	s, err := ort.NewSession(b, onnx.InputName, inShape, onnx.OutputName, outShape, ort.Options{Threads: opt.Threads, ProfilePrefix: opt.ProfilePrefix})
	if err != nil {
		return Timing{}, err
	}
	best, err := t.timeModel(s, opt)
	if cerr := s.Close(); err == nil && cerr != nil {
		err = cerr
	}
	best.ProfileFile = s.ProfileFile()
	return best, err
}

// timeModel times a loaded model as measure describes.
func (t *timer) timeModel(s *ort.Session, opt Options) (Timing, error) {
	var err error
	r := rand.New(rand.NewPCG(opt.Seed, 0x696e707574)) // "input"
	for i, in := 0, s.Input(); i < len(in); i++ {
		in[i] = float32(r.NormFloat64())
	}
	var before func()
	if opt.FlushBytes > 0 {
		input := append([]float32(nil), s.Input()...)
		before = func() {
			t.fl.flush(opt.FlushBytes)
			copy(s.Input(), input)
		}
	}
	var best Timing
	for attempt := 0; attempt <= opt.Retries; attempt++ {
		var cur Timing
		var c1, c2 float64
		if t.gate != nil {
			if c1, err = t.gate.wait(); err != nil {
				return Timing{}, err
			}
		}
		if cur.Timing, err = timeSession(s, opt, before); err != nil {
			return Timing{}, err
		}
		if t.gate != nil {
			if c2, err = t.gate.level(); err != nil {
				return Timing{}, err
			}
			cur.canaryMs = max(c1, c2)
			t.judge(&cur)
		}
		if attempt == 0 || better(cur, best) {
			best = cur
		}
		if !cur.Slowed && !cur.Noisy() {
			break
		}
	}
	return best, nil
}

// better reports whether timing a is to be kept rather than b: not
// slowed first, then the lower median (other work only ever adds time).
func better(a, b Timing) bool {
	if a.Slowed != b.Slowed {
		return !a.Slowed
	}
	return a.MedianMs < b.MedianMs
}

// job is one model for measureAll.
type job struct {
	what string // for errors: "profiling <signature>"
	g    *arch.Graph
	opt  Options
	t    Timing
}

// measureAll times every job, then once more each one the gate now
// judges slowed (its idea of quiet improves as it sees more of the
// machine), keeping the better timing. progress, if not nil, is called
// after each timing; the total grows by the timings taken again, whose
// number it returns.
func (t *timer) measureAll(jobs []job, progress func(done, total int)) (int, error) {
	done, total := 0, len(jobs)
	run := func(j *job) error {
		m, err := t.measure(j.g, nil, j.opt)
		if err != nil {
			return fmt.Errorf("%s: %w", j.what, err)
		}
		if j.t.Runs == 0 || better(m, j.t) {
			j.t = m
		}
		done++
		if progress != nil {
			progress(done, total)
		}
		return nil
	}
	for i := range jobs {
		if err := run(&jobs[i]); err != nil {
			return 0, err
		}
	}
	var again []int
	for i := range jobs {
		if t.judge(&jobs[i].t); jobs[i].t.Slowed {
			again = append(again, i)
		}
	}
	total += len(again)
	for _, i := range again {
		if err := run(&jobs[i]); err != nil {
			return 0, err
		}
	}
	return len(again), nil
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

// cacheFlusher evicts caches by writing a buffer it keeps between calls.
type cacheFlusher struct {
	b []byte
	n byte
}

// flush writes one byte per 64-byte line of an n-byte buffer, which
// evicts the lines the timed model left in caches of up to n bytes. The
// byte changes every call so that the writes cannot be skipped.
func (f *cacheFlusher) flush(n int) {
	if len(f.b) < n {
		f.b = make([]byte, n)
	}
	f.n++
	b := f.b[:n]
	for i := 0; i < len(b); i += 64 {
		b[i] = f.n
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

package profile

import (
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/latency/lut"
	"github.com/fleetnas/fleetnas/ort"
	"github.com/fleetnas/fleetnas/setting"
)

// ProfileReport describes a profiling run.
type ProfileReport struct {
	Entries int `json:"entries"`
	// OverheadMs is the run time of a trivial model: ONNX Runtime's fixed
	// cost per run, which every single-block timing includes once and a
	// whole network only once in total. It is subtracted from every entry
	// and kept as the table's constant.
	OverheadMs float64 `json:"overhead_ms"`
	// Noisy counts entries whose runs varied more than ort.NoisyCV.
	Noisy int `json:"noisy_entries"`
	// Slowed counts entries timed while the quiet gate saw the machine
	// slowed down by other work, even after waiting and re-measuring;
	// Remeasured counts the timings taken again at the end because the
	// machine turned out to have been slowed when they were first taken.
	Slowed     int `json:"slowed_entries"`
	Remeasured int `json:"remeasured"`
	// WaitSeconds is the time spent waiting for a quiet machine.
	WaitSeconds float64 `json:"wait_seconds"`
	Seconds     float64 `json:"seconds"`
	// LoadBefore and LoadAfter are the 1-minute load averages.
	LoadBefore float64 `json:"load_before"`
	LoadAfter  float64 `json:"load_after"`
}

// overheadGraph is the smallest model: an identity on 8 values.
func overheadGraph() *arch.Graph {
	s := arch.Shape{H: 1, W: 1, C: 8}
	return &arch.Graph{
		Network:    &arch.Network{Format: arch.Format, Name: "overhead", Resolution: 1, InputChannels: 8, Blocks: []arch.Block{{Type: arch.BatchNorm, Activation: arch.Identity}}},
		Resolution: 1, Tensors: []arch.Shape{s, s}, BlockOut: []int{1},
		Layers: []arch.Layer{{Block: 0, Name: "0.identity", Part: "identity", Op: arch.OpAct, Activation: arch.Identity, In: s, Out: s, Inputs: []int{0}, Output: 1}},
	}
}

// Method says how a block is timed.
type Method string

const (
	// Context times each block between a lead-in op (a 1x1 depthwise
	// conv on the block's input) and a tail op (see withTail), and
	// subtracts the time of the lead-in and tail alone. ONNX Runtime's
	// CPU provider converts convolutions to its blocked NCHWc layout and
	// fuses a residual add into the last conv; a block alone reads an
	// NCHW graph input and writes an NCHW graph output, so it pays two
	// layout conversions and keeps its residual add separate, which it
	// never does inside a network. Between lead-in and tail, the block's
	// ops run as in a network, and the conversions left are those of the
	// lead-in's input, which the subtraction removes, and of the tail's
	// 1x1x8 output, which costs nothing. The default (DefaultMethod).
	Context Method = "context"
	// Isolated times each block as a graph of its own minus the per-run
	// overhead, as nn-Meter times kernels.
	Isolated Method = "isolated"
)

// leadIn returns the graph of the lead-in op on a tensor of shape s,
// followed by g's layers when g is not nil (g's input must be s).
func leadIn(s arch.Shape, g *arch.Graph) *arch.Graph {
	lead := arch.Layer{Block: 0, Name: "lead_in", Part: "lead_in", Op: arch.OpDepthwise, Kernel: 1, Stride: 1, Groups: s.C,
		Activation: arch.Identity, In: s, Out: s, Inputs: []int{0}, Output: 1}
	out := &arch.Graph{Resolution: s.H, Tensors: []arch.Shape{s, s}, Layers: []arch.Layer{lead}, BlockOut: []int{1},
		Network: &arch.Network{Format: arch.Format, Name: "lead-in " + s.String(), Resolution: s.H, InputChannels: s.C}}
	if g == nil {
		return out
	}
	out.Network = g.Network
	out.Tensors = append(out.Tensors, g.Tensors[1:]...)
	for _, l := range g.Layers {
		l.Inputs = append([]int(nil), l.Inputs...)
		for k := range l.Inputs {
			l.Inputs[k]++
		}
		l.Output++
		out.Layers = append(out.Layers, l)
	}
	out.BlockOut = []int{len(out.Tensors) - 1}
	return out
}

// Profile times every configuration with the given method ("" is
// DefaultMethod; an unknown one is an error about the setting "method")
// and returns the lookup table (named name) with the per-run overhead as
// the constant. progress, if not nil, is called after each timing (the
// total grows when timings are taken again). ort.Init must have
// succeeded.
//
// Every timing goes through the quiet gate (Options.Quiet). The gate's
// idea of quiet improves as it sees more of the machine, so after the
// pass every timing it would now judge slowed is taken again, once.
func Profile(name, description string, configs []Config, method Method, opt Options, progress func(done, total int)) (*lut.Table, ProfileReport, error) {
	if method == "" {
		method = DefaultMethod
	}
	if method != Context && method != Isolated {
		return nil, ProfileReport{}, setting.Errorf("method", "unknown profiling method %q: context or isolated", method)
	}
	rep := ProfileReport{LoadBefore: LoadAverage()}
	start := time.Now()
	opt = opt.withDefaults()
	tm, err := newTimer(opt)
	if err != nil {
		return nil, rep, err
	}
	defer tm.Close()
	// The jobs: the overhead, the lead-ins (context method) and the
	// blocks. The overhead is timed with many runs: it is small and sets
	// the constant of every prediction.
	oOpt := opt
	oOpt.MinRuns, oOpt.MaxRuns = max(opt.MinRuns, 200), max(opt.MaxRuns, 2000)
	jobs := []job{{what: "timing the per-run overhead", g: overheadGraph(), opt: oOpt}}
	lead := map[arch.Shape]int{} // lead-in job per input shape
	blockJob := make([]int, len(configs))
	for i, c := range configs {
		g := c.Graph
		if method == Context {
			in := c.Graph.Tensors[0]
			if _, ok := lead[in]; !ok {
				lead[in] = len(jobs)
				jobs = append(jobs, job{what: "timing the lead-in on " + in.String(), g: withTail(leadIn(in, nil)), opt: opt})
			}
			g = withTail(leadIn(in, c.Graph))
		}
		blockJob[i] = len(jobs)
		jobs = append(jobs, job{what: "profiling " + c.Signature.String(), g: g, opt: opt})
	}
	if rep.Remeasured, err = tm.measureAll(jobs, progress); err != nil {
		return nil, rep, err
	}
	rep.OverheadMs = jobs[0].t.MedianMs
	entries := make([]float64, len(configs))
	for i, c := range configs {
		t := jobs[blockJob[i]].t
		sub := rep.OverheadMs
		if method == Context {
			sub = jobs[lead[c.Graph.Tensors[0]]].t.MedianMs
		}
		entries[i] = math.Max(0, t.MedianMs-sub)
	}
	for _, j := range jobs {
		if j.t.Noisy() {
			rep.Noisy++
		}
		if j.t.Slowed {
			rep.Slowed++
		}
	}
	if tm.gate != nil {
		rep.WaitSeconds = tm.gate.Waited.Seconds()
	}
	rep.Seconds = time.Since(start).Seconds()
	rep.LoadAfter = LoadAverage()
	rep.Entries = len(configs)
	head := sourceHead(LocalConditions(opt.Threads, opt.Clock))
	src := fmt.Sprintf("%s, %s, single-block graphs (%s method, %d MiB cache flush), median of >= %d runs (%s clock), per-run overhead %.4f ms (the constant); %d of %d timings noisy (CV > %.0f%%), %s; load average %.2f -> %.2f; %s",
		head, description, method, opt.FlushBytes>>20, opt.MinRuns, opt.Clock, rep.OverheadMs,
		rep.Noisy, len(jobs), 100*ort.NoisyCV, tm.gateSummary(rep.Slowed, len(jobs), rep.Remeasured), rep.LoadBefore, rep.LoadAfter, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	tb := lut.New(name, src, rep.OverheadMs)
	for i, c := range configs {
		if err := tb.Set(c.Signature, entries[i]); err != nil {
			return nil, rep, err
		}
	}
	return tb, rep, nil
}

// cpuModel returns the CPU's model name from /proc/cpuinfo, for the
// table's source line ("unknown CPU" elsewhere).
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return "unknown CPU"
}

// tailChannels is the width of the tail's output: one NCHWc block.
const tailChannels = 8

// withTail returns g followed by a tail op: a 1x1 conv whose stride
// equals the input's size, so that it reads one pixel and writes a 1x1
// output of tailChannels channels. ONNX Runtime converts it to NCHWc
// like the block before it, so the graph's output conversion shrinks to
// a few values whatever the block's output: the conversion back to NCHW
// of the block's output, which the block never pays inside a network,
// is left out of its timing instead of being subtracted in a telescoping
// sum (and clamped where a block is cheaper than the conversion it
// saves, as a downsampling block is).
func withTail(g *arch.Graph) *arch.Graph {
	last := len(g.Tensors) - 1
	s := g.Tensors[last]
	out := arch.Shape{H: 1, W: 1, C: tailChannels}
	tail := arch.Layer{Block: len(g.Network.Blocks) - 1, Name: "tail", Part: "tail", Op: arch.OpConv, Kernel: 1, Stride: max(s.H, s.W), Groups: 1,
		Activation: arch.Identity, In: s, Out: out, Inputs: []int{last}, Output: last + 1}
	t := *g
	t.Tensors = append(append([]arch.Shape(nil), g.Tensors...), out)
	t.Layers = append(append([]arch.Layer(nil), g.Layers...), tail)
	t.BlockOut = append(append([]int(nil), g.BlockOut[:len(g.BlockOut)-1]...), last+1)
	return &t
}

package profile

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/latency/lut"
	"github.com/fleetnas/fleetnas/ort"
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
	Noisy   int     `json:"noisy_entries"`
	Seconds float64 `json:"seconds"`
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
	// Context times each block behind a lead-in op, a 1x1 depthwise conv
	// on the block's input, and subtracts the time of the lead-in alone.
	// ONNX Runtime's CPU provider converts convolutions to its blocked
	// NCHWc layout and fuses a residual add into the last conv; a block
	// alone reads an NCHW graph input, so it pays a layout conversion
	// and keeps its residual add separate, which it never does inside a
	// network. Behind the lead-in, the block's ops run as in a network.
	// What remains — converting the block's output back for the graph
	// output, minus converting the lead-in's — telescopes over a chain of
	// blocks (each output is the next input) to one conversion per
	// network, which the constant absorbs. The default.
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

// Profile times every configuration with the given method and returns
// the lookup table (named name) with the per-run overhead as the
// constant. progress, if not nil, is called after each configuration.
// ort.Init must have succeeded.
func Profile(name, description string, configs []Config, method Method, opt Options, progress func(done, total int)) (*lut.Table, ProfileReport, error) {
	if method == "" {
		method = Context
	}
	if method != Context && method != Isolated {
		return nil, ProfileReport{}, fmt.Errorf("unknown profiling method %q: context or isolated", method)
	}
	opt = opt.withDefaults()
	rep := ProfileReport{LoadBefore: LoadAverage()}
	start := time.Now()
	// The overhead is timed with many runs: it is small and sets the
	// constant of every prediction.
	oOpt := opt
	oOpt.MinRuns, oOpt.MaxRuns = max(opt.MinRuns, 200), max(opt.MaxRuns, 2000)
	ov, err := Measure(overheadGraph(), nil, oOpt)
	if err != nil {
		return nil, rep, fmt.Errorf("timing the per-run overhead: %w", err)
	}
	rep.OverheadMs = ov.MedianMs
	entries := make([]float64, len(configs))
	base := map[arch.Shape]float64{} // lead-in alone, per input shape
	for i, c := range configs {
		g, sub := c.Graph, rep.OverheadMs
		if method == Context {
			in := c.Graph.Tensors[0]
			if _, ok := base[in]; !ok {
				t, err := Measure(leadIn(in, nil), nil, opt)
				if err != nil {
					return nil, rep, fmt.Errorf("timing the lead-in on %s: %w", in, err)
				}
				base[in] = t.MedianMs
			}
			g, sub = leadIn(in, c.Graph), base[in]
		}
		t, err := Measure(g, nil, opt)
		if err != nil {
			return nil, rep, fmt.Errorf("profiling %s: %w", c.Signature, err)
		}
		entries[i] = math.Max(0, t.MedianMs-sub)
		if t.Noisy() {
			rep.Noisy++
		}
		if progress != nil {
			progress(i+1, len(configs))
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	rep.LoadAfter = LoadAverage()
	rep.Entries = len(configs)
	src := fmt.Sprintf("profiled with ONNX Runtime %s on %s (%s), %d thread(s), %s, single-block graphs (%s method, %d MiB cache flush), median of >= %d runs (%s clock), per-run overhead %.4f ms (the constant); %d of %d entries noisy (CV > %.0f%%); load average %.2f -> %.2f; %s",
		ort.Version(), cpuModel(), runtime.GOARCH, opt.Threads, description, method, opt.FlushBytes>>20, opt.MinRuns, opt.Clock, rep.OverheadMs,
		rep.Noisy, len(configs), 100*ort.NoisyCV, rep.LoadBefore, rep.LoadAfter, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
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

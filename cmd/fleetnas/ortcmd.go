package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/atomicfile"
	"github.com/fleetnas/fleetnas/latency/lut"
	"github.com/fleetnas/fleetnas/onnx"
	"github.com/fleetnas/fleetnas/ort"
	"github.com/fleetnas/fleetnas/profile"
	"github.com/fleetnas/fleetnas/space"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
)

// ortLibHint is the command line's own way to name a library elsewhere,
// which ort.Install, a library's text, does not know.
const ortLibHint = "A library elsewhere is also given with --ort-lib FILE."

// ortInstall says how to install ONNX Runtime, for the commands' help.
const ortInstall = ort.Install + "\n" + ortLibHint

// runtimeFlags are the flags of the commands that run networks.
type runtimeFlags struct {
	runtime   string
	threads   int
	lib       string
	runs      int
	warmup    int
	minMs     float64
	retries   int
	clock     string
	quiet     float64
	maxWait   time.Duration
	waitShare float64
}

// register adds the flags with their defaults from profile.DefaultOptions
// (which names their sources); runs is the command's own default of
// --runs (profile.DefaultMeasureRuns, ...).
func (f *runtimeFlags) register(cmd *cobra.Command, runs int) {
	d := profile.DefaultOptions()
	fs := cmd.Flags()
	fs.StringVar(&f.runtime, "runtime", "ort", "inference runtime: ort (ONNX Runtime, CPU)")
	fs.IntVar(&f.threads, "threads", d.Threads, "intra-op threads of the runtime")
	fs.StringVar(&f.lib, "ort-lib", "", "ONNX Runtime library file (default: $"+ort.EnvLibrary+", ./third_party/onnxruntime/, ~/.cache/fleetnas/ort/)")
	bindSetting(fs, "ort-lib", "library") // ort.FindLibrary's explicit path
	fs.IntVar(&f.runs, "runs", runs, "minimum timed runs per model (more until --min-time-ms is reached)")
	fs.IntVar(&f.warmup, "warmup", d.Warmup, "untimed runs before timing")
	fs.Float64Var(&f.minMs, "min-time-ms", d.MinTimeMs, fmt.Sprintf("keep running until this much time has been measured (at most %d runs)", d.MaxRuns))
	fs.StringVar(&f.clock, "clock", "wall", "wall (elapsed time) or cpu (the run's thread CPU time, --threads 1 only: far less disturbed by other processes on a shared machine)")
	fs.IntVar(&f.retries, "retries", d.Retries, fmt.Sprintf("re-time a model whose runs vary by more than %.0f%%, or that ran while the machine was slowed, up to this many times, keeping the best timing", 100*ort.NoisyCV))
	fs.Float64Var(&f.quiet, "quiet", d.Quiet, "quiet gate: time a small reference model just before and after every measurement and count the measurement only when the reference runs within this fraction of its quiet speed (other tenants of a shared machine slow everything by 30-50% for seconds at a time); 0 turns the gate off")
	fs.DurationVar(&f.maxWait, "max-wait", d.MaxWait, "longest wait for a quiet machine before measuring anyway (flagged as slowed)")
	fs.Float64Var(&f.waitShare, "wait-share", d.WaitShare, "profile and validate wait for a quiet machine at most this many times as long as they spend measuring (1: a busy machine at most doubles their time)")
}

// start checks the flags and loads ONNX Runtime.
func (f *runtimeFlags) start() (profile.Options, error) {
	if f.runtime != "ort" {
		return profile.Options{}, fmt.Errorf("--runtime %q: the only runtime is ort (ONNX Runtime)", f.runtime)
	}
	if f.threads < 1 || f.threads > 256 {
		return profile.Options{}, fmt.Errorf("--threads must be in 1..256, got %d", f.threads)
	}
	if f.runs < 1 || f.warmup < 0 || f.minMs < 0 || f.retries < 0 {
		return profile.Options{}, fmt.Errorf("--runs must be positive and --warmup, --min-time-ms, --retries not negative (got %d, %d, %g, %d)", f.runs, f.warmup, f.minMs, f.retries)
	}
	if !(f.quiet >= 0 && f.quiet <= 1) {
		return profile.Options{}, fmt.Errorf("--quiet must be in 0..1 (a fraction; 0 turns the gate off), got %g", f.quiet)
	}
	if f.maxWait <= 0 {
		return profile.Options{}, fmt.Errorf("--max-wait must be positive, got %s", f.maxWait)
	}
	if !(f.waitShare > 0 && f.waitShare <= 100) {
		return profile.Options{}, fmt.Errorf("--wait-share must be in (0, 100], got %g", f.waitShare)
	}
	var clock ort.Clock
	switch f.clock {
	case "wall":
	case "cpu":
		if f.threads != 1 {
			return profile.Options{}, fmt.Errorf("--clock cpu measures one thread: use it with --threads 1, not %d", f.threads)
		}
		clock = ort.ThreadCPU
	default:
		return profile.Options{}, fmt.Errorf("--clock %q: wall or cpu", f.clock)
	}
	lib, err := ort.FindLibrary(f.lib)
	if err != nil {
		if f.lib == "" && errors.Is(err, ort.ErrNotFound) {
			err = fmt.Errorf("%w\n%s", err, ortLibHint)
		}
		return profile.Options{}, err
	}
	if err := ort.Init(lib); err != nil {
		return profile.Options{}, err
	}
	// profile.Options reads zeros as "the default"; 0 here means none.
	warmup, retries, quiet := f.warmup, f.retries, f.quiet
	if warmup == 0 {
		warmup = -1
	}
	if retries == 0 {
		retries = -1
	}
	if quiet == 0 {
		quiet = -1
	}
	return profile.Options{Threads: f.threads, Warmup: warmup, MinRuns: f.runs, MaxRuns: max(profile.DefaultOptions().MaxRuns, f.runs), MinTimeMs: max(f.minMs, 1e-9),
		Retries: retries, Clock: clock, Quiet: quiet, MaxWait: f.maxWait, WaitShare: f.waitShare}, nil
}

// progressTo returns a progress callback that rewrites one line on a
// terminal and stays quiet when the output is piped.
func progressTo(w io.Writer, what string) func(done, total int) {
	f, ok := w.(*os.File)
	if !ok || !isatty.IsTerminal(f.Fd()) {
		return nil
	}
	start := time.Now()
	return func(done, total int) {
		el := time.Since(start)
		eta := time.Duration(float64(el) / float64(done) * float64(total-done))
		fmt.Fprintf(w, "\r%s %d/%d  %s elapsed, ~%s left   ", what, done, total, el.Round(time.Second), eta.Round(time.Second))
		if done == total {
			fmt.Fprintln(w)
		}
	}
}

// sameNetwork reports how two networks differ, if they do, in anything
// but their names: their JSON forms are compared.
func sameNetwork(a, b *arch.Network) error {
	x, y := *a, *b
	x.Name, y.Name = "", ""
	ja, err := x.Encode()
	if err != nil {
		return err
	}
	jb, err := y.Encode()
	if err != nil {
		return err
	}
	if !bytes.Equal(ja, jb) {
		ga, err1 := a.Lower(0)
		gb, err2 := b.Lower(0)
		if err1 == nil && err2 == nil {
			return fmt.Errorf("%d layers at %d px against %d layers at %d px, or other blocks", len(ga.Layers), ga.Resolution, len(gb.Layers), gb.Resolution)
		}
		return errors.New("their blocks differ")
	}
	return nil
}

// targetFlags is the deployment target of the profile and validate
// commands: resolution, channels and classes, the space's defaults where
// 0.
func targetFlags(sp space.Space, res, channels, classes int) (space.Options, error) {
	switch {
	case res < 0:
		return space.Options{}, fmt.Errorf("--resolution must be positive, got %d", res)
	case channels < 0 || channels > arch.MaxInputChannels:
		return space.Options{}, fmt.Errorf("--channels must be in 1..%d, got %d", arch.MaxInputChannels, channels)
	case classes < 0:
		return space.Options{}, fmt.Errorf("--classes must be positive, got %d", classes)
	}
	t := space.Options{Resolution: res, Channels: channels, Classes: classes}
	if t.Resolution == 0 {
		t.Resolution = sp.DefaultResolution()
	}
	if t.Channels == 0 {
		t.Channels = 3
	}
	if t.Classes == 0 {
		t.Classes = sp.DefaultClasses()
	}
	return t, nil
}

// describeTarget says a deployment target in words.
func describeTarget(t space.Options) string {
	return fmt.Sprintf("%d px, %d channels, %d classes", t.Resolution, t.Channels, t.Classes)
}

func newExportCmd() *cobra.Command {
	var nf netFlags
	var out, weights string
	var seed uint64
	cmd := &cobra.Command{
		Use:   "export --onnx OUT.onnx (--model NAME | --arch FILE | --space S --choice C) [--weights CKPT]",
		Short: "Write a network as an ONNX model",
		Long: `Write a network as an ONNX model (opset 14, float32, NCHW input "input" of
batch 1, output "output"), ready for ONNX Runtime or any other runtime.
Batch norm is folded into the convolutions, as deployed models do.

Weights come from a training checkpoint (--weights, written by fleetnas
train or by search --train-epochs; the network is the checkpoint's, and
--arch may name it again) or are deterministic random values from --seed. Attention (mhsa, MobileNetV4 hybrids) is exported with MatMul
and Softmax; the training engine cannot train it, so its weights are random.

Examples:
  fleetnas export --onnx v2.onnx --model MobileNetV2
  fleetnas export --onnx net.onnx --weights runs/fmnist/checkpoint.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("--onnx OUT.onnx is required")
			}
			var net *arch.Network
			var w *onnx.Weights
			given := nf.model != "" || nf.archFile != "" || nf.spaceName != ""
			switch {
			case weights != "" && nf.archFile != "" && nf.model == "" && nf.spaceName == "":
				// The network file must be the checkpoint's network: the
				// weights fit no other.
				fileNet, err := readNetwork(nf.archFile)
				if err != nil {
					return err
				}
				cn, cw, err := onnx.LoadCheckpoint(weights)
				if err != nil {
					return err
				}
				if err := sameNetwork(fileNet, cn); err != nil {
					return fmt.Errorf("--arch %s is not the network of --weights %s: %w", nf.archFile, weights, err)
				}
				net, w = cn, cw
			case weights != "" && given:
				return errors.New("--weights brings its own network: leave out --model and --space (--arch may name the same network)")
			case weights != "":
				if cmd.Flags().Changed("width") || cmd.Flags().Changed("backbone") || cmd.Flags().Changed("classes") {
					return errors.New("--width, --backbone and --classes do not apply to --weights")
				}
				cn, cw, err := onnx.LoadCheckpoint(weights)
				if err != nil {
					return err
				}
				net, w = cn, cw
				if nf.resolution != 0 {
					net.Resolution = nf.resolution
				}
			default:
				n, err := nf.build(cmd)
				if err != nil {
					return err
				}
				net = n
			}
			g, err := net.Lower(0)
			if err != nil {
				return err
			}
			if w == nil {
				if w, err = onnx.RandomWeights(net, 0, seed); err != nil {
					return err
				}
			}
			b, err := onnx.Marshal(g, w)
			if err != nil {
				return err
			}
			if err := atomicfile.Write(out, b); err != nil {
				return err
			}
			in, o := onnx.Shapes(g)
			src := fmt.Sprintf("random weights (seed %d)", seed)
			if weights != "" {
				src = "weights of " + weights
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %s, input %v, output %v, %s, %d bytes\n", out, net.Name, in, o, src, len(b))
			return nil
		},
	}
	nf.register(cmd, true)
	cmd.Flags().StringVar(&out, "onnx", "", "output .onnx file")
	cmd.Flags().StringVar(&weights, "weights", "", "training checkpoint to take the weights from")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of the random weights (without --weights)")
	return cmd
}

func newMeasureCmd() *cobra.Command {
	var nf netFlags
	var rf runtimeFlags
	var asJSON bool
	var ortProfile string
	var top int
	cmd := &cobra.Command{
		Use:   "measure --runtime ort --threads N (--model NAME | --arch FILE | --space S --choice C)",
		Short: "Time a network with ONNX Runtime on this machine",
		Long: `Export a network to ONNX (random weights: latency does not depend on them),
run it with ONNX Runtime on this machine's CPU and report the median, p10,
p90 and coefficient of variation of repeated runs after a warm-up.

When the runs vary by more than 10% (CV), the machine was busy with other
work and the numbers are flagged as noisy, with the load average.

A shared machine also slows everything down for seconds at a time with
steady runs, which the CV does not show. The quiet gate (--quiet) times a
small reference model just before and after the measurement and waits for
it to run at its quiet speed; a measurement taken while it did not is
flagged as slowed.

--ort-profile PREFIX turns on ONNX Runtime's own profiler: it writes
PREFIX_<date>.json (a Chrome trace: chrome://tracing, Perfetto) and the
command lists the slowest layers with their share of the node time. The
profiler adds a little time to every node, so the timing printed with it is
high by up to 10%.

When ONNX Runtime is missing, measuring says how to install it:

` + ortInstall,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			net, err := nf.build(cmd)
			if err != nil {
				return err
			}
			g, err := net.Lower(0)
			if err != nil {
				return err
			}
			opt, err := rf.start()
			if err != nil {
				return err
			}
			load := profile.LoadAverage()
			opt.ProfilePrefix = ortProfile
			t, err := profile.Measure(g, nil, opt)
			if err != nil {
				return err
			}
			var layers []profile.LayerTime
			var otherMs float64
			if ortProfile != "" {
				if layers, otherMs, err = profile.LayerTimes(t.ProfileFile, g); err != nil {
					return err
				}
			}
			res := struct {
				Network    string `json:"network"`
				Resolution int    `json:"resolution"`
				Runtime    string `json:"runtime"`
				Threads    int    `json:"threads"`
				Clock      string `json:"clock"`
				ort.Summary
				Noisy    bool    `json:"noisy"`
				Slowdown float64 `json:"slowdown,omitempty"`
				Slowed   bool    `json:"slowed"`
				Load     float64 `json:"load_average"`
				// With --ort-profile: ONNX Runtime's trace, each
				// layer's node time and that of the layout conversions.
				ProfileFile   string              `json:"ort_profile,omitempty"`
				Layers        []profile.LayerTime `json:"layers,omitempty"`
				ConversionsMs float64             `json:"layout_conversions_ms,omitempty"`
			}{net.Name, g.Resolution, "onnxruntime " + ort.Version(), opt.Threads, opt.Clock.String(), t.Summary, t.Noisy(), t.Slowdown, t.Slowed, load,
				t.ProfileFile, layers, otherMs}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, res)
			}
			tw := newTable(out)
			fmt.Fprintf(tw, "network\t%s at %d px\n", net.Name, g.Resolution)
			fmt.Fprintf(tw, "runtime\tONNX Runtime %s, %d thread(s), %s clock\n", ort.Version(), opt.Threads, opt.Clock)
			fmt.Fprintf(tw, "median\t%.3f ms\n", t.MedianMs)
			fmt.Fprintf(tw, "p10 / p90\t%.3f / %.3f ms\n", t.P10Ms, t.P90Ms)
			fmt.Fprintf(tw, "CV\t%.1f%% over %d runs\n", 100*t.CV, t.Runs)
			fmt.Fprintf(tw, "load average\t%.2f\n", load)
			if t.Slowdown > 0 {
				fmt.Fprintf(tw, "quiet gate\treference model at %.2fx its quiet time\n", t.Slowdown)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if ortProfile != "" {
				printLayers(out, t.ProfileFile, layers, otherMs, top)
			}
			if t.Slowed {
				fmt.Fprintf(out, "SLOWED: a reference model ran %.0f%% slower than when quiet around the measurement, even after waiting and measuring again: other work shares the CPU; measure again later\n", 100*(t.Slowdown-1))
			}
			if t.Noisy() {
				fmt.Fprintf(out, "NOISY: the runs vary by %.0f%% (> %.0f%%): something else is using the CPU (load average %.2f); measure again on a quiet machine\n", 100*t.CV, 100*ort.NoisyCV, load)
			}
			return nil
		},
	}
	nf.register(cmd, true)
	rf.register(cmd, profile.DefaultMeasureRuns)
	cmd.Flags().BoolVar(&asJSON, "json", false, "write JSON")
	cmd.Flags().StringVar(&ortProfile, "ort-profile", "", "turn on ONNX Runtime's profiler, writing PREFIX_<date>.json, and list the slowest layers")
	cmd.Flags().IntVar(&top, "top", 10, "layers listed with --ort-profile")
	return cmd
}

// printLayers lists the top slowest layers of a profiled run with their
// share of all node time.
func printLayers(w io.Writer, file string, layers []profile.LayerTime, otherMs float64, top int) {
	total := otherMs
	for _, l := range layers {
		total += l.Ms
	}
	fmt.Fprintf(w, "ONNX Runtime profile %s: node time %.3f ms (layout conversions %.3f ms)\n", file, total, otherMs)
	s := slices.Clone(layers)
	sort.SliceStable(s, func(i, j int) bool { return s[i].Ms > s[j].Ms })
	tw := newTable(w)
	fmt.Fprintln(tw, "layer\tblock\tms\tshare")
	for _, l := range s[:min(top, len(s))] {
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.1f%%\n", l.Layer, l.Block, l.Ms, 100*l.Ms/total)
	}
	tw.Flush()
}

func newProfileCmd() *cobra.Command {
	var rf runtimeFlags
	var spaceName, out, name, method string
	var res, channels, classes, samples, flushMB int
	cmd := &cobra.Command{
		Use:   "profile --runtime ort --threads N --space S --resolution R --out TABLE.csv",
		Short: "Build a per-op latency table of a search space by timing its blocks",
		Long: `Time, with ONNX Runtime on this machine, every block configuration a search
space can produce at one resolution, each as a graph of that block alone
(as nn-Meter profiles kernels), and write the medians as a per-op lookup
table (docs/lut-csv.md) that a fleet file uses as a device (kind: lut).

The per-run overhead of the runtime (timed on a trivial model) is taken out
of every entry and becomes the table's constant. Check the table against
whole networks with fleetnas validate.

Every timing waits for a quiet machine (--quiet): other tenants of a shared
machine slow everything down by 30-50% for seconds at a time. Timings the
gate judges slowed once it knows the machine better are taken again at the
end. Expect 5-20 minutes for multihw at 224 px, depending on how busy the
machine is.

When ONNX Runtime is missing, profiling says how to install it:

` + ortInstall,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if spaceName == "" || out == "" {
				return errors.New("--space and --out are required")
			}
			sp, err := space.Get(spaceName)
			if err != nil {
				return err
			}
			if res == 0 {
				res = sp.DefaultResolution()
			}
			opt, err := rf.start()
			if err != nil {
				return err
			}
			if flushMB < 0 || flushMB > 4096 {
				return fmt.Errorf("--flush-mb must be in 0..4096, got %d", flushMB)
			}
			opt.FlushBytes = flushMB << 20
			target, err := targetFlags(sp, res, channels, classes)
			if err != nil {
				return err
			}
			configs, cov, err := profile.Configs(sp, target, samples, 1)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s at %s: %d block configurations (from %d enumerated networks; %d more found in %d sampled ones)\n",
				sp.Name(), describeTarget(target), len(configs), cov.Networks, cov.Missed, cov.Sampled)
			if name == "" {
				name = fmt.Sprintf("ort_%s_%d_t%d", sp.Name(), res, opt.Threads)
				if target.Channels != 3 {
					name += fmt.Sprintf("_ch%d", target.Channels)
				}
				if target.Classes != sp.DefaultClasses() {
					name += fmt.Sprintf("_c%d", target.Classes)
				}
			}
			tb, rep, err := profile.Profile(name, fmt.Sprintf("%s space at %s", sp.Name(), describeTarget(target)), configs, profile.Method(method), opt, progressTo(cmd.ErrOrStderr(), "profiling"))
			if err != nil {
				return err
			}
			if err := writeTable(out, tb); err != nil {
				return err
			}
			fmt.Fprintf(w, "wrote %s: %d entries + constant %.4f ms in %.0f s (%.0f s waiting for a quiet machine, %d timings taken again); %d noisy and %d slowed timings; load average %.2f -> %.2f\n",
				out, tb.Len(), tb.Constant, rep.Seconds, rep.WaitSeconds, rep.Remeasured, rep.Noisy, rep.Slowed, rep.LoadBefore, rep.LoadAfter)
			if rep.Slowed*10 > rep.Entries {
				fmt.Fprintf(w, "SLOWED: %d of %d blocks were timed while other work slowed the machine down: profile again on a quieter machine\n", rep.Slowed, rep.Entries)
			}
			return nil
		},
	}
	rf.register(cmd, profile.DefaultProfileRuns)
	fs := cmd.Flags()
	fs.StringVar(&spaceName, "space", "", "search space (see `fleetnas space`)")
	fs.IntVar(&res, "resolution", 0, "input resolution (default: the space's)")
	fs.IntVar(&channels, "channels", 0, "input channels (default 3): profile at the deployment target a search will price")
	fs.IntVar(&classes, "classes", 0, "classifier classes (default: the space's)")
	fs.StringVar(&out, "out", "", "table CSV to write")
	fs.StringVar(&name, "name", "", "table name (default ort_<space>_<res>_t<threads>)")
	fs.StringVar(&method, "method", string(profile.DefaultMethod), "context: time each block between a lead-in op and a tail op and subtract them, so that it runs as inside a network (no layout conversions of its own); isolated: each block alone")
	fs.IntVar(&flushMB, "flush-mb", profile.DefaultFlushBytes>>20, "evict caches before every timed run by writing this many MiB (then rewrite the input), so that blocks run with cold weights and a warm input as inside a network (then --runs runs, --min-time-ms is ignored); 0: warm caches")
	fs.IntVar(&samples, "check-samples", profile.DefaultCheckSamples, "random networks lowered to check that the enumeration found every block")
	bindSetting(fs, "method", "method")
	bindSetting(fs, "check-samples", "check_samples")
	return cmd
}

func newValidateCmd() *cobra.Command {
	var rf runtimeFlags
	var device, spaceName, csvOut, corrected string
	var res, channels, classes, samples int
	var seed uint64
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "validate --device TABLE.csv --runtime ort --threads N --space S --samples N",
		Short: "Check a per-op table against whole-network runs of random networks",
		Long: `Predict random networks of a space with a per-op table and measure them
whole with ONNX Runtime: MAPE, Spearman, Kendall and the share within ±10%.

An additive table misses what happens between blocks (fused layers, layout
conversions, caches), so a linear correction measured ≈ a·predicted + b is
fitted on half of the networks and scored on the other half; --corrected
writes the table with the correction (fitted on all networks) folded in.
Networks whose runs vary by more than 10% are counted as noisy; every
measurement waits for a quiet machine (--quiet, as in fleetnas profile).

When ONNX Runtime is missing, validating says how to install it:

` + ortInstall,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if device == "" || spaceName == "" {
				return errors.New("--device and --space are required")
			}
			tb, err := lut.ReadCSVFile(device)
			if err != nil {
				return err
			}
			sp, err := space.Get(spaceName)
			if err != nil {
				return err
			}
			opt, err := rf.start()
			if err != nil {
				return err
			}
			target, err := targetFlags(sp, res, channels, classes)
			if err != nil {
				return err
			}
			rep, err := profile.Validate(tb, sp, target, samples, seed, opt, progressTo(cmd.ErrOrStderr(), "measuring"))
			if err != nil {
				return err
			}
			if csvOut != "" {
				if err := writeRows(csvOut, rep.Rows); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if err := writeJSON(out, rep); err != nil {
					return err
				}
				return writeCorrected(corrected, tb, rep)
			}
			tw := newTable(out)
			fmt.Fprintf(tw, "networks\t%d random %s at %d px, ONNX Runtime %s, %d thread(s), %s clock\n", len(rep.Rows), rep.Space, rep.Resolution, ort.Version(), rep.Threads, rep.Clock)
			fmt.Fprintf(tw, "load average\t%.2f -> %.2f; %d noisy networks (CV > %.0f%%), %d slowed; %.0f s waiting for a quiet machine, %d measured again\n",
				rep.LoadBefore, rep.LoadAfter, rep.Noisy, 100*ort.NoisyCV, rep.Slowed, rep.WaitSeconds, rep.Remeasured)
			fmt.Fprintf(tw, "raw table\tMAPE %.1f%%, Spearman %.3f, %.0f%% within ±10%%, bias %+.1f%%\n", rep.Raw.MAPE, rep.Raw.Spearman, 100*rep.Raw.Within10, rep.BiasPct)
			fmt.Fprintf(tw, "held-out half, raw\tMAPE %.1f%%, Spearman %.3f, %.0f%% within ±10%%\n", rep.HeldOutRaw.MAPE, rep.HeldOutRaw.Spearman, 100*rep.HeldOutRaw.Within10)
			fmt.Fprintf(tw, "held-out half, corrected\tMAPE %.1f%%, Spearman %.3f, %.0f%% within ±10%% (measured = %.4f x predicted %+.3f ms, fitted on the other half)\n",
				rep.HeldOutCorrected.MAPE, rep.HeldOutCorrected.Spearman, 100*rep.HeldOutCorrected.Within10, rep.Fit.Scale, rep.Fit.OffsetMs)
			fmt.Fprintf(tw, "correction on all\tmeasured = %.4f x predicted %+.3f ms\n", rep.FitAll.Scale, rep.FitAll.OffsetMs)
			if err := tw.Flush(); err != nil {
				return err
			}
			if rep.Biased() {
				fmt.Fprintf(out, "BIASED: the table is off by %+.1f%% on average (layer fusion, layout conversions, caches); use the corrected table (--corrected FILE)\n", rep.BiasPct)
			}
			if rep.NoisyMachine() {
				fmt.Fprintf(out, "NOISY: %d of %d networks had runs varying by more than %.0f%% and %d were measured while other work slowed the machine (load average %.2f -> %.2f): these scores reflect the machine's other work; validate again on a quiet machine\n",
					rep.Noisy, len(rep.Rows), 100*ort.NoisyCV, rep.Slowed, rep.LoadBefore, rep.LoadAfter)
			}
			return writeCorrected(corrected, tb, rep)
		},
	}
	rf.register(cmd, profile.DefaultOptions().MinRuns)
	fs := cmd.Flags()
	fs.StringVar(&device, "device", "", "per-op table CSV (from fleetnas profile)")
	fs.StringVar(&spaceName, "space", "", "search space of the random networks")
	fs.IntVar(&res, "resolution", 0, "input resolution (default: the space's)")
	fs.IntVar(&channels, "channels", 0, "input channels (default 3): the table's deployment target")
	fs.IntVar(&classes, "classes", 0, "classifier classes (default: the space's)")
	fs.IntVar(&samples, "samples", profile.DefaultValidateSamples, "random networks to measure")
	bindSetting(fs, "samples", "samples")
	fs.Uint64Var(&seed, "seed", 1, "seed of the random networks")
	fs.StringVar(&csvOut, "csv", "", "write each network's prediction and measurement to this CSV")
	fs.StringVar(&corrected, "corrected", "", "write the table with the correction folded in")
	fs.BoolVar(&asJSON, "json", false, "write JSON")
	return cmd
}

// writeRows writes validated networks as CSV: arch,predicted_ms,latency_ms,...
// (the arch and latency_ms columns make it a measurements file for
// fleetnas calibrate and table devices too).
func writeRows(path string, rows []profile.Row) error {
	var f bytes.Buffer
	fmt.Fprintln(&f, "arch,latency_ms,predicted_ms,p10_ms,p90_ms,cv,runs,slowdown")
	for _, r := range rows {
		fmt.Fprintf(&f, "%q,%.6g,%.6g,%.6g,%.6g,%.4f,%d,%.3f\n", r.Network, r.MedianMs, r.PredictedMs, r.P10Ms, r.P90Ms, r.CV, r.Runs, r.Slowdown)
	}
	return atomicfile.Write(path, f.Bytes())
}

// writeCorrected writes tb with the correction fitted on every network
// folded in, when path is set.
func writeCorrected(path string, tb *lut.Table, rep *profile.ValidateReport) error {
	if path == "" {
		return nil
	}
	ct, err := rep.FitAll.Table(tb, tb.Name+"_corrected")
	if err != nil {
		return fmt.Errorf("--corrected %s: %w", path, err)
	}
	return writeTable(path, ct)
}

// writeTable writes a table's CSV atomically.
func writeTable(path string, t *lut.Table) error {
	var b bytes.Buffer
	if err := t.WriteCSV(&b); err != nil {
		return err
	}
	return atomicfile.Write(path, b.Bytes())
}

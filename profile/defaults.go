package profile

import "time"

// DefaultOptions returns the Options that Measure, Profile and Validate
// use for every field left zero, each with its source. The measurements
// behind them are in docs/onnx.md (2 cores of a shared AMD EPYC VM, ONNX
// Runtime 1.30.0).
func DefaultOptions() Options {
	return Options{
		// One intra-op thread: MobileNetV2's latencies (Sandler et al.,
		// CVPR 2018, Table 4) are of a single large core, every
		// measurement in docs/onnx.md used one, and the CPU clock
		// (ort.ThreadCPU) can only time one thread.
		Threads: 1,
		// Not tuned: the first runs of a session allocate and warm caches;
		// no measurement says how many to skip.
		Warmup: 3,
		// Not tuned: at least 10 runs for a median, more up to 200 until
		// 100 ms have been timed, so that a block of a few microseconds
		// gets a stable median and a whole network does not take long.
		MinRuns:   10,
		MaxRuns:   200,
		MinTimeMs: 100,
		// Not tuned: two more timings of a noisy or slowed model, keeping
		// the best, bound the time one model can take.
		Retries: 2,
		// Measured here: other tenants slow the canary by 30-50% for
		// stretches of seconds (0.21 ms quiet, 0.27-0.33 ms slowed); 6% is
		// well below that and above the 4% band its quiet timings are
		// taken from (canaryBand). The exact value was not tuned.
		Quiet: 0.06,
		// Measured here: the slowed stretches lasted 10-20 s, so one wait
		// of 20 s outlasts a stretch.
		MaxWait: 20 * time.Second,
		// A bound chosen, not tuned: waiting at most as long as measuring
		// at most doubles a profile's time (multihw at 224 px: 5.5 minutes
		// of measuring, 8-12 minutes with the waiting).
		WaitShare: 1,
	}
}

// withDefaults fills in the zero fields from DefaultOptions and makes the
// negative ones that mean "none" zero.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Threads == 0 {
		o.Threads = d.Threads
	}
	if o.Warmup == 0 {
		o.Warmup = d.Warmup
	}
	o.Warmup = max(o.Warmup, 0)
	if o.MinRuns == 0 {
		o.MinRuns = d.MinRuns
	}
	if o.MaxRuns == 0 {
		o.MaxRuns = d.MaxRuns
	}
	if o.MaxRuns < o.MinRuns {
		o.MaxRuns = o.MinRuns
	}
	if o.MinTimeMs == 0 {
		o.MinTimeMs = d.MinTimeMs
	}
	if o.Retries == 0 {
		o.Retries = d.Retries
	}
	o.Retries = max(o.Retries, 0)
	if o.Quiet == 0 {
		o.Quiet = d.Quiet
	}
	if o.MaxWait == 0 {
		o.MaxWait = d.MaxWait
	}
	if o.WaitShare == 0 {
		o.WaitShare = d.WaitShare
	}
	return o
}

// Defaults of what Profile and Validate are asked to do beyond Options.
// The callers pass them (Profile also reads an empty method as
// DefaultMethod); the measurements behind them are in docs/onnx.md.
const (
	// DefaultMethod is Context. Measured here, on 12 random multihw
	// networks (CPU clock, one thread, 64 MiB flush): the ratio of
	// whole-network time to the sum of its blocks had a standard
	// deviation of log ratio 0.072 with it, 0.124 with Isolated; and a
	// block alone pays two layout conversions it never pays inside a
	// network.
	DefaultMethod = Context
	// DefaultFlushBytes, 64 MiB, is what Profile's callers flush before
	// every timed run (Options.FlushBytes; Measure and Validate time whole
	// networks and do not flush). Measured here, on the same 12 networks
	// with the context method: standard deviation of log ratio 0.072
	// with 64 MiB, 0.151 with 8 MiB, 0.165 without flushing.
	DefaultFlushBytes = 64 << 20
	// DefaultProfileRuns timed runs per block (Options.MinRuns). Not
	// tuned: raised from 10 when flushing became the default, because a
	// flushed block gets exactly MinRuns runs (MinTimeMs is ignored).
	DefaultProfileRuns = 15
	// DefaultCheckSamples random networks check Configs' enumeration.
	// Not tuned: on multihw at 224 px they found no configuration the
	// enumeration had missed (2,454 from 10,109 enumerated networks).
	DefaultCheckSamples = 2000
	// DefaultValidateSamples random networks are measured by Validate.
	// Not tuned: the validations of docs/onnx.md used 100 (38 s each on
	// multihw at 224 px); Validate needs at least 4.
	DefaultValidateSamples = 100
	// DefaultMeasureRuns timed runs of one network (Options.MinRuns) when
	// measuring a single one. Not tuned.
	DefaultMeasureRuns = 20
)

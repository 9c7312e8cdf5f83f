package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"github.com/fleetnas/fleetnas/atomicfile"
	"github.com/fleetnas/fleetnas/setting"
)

// CheckpointFile is the name of the checkpoint inside a search's
// directory.
const CheckpointFile = "checkpoint.json"

// checkpointFormat versions the checkpoint. v2 holds the step and the
// accuracy source's state; v1 (before the one loop) is not read.
const checkpointFormat = "fleetnas.checkpoint/v2"

// DefaultCheckpointEvery is the time between checkpoints when Options
// leave it at 0: short enough that a kill loses little, long enough that
// writing checkpoints (a supernet's weights among them) costs little.
const DefaultCheckpointEvery = 5 * time.Second

// checkpoint is everything needed to continue a search exactly.
type checkpoint struct {
	Format   string   `json:"format"`
	Settings Settings `json:"settings"`
	Done     bool     `json:"done"`
	// Step is the number of steps done.
	Step       int             `json:"step"`
	Controller []byte          `json:"controller"`
	Source     json.RawMessage `json:"source,omitempty"`
	History    []*Record       `json:"history"`
}

// Progress is told how far a search is; the command line shows a bar on
// a terminal and nothing when piped.
type Progress interface {
	// Start is called once with the budget and the steps already done.
	Start(total, done int)
	// Set is called after every step with the steps done and the best
	// reward so far.
	Set(done int, best float64)
	// Finish is called when the last step is done.
	Finish()
}

type noProgress struct{}

func (noProgress) Start(int, int)   {}
func (noProgress) Set(int, float64) {}
func (noProgress) Finish()          {}

// Options control how a search is carried out, not what it computes.
type Options struct {
	// Dir receives the checkpoint; "" runs in memory, with no checkpoint
	// (benchmarks run thousands of searches that way).
	Dir string
	// Resume continues the search whose checkpoint is in Dir.
	Resume bool
	// CheckpointEvery is the time between checkpoints (0:
	// DefaultCheckpointEvery).
	CheckpointEvery time.Duration
	// Progress is told how far the search is (nil: nothing).
	Progress Progress
}

// Outcome is a finished search.
type Outcome struct {
	Job *Job
	// History holds every scored proposal in order (warm-up steps have
	// none).
	History []*Record
	// Chosen is the network to deploy (the controller's choice), scored
	// with the source's final accuracy; its Step is that of its first
	// evaluation, -1 if it was never proposed.
	Chosen *Record
	// BestSeen is the history's best reward (the earliest of ties).
	BestSeen *Record
	// Elapsed is this run's time (not the resumed ones').
	Elapsed time.Duration
	// Resumed is set when the search continued from a checkpoint.
	Resumed bool
}

// ExistsError is returned when Dir holds a search and Resume is not set:
// a directory with work in it is never reused silently.
type ExistsError struct {
	Dir, Checkpoint string
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("%s already holds a search (%s)", e.Dir, e.Checkpoint)
}

// InterruptedError is returned when the context is cancelled. When Saved
// is set, the checkpoint holds the steps done and the search can be
// resumed; a search interrupted before its first step saves nothing.
type InterruptedError struct {
	Step, Budget int
	Saved        bool
	Err          error
}

func (e *InterruptedError) Error() string {
	if !e.Saved {
		return fmt.Sprintf("search interrupted after %d of %d steps, nothing saved: %v", e.Step, e.Budget, e.Err)
	}
	return fmt.Sprintf("search interrupted after %d of %d steps; checkpoint saved: %v", e.Step, e.Budget, e.Err)
}

func (e *InterruptedError) Unwrap() error { return e.Err }

// Run opens the search the settings describe and runs it.
func Run(ctx context.Context, s Settings, o Options) (*Outcome, error) {
	j, err := Open(s)
	if err != nil {
		return nil, err
	}
	return j.Run(ctx, o)
}

// Run carries the search out to its budget, checkpointing as it goes, and
// finishes it. A search whose finished checkpoint is in Dir, with the same
// settings, is finished again from the checkpoint (nothing is searched).
func (j *Job) Run(ctx context.Context, o Options) (*Outcome, error) {
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = DefaultCheckpointEvery
	}
	if o.Progress == nil {
		o.Progress = noProgress{}
	}
	start := time.Now()
	out := &Outcome{Job: j}
	step, done := 0, false
	if o.Dir != "" {
		ck, err := j.load(o)
		if err != nil {
			return nil, err
		}
		if ck != nil {
			step, done, out.History, out.Resumed = ck.Step, ck.Done, ck.History, true
		}
	}
	// save checkpoints the search between steps. Before the first step
	// there is nothing to keep, and no checkpoint is written: a search
	// that fails at once leaves nothing that refuses a corrected rerun.
	save := func(done bool) (bool, error) {
		if o.Dir == "" || (step == 0 && !done) {
			return false, nil
		}
		return true, j.save(o.Dir, step, done, out.History)
	}
	best := math.Inf(-1)
	for _, r := range out.History {
		best = max(best, r.Reward)
	}
	warmup := j.src.Warmup()
	o.Progress.Start(j.s.Budget, step)
	last := time.Now()
	for !done && step < j.s.Budget {
		if err := ctx.Err(); err != nil {
			saved, serr := save(false)
			if serr != nil {
				return nil, fmt.Errorf("%w (and the checkpoint failed: %v)", err, serr)
			}
			return nil, &InterruptedError{Step: step, Budget: j.s.Budget, Saved: saved, Err: err}
		}
		rec, changed, err := j.step(ctx, step, warmup, len(out.History))
		if errors.Is(err, errExhausted) {
			break
		}
		if err != nil {
			// A source whose state changed mid-step (a supernet that
			// trained) cannot be checkpointed now: the last checkpoint
			// stands, at most CheckpointEvery of work behind.
			note := "the last checkpoint is kept"
			if !changed {
				switch saved, serr := save(false); {
				case serr != nil:
					note = fmt.Sprintf("and the checkpoint failed: %v", serr)
				case saved:
					note = "checkpoint saved"
				default:
					note = "nothing to checkpoint yet"
				}
			}
			return nil, fmt.Errorf("step %d: %w (%s)", step, err, note)
		}
		step++
		if rec != nil {
			out.History = append(out.History, rec)
			best = max(best, rec.Reward)
		}
		o.Progress.Set(step, best)
		if time.Since(last) >= o.CheckpointEvery {
			if _, err := save(false); err != nil {
				return nil, err
			}
			last = time.Now()
		}
	}
	o.Progress.Finish()
	if err := j.finish(ctx, out); err != nil {
		return nil, err
	}
	if _, err := save(true); err != nil {
		return nil, err
	}
	out.Elapsed = time.Since(start)
	return out, nil
}

// errExhausted says the controller has nothing left to propose.
var errExhausted = errors.New("the controller has no proposal left")

// step carries out search step number step: the source's warm-up, or a
// proposal priced, scored and observed. It returns the proposal's record
// (nil in the warm-up) and whether the source's state changed.
func (j *Job) step(ctx context.Context, step, warmup, index int) (*Record, bool, error) {
	if step < warmup {
		changed, err := j.src.Advance(ctx, step, nil)
		return nil, changed, err
	}
	choice, ok := j.ctrl.Propose()
	if !ok {
		return nil, false, errExhausted
	}
	changed, err := j.src.Advance(ctx, step, choice)
	if err != nil {
		return nil, changed, err
	}
	r, err := j.evaluate(ctx, choice)
	if err != nil {
		return nil, changed, err
	}
	if err := j.ctrl.Observe(choice, r.Reward); err != nil {
		return nil, changed, err
	}
	r.Step = index
	r.Entropy = j.ctrl.Entropy()
	return r, changed, nil
}

// finish chooses the network to deploy and scores it with the source's
// final accuracy, and picks the best network seen.
func (j *Job) finish(ctx context.Context, out *Outcome) error {
	if len(out.History) == 0 {
		if w := j.src.Warmup(); w >= j.s.Budget {
			return fmt.Errorf("the budget of %d steps ended inside the accuracy source's warm-up (%d steps); nothing was searched", j.s.Budget, w)
		}
		return errors.New("the controller proposed no network")
	}
	chosen, err := j.final(ctx, j.ctrl.Chosen())
	if err != nil {
		return fmt.Errorf("chosen network: %w", err)
	}
	chosen.Step = -1
	for _, r := range out.History {
		if r.Key == chosen.Key {
			chosen.Step = r.Step
			break
		}
	}
	out.Chosen = chosen
	out.BestSeen = out.History[0]
	for _, r := range out.History {
		if r.Reward > out.BestSeen.Reward {
			out.BestSeen = r
		}
	}
	return nil
}

// load reads the checkpoint in o.Dir and restores the controller and the
// source from it. It returns nil when there is none to continue.
func (j *Job) load(o Options) (*checkpoint, error) {
	path := filepath.Join(o.Dir, CheckpointFile)
	ck, err := readCheckpoint(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if o.Resume {
			return nil, setting.Errorf("resume", "no checkpoint in %s", o.Dir)
		}
		return nil, nil
	case err != nil:
		return nil, err
	case !o.Resume && !(ck.Done && reflect.DeepEqual(ck.Settings, j.s)):
		return nil, &ExistsError{Dir: o.Dir, Checkpoint: path}
	case !reflect.DeepEqual(ck.Settings, j.s):
		return nil, setting.Errorf("resume", "the checkpoint in %s was made with other settings:\n  checkpoint: %+v\n  now:        %+v", o.Dir, ck.Settings, j.s)
	}
	corrupt := func(what string, err error) error {
		if err != nil {
			return fmt.Errorf("%s is corrupt (%s: %v); delete it to start over", path, what, err)
		}
		return fmt.Errorf("%s is corrupt (%s); delete it to start over", path, what)
	}
	devices := len(j.pricer.Devices())
	for i, r := range ck.History {
		if r == nil || r.Step != i || len(r.LatencyMS) != devices || len(r.Ratio) != devices {
			return nil, corrupt(fmt.Sprintf("history entry %d", i), nil)
		}
	}
	if ck.Step < 0 || ck.Step > j.s.Budget || len(ck.History) != max(0, ck.Step-j.src.Warmup()) {
		return nil, corrupt(fmt.Sprintf("step %d with %d history entries", ck.Step, len(ck.History)), nil)
	}
	if err := j.ctrl.UnmarshalState(ck.Controller); err != nil {
		return nil, corrupt("controller state", err)
	}
	if len(ck.Source) > 0 {
		if err := j.src.Restore(o.Dir, ck.Source); err != nil {
			return nil, corrupt("accuracy source state", err)
		}
	}
	return ck, nil
}

// save writes a checkpoint atomically, with the controller's and the
// source's state as they are between steps.
func (j *Job) save(dir string, step int, done bool, history []*Record) error {
	// The directory is made with the first checkpoint, so that a search
	// that fails before it leaves nothing to refuse a corrected rerun.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ctrl, err := j.ctrl.MarshalState()
	if err != nil {
		return err
	}
	src, err := j.src.Save(dir)
	if err != nil {
		return err
	}
	ck := checkpoint{Format: checkpointFormat, Settings: j.s, Done: done, Step: step, Controller: ctrl, Source: src, History: history}
	if err := writeJSONAtomic(filepath.Join(dir, CheckpointFile), ck); err != nil {
		return err
	}
	j.src.Saved(dir, src)
	return nil
}

func readCheckpoint(path string) (*checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var probe struct {
		Format string `json:"format"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("%s is corrupt (%v); delete it to start over", path, err)
	}
	if probe.Format != checkpointFormat {
		return nil, fmt.Errorf("%s is not a checkpoint this fleetnas reads (format %q, want %q); delete it to start over", path, probe.Format, checkpointFormat)
	}
	var ck checkpoint
	if err := json.Unmarshal(b, &ck); err != nil {
		return nil, fmt.Errorf("%s is corrupt (%v); delete it to start over", path, err)
	}
	return &ck, nil
}

// writeJSONAtomic writes v to path through a temporary file, fsync and
// rename, so that a kill at any moment leaves either the old or the new
// file, never a torn one.
func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'))
}

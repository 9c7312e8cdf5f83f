package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"github.com/fleetnas/fleetnas/atomicfile"

	"github.com/fleetnas/fleetnas/search"
)

// CheckpointFile is the name of the checkpoint inside a run's directory.
const CheckpointFile = "checkpoint.json"

const checkpointFormat = "fleetnas.checkpoint/v1"

// checkpoint is everything needed to continue a run exactly.
type checkpoint struct {
	Format     string    `json:"format"`
	Settings   Settings  `json:"settings"`
	Done       bool      `json:"done"`
	Controller []byte    `json:"controller"`
	History    []*Record `json:"history"`
	// Supernet searches also keep the step, the shared weights' optimizer
	// state and the file holding the shared weights with its SHA-256.
	Step          int    `json:"step,omitempty"`
	Optimizer     []byte `json:"optimizer,omitempty"`
	Weights       string `json:"weights,omitempty"`
	WeightsSHA256 string `json:"weights_sha256,omitempty"`
}

// Progress is told how far a run is; the command line shows a bar on a
// terminal and nothing when piped.
type Progress interface {
	Start(total, done int)
	Set(done int, best float64)
	Finish()
}

type noProgress struct{}

func (noProgress) Start(int, int)   {}
func (noProgress) Set(int, float64) {}
func (noProgress) Finish()          {}

// Options control how a run is carried out, not what it computes.
type Options struct {
	// Dir receives the checkpoint and the output files.
	Dir string
	// Resume continues the run whose checkpoint is in Dir.
	Resume bool
	// CheckpointEvery is the time between checkpoints (default 5 s).
	CheckpointEvery time.Duration
	Progress        Progress
}

// Outcome is a finished run.
type Outcome struct {
	Job      *Job
	History  []*Record
	Chosen   *Record
	BestSeen *Record
	Archive  *search.Archive
	Elapsed  time.Duration
	Resumed  bool
}

// Run carries out a search to its budget, checkpointing as it goes, and
// writes the output files.
func Run(ctx context.Context, s Settings, o Options) (*Outcome, error) {
	if o.Dir == "" {
		return nil, errors.New("--out DIR is required")
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = 5 * time.Second
	}
	if o.Progress == nil {
		o.Progress = noProgress{}
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	ckPath := filepath.Join(o.Dir, CheckpointFile)
	j, err := Open(s)
	if err != nil {
		return nil, err
	}
	out := &Outcome{Job: j}
	ck, err := readCheckpoint(ckPath)
	switch {
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return nil, err
	case err == nil && !o.Resume && !(ck.Done && reflect.DeepEqual(ck.Settings, s)):
		return nil, fmt.Errorf("%s already holds a search (%s); pass --resume to continue it, or choose another --out", o.Dir, ckPath)
	case errors.Is(err, os.ErrNotExist) && o.Resume:
		return nil, fmt.Errorf("--resume: no checkpoint in %s", o.Dir)
	case err == nil:
		if !reflect.DeepEqual(ck.Settings, s) {
			return nil, fmt.Errorf("--resume: the checkpoint in %s was made with other settings:\n  checkpoint: %+v\n  now:        %+v", o.Dir, ck.Settings, s)
		}
		if err := j.ctrl.UnmarshalState(ck.Controller); err != nil {
			return nil, fmt.Errorf("%s is corrupt (controller state: %v); delete it to start over", ckPath, err)
		}
		for i, r := range ck.History {
			if r == nil || r.Step != i || len(r.LatencyMS) != len(j.devices) {
				return nil, fmt.Errorf("%s is corrupt (history entry %d); delete it to start over", ckPath, i)
			}
			if s.Accuracy != SupernetAccuracy {
				c := *r
				j.cache[r.Key] = &c
			}
		}
		out.History, out.Resumed = ck.History, true
	}
	if s.Accuracy == SupernetAccuracy {
		return j.runSupernet(ctx, o, ck, out)
	}
	start := time.Now()
	last := time.Now()
	best := func() float64 {
		b := -1e300
		for _, r := range out.History {
			b = max(b, r.Reward)
		}
		return b
	}
	o.Progress.Start(s.Budget, len(out.History))
	// save writes a checkpoint with the controller state taken before the
	// current proposal (state), so that a resumed run proposes exactly what
	// an unbroken run would have proposed next.
	save := func(done bool, state []byte) error {
		return writeJSONAtomic(ckPath, checkpoint{Format: checkpointFormat, Settings: s, Done: done, Controller: state, History: out.History})
	}
	bestReward := best()
	state, err := j.ctrl.MarshalState()
	if err != nil {
		return nil, err
	}
	for len(out.History) < s.Budget && !(ck != nil && ck.Done) {
		if err := ctx.Err(); err != nil {
			if serr := save(false, state); serr != nil {
				return nil, serr
			}
			return nil, fmt.Errorf("search interrupted after %d evaluations; checkpoint saved, continue with --resume: %w", len(out.History), err)
		}
		choice, ok := j.ctrl.Propose()
		if !ok {
			break
		}
		r, err := j.Evaluate(ctx, choice)
		if err != nil {
			if serr := save(false, state); serr != nil {
				return nil, fmt.Errorf("%v (and the checkpoint failed: %v)", err, serr)
			}
			return nil, fmt.Errorf("evaluation %d: %w (checkpoint saved)", len(out.History), err)
		}
		if err := j.ctrl.Observe(choice, r.Reward); err != nil {
			return nil, err
		}
		r.Step = len(out.History)
		r.Entropy = j.ctrl.Entropy()
		out.History = append(out.History, r)
		bestReward = max(bestReward, r.Reward)
		o.Progress.Set(len(out.History), bestReward)
		if state, err = j.ctrl.MarshalState(); err != nil {
			return nil, err
		}
		if time.Since(last) >= o.CheckpointEvery {
			if err := save(false, state); err != nil {
				return nil, err
			}
			last = time.Now()
		}
	}
	o.Progress.Finish()
	if len(out.History) == 0 {
		return nil, errors.New("the controller proposed no network")
	}
	chosen, err := j.Evaluate(ctx, j.ctrl.Chosen())
	if err != nil {
		return nil, fmt.Errorf("chosen network: %w", err)
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
	if out.Archive, err = j.archive(out.History); err != nil {
		return nil, err
	}
	out.Elapsed = time.Since(start)
	if state, err = j.ctrl.MarshalState(); err != nil {
		return nil, err
	}
	if err := save(true, state); err != nil {
		return nil, err
	}
	if err := writeOutputs(o.Dir, out); err != nil {
		return nil, err
	}
	return out, nil
}

// archive rebuilds the Pareto archive from the history (accuracy vs AVG,
// MAX and each device's latency).
func (j *Job) archive(h []*Record) (*search.Archive, error) {
	objectives := append([]string{"avg", "max"}, j.devices...)
	a, err := search.NewArchive(objectives)
	if err != nil {
		return nil, err
	}
	for _, r := range h {
		cost := append([]float64{r.Avg, r.Max}, r.LatencyMS...)
		if _, err := a.Add(search.Point{Accuracy: r.Accuracy, Cost: cost, Key: r.Key, Step: r.Step}); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func readCheckpoint(path string) (*checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ck checkpoint
	if err := json.Unmarshal(b, &ck); err != nil {
		return nil, fmt.Errorf("%s is corrupt (%v); delete it to start over", path, err)
	}
	if ck.Format != checkpointFormat {
		return nil, fmt.Errorf("%s is not a fleetnas checkpoint (format %q, want %q)", path, ck.Format, checkpointFormat)
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

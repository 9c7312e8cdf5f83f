package job

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/fleetnas/fleetnas/atomicfile"
	"github.com/fleetnas/fleetnas/dataset"
	"github.com/fleetnas/fleetnas/nn"
	"github.com/fleetnas/fleetnas/optim"
	"github.com/fleetnas/fleetnas/supernet"
)

// SupernetAccuracy is the Settings.Accuracy that trains a weight-sharing
// supernet on Settings.Data during the search and rewards each proposal
// with its accuracy on a validation batch, as TuNAS does.
const SupernetAccuracy = "supernet"

// Supernet defaults, used where Settings leaves the field at 0.
const (
	// DefaultProxyWidth scales the training networks' filters.
	DefaultProxyWidth = 0.25
	// DefaultBatch is the training and validation batch size.
	DefaultBatch = 64
	// DefaultWeightsLR is the peak learning rate of the shared weights
	// (SGD with Nesterov momentum 0.9, cosine decay over the search).
	DefaultWeightsLR = 0.05
	// ValidationFraction of the training split is held out (stratified)
	// for the controller's rewards; the test split is never used.
	ValidationFraction = 0.1
)

// supernetDefaults fills in the supernet settings left at 0.
func supernetDefaults(s Settings) Settings {
	if s.ProxyWidth == 0 {
		s.ProxyWidth = DefaultProxyWidth
	}
	if s.Batch == 0 {
		s.Batch = DefaultBatch
	}
	if s.WeightsLR == 0 {
		s.WeightsLR = DefaultWeightsLR
	}
	return s
}

// checkSupernetSettings rejects settings a supernet search cannot run.
func checkSupernetSettings(s Settings) error {
	s = supernetDefaults(s)
	switch {
	case s.Data == "":
		return errors.New("--accuracy supernet needs --data: the images to train the supernet on (e.g. fashion-mnist)")
	case s.Algo != "tunas" && s.Algo != "random":
		return fmt.Errorf("--accuracy supernet works with --algo tunas or random, not %q: the supernet's accuracy of a network changes as its weights train, so evolution's and exhaustive's remembered rewards go stale", s.Algo)
	case !(s.ProxyWidth > 0 && s.ProxyWidth <= 1):
		return fmt.Errorf("--proxy-width must be in (0, 1], got %v", s.ProxyWidth)
	case s.Batch < 2:
		return fmt.Errorf("--batch must be at least 2 (batch norm uses the batch's statistics), got %d", s.Batch)
	case !(s.WeightsLR > 0) || math.IsInf(s.WeightsLR, 0):
		return fmt.Errorf("--weights-lr must be a positive learning rate, got %v", s.WeightsLR)
	case s.Budget < 4:
		return fmt.Errorf("--budget is the number of supernet training steps and must be at least 4, got %d", s.Budget)
	}
	return nil
}

// supernetRun is the state of a supernet search besides the job's.
type supernetRun struct {
	net   *supernet.Supernet
	opt   *optim.SGD
	sched optim.Cosine
	warm  supernet.Warmup
	// delay is the number of steps before the controller learns: TuNAS
	// keeps its learning rate at 0 for the warmup (rl_delay_steps_fraction).
	delay     int
	train     *dataset.Loader
	val       *dataset.Loader // shuffled validation batches for rewards
	valAll    *dataset.Loader // the whole validation split, for the chosen network
	orders    map[*dataset.Loader]epochOrder
	trainSize int
}

// epochOrder caches one epoch's visiting order of a loader.
type epochOrder struct {
	epoch int
	order []int
}

// batch returns batch number i (counting across epochs) of a loader, so
// that any step's batch can be produced without replaying the ones before
// it (a resumed run needs no fast-forward).
func (r *supernetRun) batch(l *dataset.Loader, i int) (*nn.Tensor, []int, error) {
	nb, b := l.NumBatches(), l.BatchSize()
	epoch, k := i/nb, i%nb
	o, ok := r.orders[l]
	if !ok || o.epoch != epoch {
		o = epochOrder{epoch: epoch, order: l.Order(epoch)}
		r.orders[l] = o
	}
	return l.Load(o.order[k*b:min((k+1)*b, len(o.order))], epoch)
}

// openSupernet loads the data and builds the supernet.
func (j *Job) openSupernet() (*supernetRun, error) {
	s := supernetDefaults(j.S)
	if err := supernet.Supported(j.space); err != nil {
		return nil, err
	}
	ds, err := dataset.Open(s.Data)
	if err != nil {
		return nil, err
	}
	trainPart, valPart := dataset.ValidationSplit(ds.Train, ValidationFraction, s.Seed)
	if trainPart.H != trainPart.W {
		return nil, fmt.Errorf("--data %s: images are %dx%d; the supernet trains on square images", s.Data, trainPart.H, trainPart.W)
	}
	if trainPart.Len() < s.Batch || valPart.Len() < s.Batch {
		return nil, fmt.Errorf("--data %s: %d training and %d validation images are fewer than a batch of %d", s.Data, trainPart.Len(), valPart.Len(), s.Batch)
	}
	net, err := supernet.New(j.space, supernet.Config{Resolution: trainPart.H, Channels: trainPart.C,
		Classes: len(ds.Classes), ProxyWidth: s.ProxyWidth, LabelSmoothing: 0.1, Seed: s.Seed})
	if err != nil {
		return nil, err
	}
	opt, err := optim.NewSGD(optim.SGDConfig{Momentum: 0.9, Nesterov: true, WeightDecay: 4e-5})
	if err != nil {
		return nil, err
	}
	r := &supernetRun{net: net, opt: opt, warm: supernet.DefaultWarmup(s.Budget), orders: map[*dataset.Loader]epochOrder{},
		trainSize: trainPart.Len()}
	r.delay = r.warm.OpSteps
	r.sched = optim.Cosine{Base: s.WeightsLR, Warmup: s.Budget / 40, Total: s.Budget, WarmupFrom: 0.1}
	if err := r.sched.Validate(); err != nil {
		return nil, err
	}
	// Mirror images only for data whose classes survive it: Fashion-MNIST
	// and CIFAR-10 do, digits do not.
	flip := ds.Classes[0] != "0"
	if r.train, err = dataset.NewLoader(trainPart, s.Batch, s.Seed, dataset.Augment{Flip: flip}); err != nil {
		return nil, err
	}
	if r.val, err = dataset.NewLoader(valPart, s.Batch, s.Seed+1, dataset.Augment{}); err != nil {
		return nil, err
	}
	if r.valAll, err = dataset.NewEvalLoader(valPart, 4*s.Batch); err != nil {
		return nil, err
	}
	return r, nil
}

// weightsFile is a checkpoint of the shared weights: every parameter by
// name, as the supernet holds them.
type weightsFile struct {
	Format string
	Params []namedTensor
}

type namedTensor struct {
	Name string
	Data []float32
}

const weightsFormat = "fleetnas.supernet-weights/v1"

// saveWeights writes the shared weights of step to a file of its own and
// returns its name and SHA-256. A new file per checkpoint, removed only
// after the checkpoint that names its successor is written, means a kill
// at any moment leaves a checkpoint whose weights file exists and matches.
func (r *supernetRun) saveWeights(dir string, step int) (name, sum string, err error) {
	w := weightsFile{Format: weightsFormat}
	for _, p := range r.net.Params() {
		w.Params = append(w.Params, namedTensor{Name: p.Name, Data: p.Data})
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(w); err != nil {
		return "", "", err
	}
	name = fmt.Sprintf("supernet-%09d.weights", step)
	if err := atomicfile.Write(filepath.Join(dir, name), buf.Bytes()); err != nil {
		return "", "", err
	}
	h := sha256.Sum256(buf.Bytes())
	return name, hex.EncodeToString(h[:]), nil
}

// loadWeights reads a weights file into the supernet.
func (r *supernetRun) loadWeights(path, sum string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("supernet weights of the checkpoint: %w", err)
	}
	if h := sha256.Sum256(b); hex.EncodeToString(h[:]) != sum {
		return fmt.Errorf("%s does not match its checkpoint (SHA-256 differs); delete the run directory to start over", path)
	}
	var w weightsFile
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&w); err != nil || w.Format != weightsFormat {
		return fmt.Errorf("%s is not a fleetnas supernet weights file", path)
	}
	byName := map[string][]float32{}
	for _, t := range w.Params {
		byName[t.Name] = t.Data
	}
	for _, p := range r.net.Params() {
		d, ok := byName[p.Name]
		if !ok || len(d) != len(p.Data) {
			return fmt.Errorf("%s: parameter %s is missing or has another size (was the supernet built with other settings?)", path, p.Name)
		}
		copy(p.Data, d)
	}
	return nil
}

// stepRand is the random source of one step: warmup overrides and the
// uniform proposals of the delay. Drawing it from (seed, step) makes a
// resumed run draw what an unbroken one would.
func stepRand(seed uint64, step int) *rand.Rand {
	return rand.New(rand.NewPCG(seed^0x5eed5eed, uint64(step)))
}

// runSupernet is Run for SupernetAccuracy. Each step trains the shared
// weights on one training batch with the network the controller proposes
// (under warmup overrides at first); after the warmup (TuNAS's RL delay)
// the proposal's accuracy on a validation batch, with the latency of its
// deployment network, is the controller's reward and a history record.
func (j *Job) runSupernet(ctx context.Context, o Options, ck *checkpoint, out *Outcome) (*Outcome, error) {
	s := j.S
	r, err := j.openSupernet()
	if err != nil {
		return nil, err
	}
	step := 0
	if ck != nil {
		if err := r.loadWeights(filepath.Join(o.Dir, ck.Weights), ck.WeightsSHA256); err != nil {
			return nil, err
		}
		if err := r.opt.SetState(ck.Optimizer); err == nil {
			err = r.opt.Adopt(r.net.Params())
		}
		if err != nil {
			return nil, fmt.Errorf("%s is corrupt (optimizer state: %v); delete it to start over", filepath.Join(o.Dir, CheckpointFile), err)
		}
		step = ck.Step
		if step < 0 || step > s.Budget || len(out.History) != max(0, step-r.delay) {
			return nil, fmt.Errorf("%s is corrupt (step %d with %d history entries); delete it to start over", filepath.Join(o.Dir, CheckpointFile), step, len(out.History))
		}
	}
	ckPath := filepath.Join(o.Dir, CheckpointFile)
	weights := ""
	if ck != nil {
		weights = ck.Weights
	}
	state, err := j.ctrl.MarshalState()
	if err != nil {
		return nil, err
	}
	save := func(done bool) error {
		name, sum, err := r.saveWeights(o.Dir, step)
		if err != nil {
			return err
		}
		opt, err := r.opt.State()
		if err != nil {
			return err
		}
		err = writeJSONAtomic(ckPath, checkpoint{Format: checkpointFormat, Settings: s, Done: done, Controller: state,
			History: out.History, Step: step, Optimizer: opt, Weights: name, WeightsSHA256: sum})
		if err != nil {
			return err
		}
		if weights != "" && weights != name {
			_ = os.Remove(filepath.Join(o.Dir, weights))
		}
		weights = name
		return nil
	}
	bestReward := math.Inf(-1)
	for _, h := range out.History {
		bestReward = max(bestReward, h.Reward)
	}
	start, last := time.Now(), time.Now()
	o.Progress.Start(s.Budget, step)
	for step < s.Budget && !(ck != nil && ck.Done) {
		if err := ctx.Err(); err != nil {
			if serr := save(false); serr != nil {
				return nil, serr
			}
			return nil, fmt.Errorf("search interrupted after %d of %d supernet steps; checkpoint saved, continue with --resume: %w", step, s.Budget, err)
		}
		rec, err := j.supernetStep(r, step)
		if err != nil {
			if serr := save(false); serr != nil {
				return nil, fmt.Errorf("%v (and the checkpoint failed: %v)", err, serr)
			}
			return nil, fmt.Errorf("supernet step %d: %w (checkpoint saved)", step, err)
		}
		step++
		if rec != nil {
			rec.Step = len(out.History)
			out.History = append(out.History, rec)
			bestReward = max(bestReward, rec.Reward)
			if state, err = j.ctrl.MarshalState(); err != nil {
				return nil, err
			}
		}
		o.Progress.Set(step, bestReward)
		if time.Since(last) >= o.CheckpointEvery {
			if err := save(false); err != nil {
				return nil, err
			}
			last = time.Now()
		}
	}
	o.Progress.Finish()
	if len(out.History) == 0 {
		return nil, fmt.Errorf("the budget of %d steps ended inside the warmup (%d steps); nothing was searched", s.Budget, r.delay)
	}
	// The chosen network is priced with its accuracy on the whole
	// validation split, which is far less noisy than one batch.
	choice := j.ctrl.Chosen()
	key, err := j.space.Format(choice)
	if err != nil {
		return nil, err
	}
	chosen, err := j.price(key, choice)
	if err != nil {
		return nil, err
	}
	acc, err := r.net.Evaluate(choice, r.valAll, 0)
	if err != nil {
		return nil, err
	}
	if err := j.score(chosen, acc); err != nil {
		return nil, err
	}
	chosen.Step = -1
	for _, h := range out.History {
		j.cache[h.Key] = h
		if h.Key == chosen.Key && chosen.Step < 0 {
			chosen.Step = h.Step
		}
	}
	out.Chosen = chosen
	out.BestSeen = out.History[0]
	for _, h := range out.History {
		if h.Reward > out.BestSeen.Reward {
			out.BestSeen = h
		}
	}
	if out.Archive, err = j.archive(out.History); err != nil {
		return nil, err
	}
	out.Elapsed = time.Since(start)
	if err := save(true); err != nil {
		return nil, err
	}
	if err := writeOutputs(o.Dir, out); err != nil {
		return nil, err
	}
	return out, nil
}

// supernetStep runs training step i and, after the delay, the
// controller's step; it returns the record of the controller's proposal,
// or nil during the delay.
func (j *Job) supernetStep(r *supernetRun, i int) (*Record, error) {
	x, labels, err := r.batch(r.train, i)
	if err != nil {
		return nil, err
	}
	rng := stepRand(j.S.Seed, i)
	var proposal []int
	if i < r.delay {
		// The controller is still uniform and does not learn yet; draw
		// from the step's own stream so no controller state is spent.
		proposal = make([]int, len(j.space.Decisions()))
		for d, dec := range j.space.Decisions() {
			proposal[d] = rng.IntN(len(dec.Choices))
		}
	} else {
		var ok bool
		if proposal, ok = j.ctrl.Propose(); !ok {
			return nil, errors.New("the controller proposed no network")
		}
	}
	choice, err := r.net.WarmupChoice(proposal, i, r.warm, rng)
	if err != nil {
		return nil, err
	}
	if _, _, err := r.net.Step(x, labels, choice, r.opt, r.sched.LR(i)); err != nil {
		return nil, err
	}
	if i < r.delay {
		return nil, nil
	}
	vx, vl, err := r.batch(r.val, i-r.delay)
	if err != nil {
		return nil, err
	}
	acc, err := r.net.EvaluateBatch(vx, vl, proposal)
	if err != nil {
		return nil, err
	}
	key, err := j.space.Format(proposal)
	if err != nil {
		return nil, err
	}
	rec, err := j.price(key, proposal)
	if err != nil {
		return nil, err
	}
	if err := j.score(rec, acc); err != nil {
		return nil, err
	}
	if err := j.ctrl.Observe(proposal, rec.Reward); err != nil {
		return nil, err
	}
	rec.Entropy = j.ctrl.Entropy()
	return rec, nil
}

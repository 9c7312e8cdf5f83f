package oneshot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/fleetnas/fleetnas/accuracy"
	"github.com/fleetnas/fleetnas/atomicfile"
	"github.com/fleetnas/fleetnas/dataset"
	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/nn"
	"github.com/fleetnas/fleetnas/optim"
	"github.com/fleetnas/fleetnas/setting"
	"github.com/fleetnas/fleetnas/space"
	"github.com/fleetnas/fleetnas/supernet"
)

// Name is the accuracy spec of this source.
const Name = "supernet"

// Source is the supernet as an accuracy.Stateful source. It is not safe
// for concurrent use; one search loop owns it.
type Source struct {
	settings Settings
	sp       space.Space
	data     string
	seed     uint64
	steps    int

	net   *supernet.Supernet
	opt   *optim.SGD
	sched optim.Cosine
	warm  supernet.Warmup
	// delay is the number of warm-up steps before the controller learns:
	// TuNAS keeps its learning rate at 0 for the warmup
	// (rl_delay_steps_fraction).
	delay  int
	train  *dataset.Loader
	val    *dataset.Loader // shuffled validation batches for rewards
	valAll *dataset.Loader // the whole validation split, for the chosen network
	orders map[*dataset.Loader]epochOrder

	// done is the number of steps trained so far; the next Advance must
	// be step done.
	done int
	// weights is the weights file of the last checkpoint written.
	weights string
}

// Open builds the supernet of sp for a search of steps steps with the
// given seed, to train on ds (opened from the spec data, which reports
// name). Errors name the setting at fault: "data", "budget" (the steps),
// or a Settings field.
func Open(sp space.Space, ds *dataset.Dataset, data string, s Settings, steps int, seed uint64) (*Source, error) {
	if ds == nil {
		return nil, setting.Errorf("data", "the supernet needs the images to train on (e.g. fashion-mnist)")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if steps < MinSteps {
		return nil, setting.Errorf("budget", "is the number of supernet training steps and must be at least %d, got %d", MinSteps, steps)
	}
	s = s.withDefaults()
	if err := supernet.Supported(sp); err != nil {
		return nil, err
	}
	trainPart, valPart := dataset.ValidationSplit(ds.Train, ValidationFraction, seed)
	if trainPart.H != trainPart.W {
		return nil, setting.Errorf("data", "%s: images are %dx%d; the supernet trains on square images", data, trainPart.H, trainPart.W)
	}
	if trainPart.Len() < s.Batch || valPart.Len() < s.Batch {
		return nil, setting.Errorf("data", "%s: %d training and %d validation images are fewer than a batch of %d", data, trainPart.Len(), valPart.Len(), s.Batch)
	}
	net, err := supernet.New(sp, supernet.Config{Resolution: trainPart.H, Channels: trainPart.C,
		Classes: len(ds.Classes), ProxyWidth: s.ProxyWidth, LabelSmoothing: LabelSmoothing, Seed: seed})
	if err != nil {
		return nil, err
	}
	opt, err := optim.NewSGD(optim.SGDConfig{Momentum: Momentum, Nesterov: true, WeightDecay: WeightDecay})
	if err != nil {
		return nil, err
	}
	src := &Source{settings: s, sp: sp, data: data, seed: seed, steps: steps, net: net, opt: opt,
		warm: supernet.DefaultWarmup(steps), orders: map[*dataset.Loader]epochOrder{}}
	src.delay = src.warm.OpSteps
	src.sched = optim.Cosine{Base: s.WeightsLR, Warmup: int(LRWarmupFraction * float64(steps)), Total: steps, WarmupFrom: LRWarmupFrom}
	if err := src.sched.Validate(); err != nil {
		return nil, err
	}
	// Mirror images only for data whose classes survive it: Fashion-MNIST
	// and CIFAR-10 do, digits do not.
	flip := ds.Classes[0] != "0"
	if src.train, err = dataset.NewLoader(trainPart, s.Batch, seed, dataset.Augment{Flip: flip}); err != nil {
		return nil, err
	}
	if src.val, err = dataset.NewLoader(valPart, s.Batch, seed+1, dataset.Augment{}); err != nil {
		return nil, err
	}
	if src.valAll, err = dataset.NewEvalLoader(valPart, 4*s.Batch); err != nil {
		return nil, err
	}
	return src, nil
}

// Name is the source's spec.
func (s *Source) Name() string { return Name }

// Warmup is the number of leading steps that train on uniformly drawn
// networks under TuNAS's op and filter warmup, with no proposals scored.
func (s *Source) Warmup() int { return s.delay }

// Drifts is true: a network's accuracy changes as the shared weights
// train.
func (s *Source) Drifts() bool { return true }

// Notes say what the accuracies are.
func (s *Source) Notes() []string {
	c := s.net.Config()
	return []string{fmt.Sprintf("Accuracy is the weight-sharing supernet's (proxy width %g, trained on %s at %dx%dx%d): "+
		"of each evaluated network on one validation batch of %d images, of the chosen network on the whole validation split. "+
		"Train the chosen network stand-alone for its real accuracy.", s.settings.ProxyWidth, s.data, c.Resolution, c.Resolution, c.Channels, s.settings.Batch)}
}

// Proxy is the shape the supernet trains at: the proxy width at the
// data's resolution, channels and classes.
func (s *Source) Proxy() accuracy.Proxy {
	c := s.net.Config()
	return accuracy.Proxy{Width: c.ProxyWidth, Resolution: c.Resolution, Channels: c.Channels, Classes: c.Classes}
}

// FinalBasis says that Final scores the whole validation split, Accuracy
// one batch.
func (s *Source) FinalBasis() string {
	return "accuracy on the whole validation split; the others on one batch"
}

// Remembered is never true: a network's accuracy is of the step.
func (s *Source) Remembered(string) (float64, bool) { return 0, false }

// epochOrder caches one epoch's visiting order of a loader.
type epochOrder struct {
	epoch int
	order []int
}

// batch returns batch number i (counting across epochs) of a loader, so
// that any step's batch can be produced without replaying the ones before
// it (a resumed search needs no fast-forward).
func (s *Source) batch(l *dataset.Loader, i int) (*nn.Tensor, []int, error) {
	nb, b := l.NumBatches(), l.BatchSize()
	epoch, k := i/nb, i%nb
	o, ok := s.orders[l]
	if !ok || o.epoch != epoch {
		o = epochOrder{epoch: epoch, order: l.Order(epoch)}
		s.orders[l] = o
	}
	return l.Load(o.order[k*b:min((k+1)*b, len(o.order))], epoch)
}

// stepRand is the random source of one step: warmup overrides and the
// uniform networks of the warm-up. Drawing it from (seed, step) makes a
// resumed search draw what an unbroken one would.
func stepRand(seed uint64, step int) *rand.Rand {
	return rand.New(rand.NewPCG(seed^0x5eed5eed, uint64(step)))
}

// Advance trains the shared weights on step's training batch with the
// network of choice, under the warmup overrides of the step; in the
// warm-up (choice nil) the network is drawn uniformly. It always reports
// a change of state.
func (s *Source) Advance(ctx context.Context, step int, choice []int) (bool, error) {
	if step != s.done {
		return false, fmt.Errorf("supernet: step %d after %d steps (steps must come in order)", step, s.done)
	}
	if step >= s.steps {
		return false, fmt.Errorf("supernet: step %d of a search of %d steps", step, s.steps)
	}
	if (choice == nil) != (step < s.delay) {
		return false, fmt.Errorf("supernet: step %d: a proposal is due after the %d warm-up steps and only then", step, s.delay)
	}
	x, labels, err := s.batch(s.train, step)
	if err != nil {
		return true, err
	}
	rng := stepRand(s.seed, step)
	if choice == nil {
		// The controller does not learn yet; draw from the step's own
		// stream so that no controller state is spent.
		choice = make([]int, len(s.sp.Decisions()))
		for d, dec := range s.sp.Decisions() {
			choice[d] = rng.IntN(len(dec.Choices))
		}
	}
	trained, err := s.net.WarmupChoice(choice, step, s.warm, rng)
	if err != nil {
		return true, err
	}
	if _, _, err := s.net.Step(x, labels, trained, s.opt, s.sched.LR(step)); err != nil {
		return true, err
	}
	s.done = step + 1
	return true, nil
}

// Accuracy is the network's top-1 accuracy (%) with the shared weights
// on the validation batch of the last step advanced to.
func (s *Source) Accuracy(_ context.Context, sp space.Space, n *latency.Net) (float64, error) {
	if err := s.check(sp, n); err != nil {
		return 0, err
	}
	if s.done <= s.delay {
		return 0, fmt.Errorf("supernet: no proposal is scored in the warm-up (step %d of %d)", s.done, s.delay)
	}
	vx, vl, err := s.batch(s.val, s.done-1-s.delay)
	if err != nil {
		return 0, err
	}
	return s.net.EvaluateBatch(vx, vl, n.Choice)
}

// Final is the network's top-1 accuracy (%) on the whole validation
// split, far less noisy than one batch.
func (s *Source) Final(_ context.Context, sp space.Space, n *latency.Net) (float64, error) {
	if err := s.check(sp, n); err != nil {
		return 0, err
	}
	return s.net.Evaluate(n.Choice, s.valAll, 0)
}

func (s *Source) check(sp space.Space, n *latency.Net) error {
	if sp.Name() != s.sp.Name() || n.Space != s.sp.Name() {
		return fmt.Errorf("supernet of space %s asked about a network of space %s", s.sp.Name(), n.Space)
	}
	return nil
}

// state is the source's part of a search checkpoint; the shared weights
// are in a file of their own named by it, with their SHA-256.
type state struct {
	Step          int    `json:"step"`
	Optimizer     []byte `json:"optimizer"`
	Weights       string `json:"weights"`
	WeightsSHA256 string `json:"weights_sha256"`
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

// Save writes the shared weights to a new file of dir, named by the
// number of steps trained, and returns the optimizer state and the file's
// name and SHA-256. A new file per checkpoint, removed only once the
// checkpoint naming its successor is written (Saved), means that a kill
// at any moment leaves a checkpoint whose weights file exists and
// matches.
func (s *Source) Save(dir string) (json.RawMessage, error) {
	w := weightsFile{Format: weightsFormat}
	for _, p := range s.net.Params() {
		w.Params = append(w.Params, namedTensor{Name: p.Name, Data: p.Data})
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(w); err != nil {
		return nil, err
	}
	name := fmt.Sprintf("supernet-%09d.weights", s.done)
	if err := atomicfile.Write(filepath.Join(dir, name), buf.Bytes()); err != nil {
		return nil, err
	}
	h := sha256.Sum256(buf.Bytes())
	opt, err := s.opt.State()
	if err != nil {
		return nil, err
	}
	return json.Marshal(state{Step: s.done, Optimizer: opt, Weights: name, WeightsSHA256: hex.EncodeToString(h[:])})
}

// Saved removes the weights file of the previous checkpoint.
func (s *Source) Saved(dir string, raw json.RawMessage) {
	var st state
	if json.Unmarshal(raw, &st) != nil {
		return
	}
	if s.weights != "" && s.weights != st.Weights {
		_ = os.Remove(filepath.Join(dir, s.weights))
	}
	s.weights = st.Weights
}

// Restore reads the shared weights and the optimizer state of a
// checkpoint.
func (s *Source) Restore(dir string, raw json.RawMessage) error {
	var st state
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("supernet state: %w", err)
	}
	if st.Step < 0 || st.Step > s.steps || filepath.Base(st.Weights) != st.Weights || st.Weights == "" {
		return fmt.Errorf("supernet state: step %d of %d, weights file %q", st.Step, s.steps, st.Weights)
	}
	path := filepath.Join(dir, st.Weights)
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("supernet weights of the checkpoint: %w", err)
	}
	if h := sha256.Sum256(b); hex.EncodeToString(h[:]) != st.WeightsSHA256 {
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
	for _, p := range s.net.Params() {
		d, ok := byName[p.Name]
		if !ok || len(d) != len(p.Data) {
			return fmt.Errorf("%s: parameter %s is missing or has another size (was the supernet built with other settings?)", path, p.Name)
		}
		copy(p.Data, d)
	}
	if err := s.opt.SetState(st.Optimizer); err != nil {
		return fmt.Errorf("supernet optimizer state: %w", err)
	}
	if err := s.opt.Adopt(s.net.Params()); err != nil {
		return fmt.Errorf("supernet optimizer state: %w", err)
	}
	s.done, s.weights = st.Step, st.Weights
	return nil
}

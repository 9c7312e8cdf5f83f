// Package train trains networks with the nn engine: it builds a trainable
// Model from an arch network (one op per lowered layer), runs epochs over
// a dataset with an optimizer and a learning-rate schedule, reports loss,
// accuracy and images/s, evaluates on the test split, and checkpoints
// atomically after every epoch so that training resumes where it stopped.
package train

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fleetnas/fleetnas/atomicfile"
	"github.com/fleetnas/fleetnas/setting"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/dataset"
	"github.com/fleetnas/fleetnas/nn"
	"github.com/fleetnas/fleetnas/optim"
)

// Config are the training settings. DefaultConfig holds their defaults;
// errors about them (Validate, Run) are *setting.Error named after the
// JSON fields below.
type Config struct {
	Epochs int     `json:"epochs"`
	Batch  int     `json:"batch"`
	LR     float64 `json:"lr"`
	// Optimizer is sgd (also when empty), rmsprop or adam.
	Optimizer      string  `json:"optimizer"`
	WeightDecay    float64 `json:"weight_decay"`
	LabelSmoothing float64 `json:"label_smoothing"`
	WarmupEpochs   float64 `json:"warmup_epochs"`
	Seed           uint64  `json:"seed"`
	Pad            int     `json:"crop_pad"`
	Flip           bool    `json:"flip"`
}

// DefaultConfig returns the defaults of a stand-alone training run, each
// with its source: a short recipe for small images on a CPU.
// docs/training.md has the Fashion-MNIST run that reaches 92%.
func DefaultConfig() Config {
	return Config{
		// Not tuned: a short first run. The measured 92.22% Fashion-MNIST
		// recipe of docs/training.md trains for 12.
		Epochs: 10,
		// Not tuned; an epoch of Fashion-MNIST's 60,000 images is then
		// 469 steps.
		Batch: 128,
		// Not tuned here, but what the linear scaling rule gives for batch
		// 128: 0.1 per 256 images (Goyal et al., "Accurate, Large
		// Minibatch SGD", 2017; He et al., "Bag of Tricks for Image
		// Classification", CVPR 2019). docs/training.md's 92.22% run used
		// 0.1.
		LR: 0.05,
		// Momentum SGD with Nesterov's gradient (SGDMomentum, SGDNesterov),
		// the baseline optimizer of "Bag of Tricks"; the MobileNets'
		// TF-Slim RMSProp is the rmsprop alternative.
		Optimizer: "sgd",
		// MobileNetV2 (Sandler et al., CVPR 2018, section 6.1) and TF-Slim's
		// train_image_classifier.py default: 4e-5, applied to weights only
		// (not biases or batch norm, as "Bag of Tricks" recommends).
		WeightDecay: 4e-5,
		// Szegedy et al., "Rethinking the Inception Architecture" (CVPR
		// 2016), section 7: epsilon 0.1; also "Bag of Tricks".
		LabelSmoothing: 0.1,
		// Not tuned: Goyal et al. and "Bag of Tricks" warm up linearly for
		// 5 of 90 epochs; one epoch here, a tenth of the default run.
		WarmupEpochs: 1,
		// Any fixed seed: training is reproducible from it.
		Seed: 1,
		// dataset.Augment's guidance, 2 px for 28x28 images (4 for 32x32,
		// the CIFAR practice of He et al., "Deep Residual Learning", 2016),
		// not tuned. Measured here: fmnist_medium on Fashion-MNIST
		// under-fits with it (91.89% against 92.22% without crops, 12
		// epochs; docs/training.md), so that recipe sets 0.
		Pad: 2,
		// Random horizontal flips, as in He et al.'s CIFAR and Krizhevsky
		// et al.'s ImageNet (2012) training; docs/training.md's 92.22%
		// Fashion-MNIST run kept them. Digits need them off.
		Flip: true,
	}
}

// The "sgd" optimizer: momentum 0.9 with Nesterov's accelerated gradient,
// the baseline of He et al., "Bag of Tricks for Image Classification with
// Convolutional Neural Networks" (CVPR 2019); 0.9 is also the momentum of
// ResNet's and Goyal et al.'s training. optim.SGD is the Keras form.
const (
	SGDMomentum = 0.9
	SGDNesterov = true
)

// Bounds of Validate beyond the obvious ones. They are guards against
// typos, not from a source: no recipe comes near them.
const (
	// maxEpochs: published ImageNet recipes train for at most a few
	// hundred epochs.
	maxEpochs = 10000
	// maxBatch: Goyal et al. reached 8,192 images on 256 GPUs; one CPU
	// holding the activations of 65,536 images is a typo.
	maxBatch = 1 << 16
	// maxLR: Goyal et al.'s largest rate is 3.2 (0.1 x 8192/256).
	maxLR = 10
)

// optimizers are the names Config.Optimizer takes ("" is sgd).
var optimizers = []string{"sgd", "rmsprop", "adam"}

// Validate reports the first setting that cannot train: NaN, negative or
// absurd values, an unknown optimizer, a warmup longer than the run. The
// error is a *setting.Error named after the JSON field ("epochs", "lr",
// ...). Run calls it; a caller can call it before loading data.
func (c Config) Validate() error {
	switch {
	case c.Epochs <= 0 || c.Epochs > maxEpochs:
		return setting.Errorf("epochs", "must be in 1..%d, got %d", maxEpochs, c.Epochs)
	case c.Batch <= 0 || c.Batch > maxBatch:
		return setting.Errorf("batch", "must be in 1..%d, got %d", maxBatch, c.Batch)
	case !(c.LR > 0 && c.LR <= maxLR):
		return setting.Errorf("lr", "must be in (0, %g], got %g", float64(maxLR), c.LR)
	case c.Optimizer != "" && !slices.Contains(optimizers, c.Optimizer):
		return errUnknownOptimizer(c.Optimizer)
	case !(c.WeightDecay >= 0 && c.WeightDecay < 1):
		// With decay 1 or more the L2 term alone takes lr*wd of every
		// weight each step (5% at the default rate): a typo for 1e-x.
		return setting.Errorf("weight_decay", "must be in [0, 1), got %g", c.WeightDecay)
	case !(c.LabelSmoothing >= 0 && c.LabelSmoothing < 1):
		// Smoothing 1 makes every target uniform: nothing to learn.
		return setting.Errorf("label_smoothing", "must be in [0, 1), got %g", c.LabelSmoothing)
	case !(c.WarmupEpochs >= 0 && c.WarmupEpochs <= float64(c.Epochs)):
		return setting.Errorf("warmup_epochs", "must be in [0, %d] (at most the run's epochs), got %g", c.Epochs, c.WarmupEpochs)
	case c.Pad < 0:
		return setting.Errorf("crop_pad", "must not be negative, got %d", c.Pad)
	}
	return nil
}

func errUnknownOptimizer(name string) error {
	return setting.Errorf("optimizer", "unknown optimizer %q: one of %s", name, strings.Join(optimizers, ", "))
}

// EpochLog is one epoch's figures.
type EpochLog struct {
	Epoch        int     `json:"epoch"`
	Loss         float64 `json:"loss"`
	TrainAcc     float64 `json:"train_accuracy"`
	TestAcc      float64 `json:"test_accuracy"`
	ImagesPerSec float64 `json:"images_per_sec"`
	Seconds      float64 `json:"seconds"`
}

// stateful ops carry non-trainable buffers (batch-norm moving statistics).
type stateful interface {
	buffers() map[string][]float32
	setBuffers(map[string][]float32) error
}

func (c Config) optimizer() (optim.Optimizer, error) {
	switch c.Optimizer {
	case "", "sgd":
		return optim.NewSGD(optim.SGDConfig{Momentum: SGDMomentum, Nesterov: SGDNesterov, WeightDecay: c.WeightDecay})
	case "rmsprop":
		cfg := optim.MobileNetRMSProp()
		cfg.WeightDecay = c.WeightDecay
		return optim.NewRMSProp(cfg)
	case "adam":
		cfg := optim.DefaultAdam()
		cfg.WeightDecay = c.WeightDecay
		return optim.NewAdam(cfg)
	}
	return nil, errUnknownOptimizer(c.Optimizer)
}

// Evaluate returns the top-1 accuracy (%) of the model on a split.
func (m *Model) Evaluate(split *dataset.Split, batch int) (float64, error) {
	l, err := dataset.NewEvalLoader(split, batch)
	if err != nil {
		return 0, err
	}
	g := m.Graph.Tensors[0]
	if l, err = l.WithOutput(dataset.Output{H: g.H, W: g.W, C: g.C}); err != nil {
		return 0, err
	}
	correct, n := 0, 0
	for x, labels := range l.Epoch(0) {
		logits, err := m.Forward(x, false)
		if err != nil {
			return 0, err
		}
		correct += nn.CountCorrect(logits, labels)
		n += len(labels)
	}
	if n == 0 {
		return 0, errors.New("empty split")
	}
	return 100 * float64(correct) / float64(n), nil
}

// Hooks let a caller follow training; nil functions are skipped.
type Hooks struct {
	// Epoch is called after every epoch.
	Epoch func(EpochLog)
	// Step is called after every batch with the epoch's progress.
	Step func(epoch, done, total int)
}

// Run trains m on ds and returns the per-epoch log. With dir set it
// checkpoints there after every epoch and resumes from a checkpoint it
// finds (whose network and settings must match).
func Run(ctx context.Context, m *Model, ds *dataset.Dataset, cfg Config, dir string, hooks Hooks) ([]EpochLog, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := m.Graph.Tensors[0]
	if cfg.Pad >= min(g.H, g.W) {
		// Shifted by the input's size or more, most crops are all padding.
		return nil, setting.Errorf("crop_pad", "must be smaller than the %dx%d input, got %d", g.H, g.W, cfg.Pad)
	}
	opt, err := cfg.optimizer()
	if err != nil {
		return nil, err
	}
	loader, err := dataset.NewLoader(ds.Train, cfg.Batch, cfg.Seed, dataset.Augment{Pad: cfg.Pad, Flip: cfg.Flip})
	if err != nil {
		return nil, err
	}
	if loader, err = loader.WithOutput(dataset.Output{H: g.H, W: g.W, C: g.C}); err != nil {
		return nil, err
	}
	steps := loader.NumBatches()
	sched := optim.Cosine{Base: cfg.LR, Warmup: int(cfg.WarmupEpochs * float64(steps)), Total: cfg.Epochs * steps}
	var logs []EpochLog
	start := 0
	if dir != "" {
		ck, err := readCheckpoint(filepath.Join(dir, "checkpoint.json"))
		switch {
		case err == nil:
			if ck.Config != cfg {
				return nil, fmt.Errorf("checkpoint in %s was trained with other settings (%+v)", dir, ck.Config)
			}
			if err := m.restore(ck, opt); err != nil {
				return nil, fmt.Errorf("checkpoint in %s: %w", dir, err)
			}
			start, logs = ck.Epoch, ck.Log
		case !errors.Is(err, os.ErrNotExist):
			return nil, err
		}
	}
	for e := start; e < cfg.Epochs; e++ {
		t0 := time.Now()
		var lossSum float64
		correct, seen, step := 0, 0, e*steps
		for x, labels := range loader.Epoch(e) {
			if err := ctx.Err(); err != nil {
				return logs, err
			}
			optim.ZeroGrad(m.params)
			logits, err := m.Forward(x, true)
			if err != nil {
				return logs, err
			}
			loss, grad, err := nn.SoftmaxCrossEntropy(logits, labels, cfg.LabelSmoothing)
			if err != nil {
				return logs, err
			}
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return logs, fmt.Errorf("epoch %d step %d: loss is %g (learning rate %g too high?)", e+1, step, loss, sched.LR(step))
			}
			if err := m.Backward(grad); err != nil {
				return logs, err
			}
			if err := opt.Step(m.params, sched.LR(step)); err != nil {
				return logs, err
			}
			lossSum += loss * float64(len(labels))
			correct += nn.CountCorrect(logits, labels)
			seen += len(labels)
			step++
			if hooks.Step != nil {
				hooks.Step(e+1, step-e*steps, steps)
			}
		}
		testAcc, err := m.Evaluate(ds.Test, 256)
		if err != nil {
			return logs, err
		}
		el := EpochLog{Epoch: e + 1, Loss: lossSum / float64(seen), TrainAcc: 100 * float64(correct) / float64(seen),
			TestAcc: testAcc, Seconds: time.Since(t0).Seconds()}
		el.ImagesPerSec = float64(seen) / el.Seconds
		logs = append(logs, el)
		if hooks.Epoch != nil {
			hooks.Epoch(el)
		}
		if dir != "" {
			if err := m.save(filepath.Join(dir, "checkpoint.json"), cfg, e+1, logs, opt); err != nil {
				return logs, err
			}
		}
	}
	return logs, nil
}

// checkpoint is a trained model's weights, buffers and training state.
type checkpoint struct {
	Format    string            `json:"format"`
	Network   json.RawMessage   `json:"network"`
	Config    Config            `json:"config"`
	Epoch     int               `json:"epoch"`
	Log       []EpochLog        `json:"log"`
	Params    map[string][]byte `json:"params"`
	Buffers   map[string][]byte `json:"buffers"`
	Optimizer []byte            `json:"optimizer"`
}

// CheckpointFormat is the format field of a training checkpoint, by
// which a reader tells it from a network file.
const CheckpointFormat = "fleetnas.train/v1"

func encode(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func decode(b []byte, dst []float32) error {
	if len(b) != 4*len(dst) {
		return fmt.Errorf("%d bytes for %d values", len(b), len(dst))
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return nil
}

func (m *Model) save(path string, cfg Config, epoch int, logs []EpochLog, opt optim.Optimizer) error {
	net, err := m.Net.Encode()
	if err != nil {
		return err
	}
	ck := checkpoint{Format: CheckpointFormat, Network: net, Config: cfg, Epoch: epoch, Log: logs,
		Params: map[string][]byte{}, Buffers: map[string][]byte{}}
	for _, p := range m.params {
		ck.Params[p.Name] = encode(p.Data)
	}
	for _, o := range m.ops {
		if s, ok := o.(stateful); ok {
			for k, v := range s.buffers() {
				ck.Buffers[k] = encode(v)
			}
		}
	}
	if opt != nil {
		if ck.Optimizer, err = opt.State(); err != nil {
			return err
		}
	}
	b, err := json.Marshal(ck)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, b)
}

func readCheckpoint(path string) (*checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ck checkpoint
	if err := json.Unmarshal(b, &ck); err != nil {
		return nil, fmt.Errorf("%s is corrupt: %v", path, err)
	}
	if ck.Format != CheckpointFormat {
		return nil, fmt.Errorf("%s is not a fleetnas training checkpoint (format %q)", path, ck.Format)
	}
	return &ck, nil
}

// restore loads weights, buffers and (if opt is not nil) optimizer state.
func (m *Model) restore(ck *checkpoint, opt optim.Optimizer) error {
	for _, p := range m.params {
		b, ok := ck.Params[p.Name]
		if !ok {
			return fmt.Errorf("no weights for parameter %s (a different network?)", p.Name)
		}
		if err := decode(b, p.Data); err != nil {
			return fmt.Errorf("parameter %s: %v", p.Name, err)
		}
	}
	if len(ck.Params) != len(m.params) {
		return fmt.Errorf("checkpoint has %d parameters, the network %d", len(ck.Params), len(m.params))
	}
	for _, o := range m.ops {
		s, ok := o.(stateful)
		if !ok {
			continue
		}
		cur := s.buffers()
		next := map[string][]float32{}
		for k, v := range cur {
			b, ok := ck.Buffers[k]
			if !ok {
				return fmt.Errorf("no buffer %s", k)
			}
			nv := make([]float32, len(v))
			if err := decode(b, nv); err != nil {
				return fmt.Errorf("buffer %s: %v", k, err)
			}
			next[k] = nv
		}
		if err := s.setBuffers(next); err != nil {
			return err
		}
	}
	if opt != nil && ck.Optimizer != nil {
		return opt.SetState(ck.Optimizer)
	}
	return nil
}

// CheckpointNetwork reads the network a checkpoint trained, without its
// weights.
func CheckpointNetwork(path string) (*arch.Network, error) {
	ck, err := readCheckpoint(path)
	if err != nil {
		return nil, err
	}
	return arch.Decode(ck.Network, path+" (network)")
}

// Load reads a checkpoint's network and weights for evaluation.
func Load(path string) (*Model, *checkpoint, error) {
	ck, err := readCheckpoint(path)
	if err != nil {
		return nil, nil, err
	}
	net, err := arch.Decode(ck.Network, path+" (network)")
	if err != nil {
		return nil, nil, err
	}
	m, err := Build(net, 0, ck.Config.Seed)
	if err != nil {
		return nil, nil, err
	}
	if err := m.restore(ck, nil); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, ck, nil
}

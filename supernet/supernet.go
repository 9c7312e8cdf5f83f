package supernet

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/dataset"
	"github.com/fleetnas/fleetnas/nn"
	"github.com/fleetnas/fleetnas/optim"
	"github.com/fleetnas/fleetnas/space"
	"github.com/fleetnas/fleetnas/train"
)

// DefaultCacheSize is the number of candidate models a Supernet keeps
// built when Config.CacheSize is 0.
const DefaultCacheSize = 4

// Config are the supernet's training settings.
type Config struct {
	// Resolution is the side of the training images (the data's own
	// resolution under proxy training). Required; multihw needs at least
	// 17 pixels (five stride-2 layers must not meet a 1x1 map).
	Resolution int
	// Channels of the input images (0: 3).
	Channels int
	// Classes of the data set. Required.
	Classes int
	// ProxyWidth multiplies every conv filter count of the training
	// networks (0: 1, no scaling); it must be in (0, 1].
	ProxyWidth float64
	// LabelSmoothing of the training loss, in [0, 1] (TuNAS uses 0.1).
	LabelSmoothing float64
	// Seed initialises the shared weights.
	Seed uint64
	// CacheSize is the number of candidate models kept built, least
	// recently used dropped first (0: DefaultCacheSize). It trades memory
	// for the time train.Build takes; it does not change any result.
	CacheSize int
}

// Supernet holds the shared weights of a search space and trains them one
// sampled candidate at a time. It is not safe for concurrent use.
type Supernet struct {
	space  space.Space
	cfg    Config
	lay    *layout
	shared map[string]*shared
	params []*nn.Param // every shared parameter, in slot order
	cache  []*Candidate
	// dirty lists the shared parameters whose gradients the last backward
	// pass wrote; every other shared gradient is zero.
	dirty []*nn.Param
}

// Candidate is one network of the space built for training with weights
// gathered from the supernet. It stays owned by the supernet: a later
// call may gather into it again.
type Candidate struct {
	key      string
	choice   []int
	net      *arch.Network
	model    *train.Model
	bindings []binding
	used     []*nn.Param // the distinct shared parameters it reads
}

// Choice returns a copy of the candidate's choice vector.
func (c *Candidate) Choice() []int { return slices.Clone(c.choice) }

// Network returns the candidate's training network (proxy-scaled, at the
// training resolution and input channels).
func (c *Candidate) Network() *arch.Network { return c.net }

// Model returns the candidate's trainable model, holding the shared
// weights as of the last gather.
func (c *Candidate) Model() *train.Model { return c.model }

// Supported reports whether New can build the supernet of sp, without
// building it: nil for a space.Mobile such as multihw, an error saying why
// otherwise.
func Supported(sp space.Space) error {
	_, err := newLayout(sp)
	return err
}

// New builds the supernet of a space. Its shared weights are those of the
// widest candidate (every width, expansion and kernel at its largest) initialised from cfg.Seed as train.Build initialises them.
func New(sp space.Space, cfg Config) (*Supernet, error) {
	lay, err := newLayout(sp)
	if err != nil {
		return nil, err
	}
	if cfg, err = checkConfig(cfg); err != nil {
		return nil, err
	}
	s := &Supernet{space: sp, cfg: cfg, lay: lay, shared: map[string]*shared{}}
	// The largest kernel's widest candidate sizes every slot. The smaller
	// kernels' widest candidates then put their own initial depthwise
	// kernels at the centre of the slots, so that a 3x3 kernel starts at
	// the scale train.Build gives a 3x3 (a 5x5's initial taps are smaller).
	for i := len(lay.kernels) - 1; i >= 0; i-- {
		k := lay.kernels[i]
		choice, err := lay.widest(k)
		if err != nil {
			return nil, err
		}
		net, ps, err := s.network(choice)
		if err != nil {
			return nil, fmt.Errorf("supernet: the widest candidate: %w", err)
		}
		m, err := train.Build(net, cfg.Resolution, cfg.Seed)
		if err != nil {
			return nil, fmt.Errorf("supernet: the widest candidate: %w", err)
		}
		lps, err := layerParams(m, ps)
		if err != nil {
			return nil, err
		}
		for _, lp := range lps {
			dims, err := paramShape(lp.layer, lp.role)
			if err != nil {
				return nil, fmt.Errorf("supernet: %w", err)
			}
			if sh, ok := s.shared[lp.name]; ok {
				if lp.layer.Op == arch.OpDepthwise && lp.role == train.Weight && dims[0] < sh.dims[0] {
					runs, err := subBlockAt(sh.dims, dims, kernelOffset(lp.layer, sh.dims, dims))
					if err != nil {
						return nil, fmt.Errorf("supernet: %s: %w", lp.name, err)
					}
					b := binding{sh: sh, local: lp.local, runs: runs}
					b.scatterValues()
				}
				continue
			}
			p := &nn.Param{Name: lp.name, Data: slices.Clone(lp.local.Data), Grad: make([]float32, len(lp.local.Data)), NoDecay: lp.local.NoDecay}
			s.shared[lp.name] = &shared{p: p, dims: dims}
			s.params = append(s.params, p)
		}
	}
	return s, nil
}

// checkConfig validates cfg and fills in its defaults.
func checkConfig(cfg Config) (Config, error) {
	switch {
	case cfg.Resolution <= 0:
		return cfg, fmt.Errorf("supernet: the training resolution must be set (the data's image size), got %d", cfg.Resolution)
	case cfg.Classes < 2:
		return cfg, fmt.Errorf("supernet: the number of classes must be at least 2, got %d", cfg.Classes)
	case cfg.Channels < 0:
		return cfg, fmt.Errorf("supernet: input channels must be positive (0 for 3), got %d", cfg.Channels)
	case math.IsNaN(cfg.ProxyWidth) || cfg.ProxyWidth < 0 || cfg.ProxyWidth > 1:
		return cfg, fmt.Errorf("supernet: the proxy width multiplier must be in (0, 1] (0 for 1), got %v", cfg.ProxyWidth)
	case !(cfg.LabelSmoothing >= 0 && cfg.LabelSmoothing <= 1):
		return cfg, fmt.Errorf("supernet: label smoothing must be in [0, 1], got %v", cfg.LabelSmoothing)
	case cfg.CacheSize < 0:
		return cfg, fmt.Errorf("supernet: the candidate cache size must not be negative (0 for %d), got %d", DefaultCacheSize, cfg.CacheSize)
	}
	if cfg.Channels == 0 {
		cfg.Channels = 3
	}
	if cfg.ProxyWidth == 0 {
		cfg.ProxyWidth = 1
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	return cfg, nil
}

// Config returns the supernet's settings with defaults filled in.
func (s *Supernet) Config() Config { return s.cfg }

// Space returns the search space.
func (s *Supernet) Space() space.Space { return s.space }

// Params returns the shared parameters in a fixed order: every slot's
// full-size tensors, which an optimizer updates and a checkpoint saves.
func (s *Supernet) Params() []*nn.Param { return s.params }

// Network returns the training network of a choice vector: the space's
// network at the training resolution with the data's input channels and
// every conv filter count scaled by the proxy width.
func (s *Supernet) Network(choice []int) (*arch.Network, error) {
	net, _, err := s.network(choice)
	return net, err
}

// network builds the training network of choice and the supernet
// position of each of its blocks.
func (s *Supernet) network(choice []int) (*arch.Network, []position, error) {
	if err := space.Check(s.space, choice); err != nil {
		return nil, nil, err
	}
	net, err := s.space.Network(choice, space.Options{Resolution: s.cfg.Resolution, Classes: s.cfg.Classes})
	if err != nil {
		return nil, nil, err
	}
	ps := s.lay.positions(choice)
	if err := checkBlocks(net, ps); err != nil {
		return nil, nil, err
	}
	if s.cfg.Channels != 3 {
		net.InputChannels = s.cfg.Channels
	}
	if p := s.cfg.ProxyWidth; p != 1 {
		net.Name += fmt.Sprintf(" (proxy width %g)", p)
		for i := range net.Blocks {
			b := &net.Blocks[i]
			switch b.Type {
			case arch.Conv, arch.DWSep, arch.IBN:
				b.Filters = arch.ScaleFilters(b.Filters, p, 8)
			}
		}
	}
	if err := net.Validate(); err != nil {
		return nil, nil, err
	}
	return net, ps, nil
}

// Sample returns the candidate of a choice vector with the current shared
// weights gathered into its model.
func (s *Supernet) Sample(choice []int) (*Candidate, error) {
	c, err := s.candidate(choice)
	if err != nil {
		return nil, err
	}
	c.gather()
	return c, nil
}

// candidate returns the cached candidate of choice, building it when it
// is not cached and dropping the least recently used one when the cache
// is full.
func (s *Supernet) candidate(choice []int) (*Candidate, error) {
	key, err := s.space.Format(choice)
	if err != nil {
		return nil, err
	}
	for i, c := range s.cache {
		if c.key == key {
			copy(s.cache[i:], s.cache[i+1:])
			s.cache[len(s.cache)-1] = c
			return c, nil
		}
	}
	c, err := s.build(key, choice)
	if err != nil {
		return nil, err
	}
	if len(s.cache) >= s.cfg.CacheSize {
		copy(s.cache, s.cache[1:])
		s.cache = s.cache[:len(s.cache)-1]
	}
	s.cache = append(s.cache, c)
	return c, nil
}

// build makes a candidate's model and binds each of its parameters to the
// sub-block of its shared tensor.
func (s *Supernet) build(key string, choice []int) (*Candidate, error) {
	net, ps, err := s.network(choice)
	if err != nil {
		return nil, err
	}
	// The seed does not matter: every parameter is overwritten by gather.
	m, err := train.Build(net, s.cfg.Resolution, 0)
	if err != nil {
		return nil, err
	}
	lps, err := layerParams(m, ps)
	if err != nil {
		return nil, err
	}
	c := &Candidate{key: key, choice: slices.Clone(choice), net: net, model: m}
	seen := map[*nn.Param]bool{}
	for _, lp := range lps {
		sh, ok := s.shared[lp.name]
		if !ok {
			return nil, fmt.Errorf("supernet: %s: parameter %s has no shared slot %s", key, lp.local.Name, lp.name)
		}
		dims, err := paramShape(lp.layer, lp.role)
		if err != nil {
			return nil, fmt.Errorf("supernet: %s: %w", key, err)
		}
		if lp.role == train.Weight && lp.layer.Op == arch.OpConv && (dims[0] != sh.dims[0] || dims[1] != sh.dims[1]) {
			return nil, fmt.Errorf("supernet: %s: parameter %s has a %dx%d kernel, its slot %s is %dx%d", key, lp.local.Name, dims[0], dims[1], lp.name, sh.dims[0], sh.dims[1])
		}
		if lp.role == train.Weight && lp.layer.Op == arch.OpDepthwise && (dims[0]-sh.dims[0])%2 != 0 {
			return nil, fmt.Errorf("supernet: %s: parameter %s has a %dx%d kernel, which has no centre in its %dx%d slot %s", key, lp.local.Name, dims[0], dims[1], sh.dims[0], sh.dims[1], lp.name)
		}
		runs, err := subBlockAt(sh.dims, dims, kernelOffset(lp.layer, sh.dims, dims))
		if err != nil {
			return nil, fmt.Errorf("supernet: %s: parameter %s: %w", key, lp.local.Name, err)
		}
		if n := runs[len(runs)-1].dst + runs[len(runs)-1].n; n != len(lp.local.Data) {
			return nil, fmt.Errorf("supernet: %s: parameter %s has %d values, its shape %v has %d", key, lp.local.Name, len(lp.local.Data), dims, n)
		}
		c.bindings = append(c.bindings, binding{sh: sh, local: lp.local, runs: runs})
		if !seen[sh.p] {
			seen[sh.p] = true
			c.used = append(c.used, sh.p)
		}
	}
	return c, nil
}

// gather copies the shared weights into the candidate's model.
func (c *Candidate) gather() {
	for i := range c.bindings {
		c.bindings[i].gather()
	}
}

// Gradients runs a training batch through the candidate of choice and
// leaves the gradient of the mean loss with respect to the shared
// parameters in their Grad: the used sub-blocks hold the candidate's
// gradients, every other entry is zero. It returns the loss and the
// batch's top-1 accuracy in percent. Batch norm uses the batch's
// statistics.
func (s *Supernet) Gradients(x *nn.Tensor, labels []int, choice []int) (loss, accuracy float64, err error) {
	loss, accuracy, _, err = s.backprop(x, labels, choice, true)
	return loss, accuracy, err
}

// Step trains the shared weights on one batch: gather the candidate's
// weights, forward, loss, backward, scatter the gradients into the shared
// ones, and one optimizer step at learning rate lr on the shared
// parameters the candidate used (the slots of other ops, and of skipped
// layers, are left alone, weight decay and momentum included). It returns
// the loss and the batch's top-1 accuracy in percent.
func (s *Supernet) Step(x *nn.Tensor, labels []int, choice []int, opt optim.Optimizer, lr float64) (loss, accuracy float64, err error) {
	if opt == nil {
		return 0, 0, errors.New("supernet: no optimizer")
	}
	loss, accuracy, c, err := s.backprop(x, labels, choice, true)
	if err != nil {
		return 0, 0, err
	}
	if err := opt.Step(c.used, lr); err != nil {
		return 0, 0, err
	}
	return loss, accuracy, nil
}

// backprop is Gradients, also returning the candidate. training false
// runs batch norm on its moving statistics instead, which makes the loss
// a smoother function of the weights for gradient checks.
func (s *Supernet) backprop(x *nn.Tensor, labels []int, choice []int, training bool) (float64, float64, *Candidate, error) {
	if err := s.checkBatch(x, labels); err != nil {
		return 0, 0, nil, err
	}
	c, err := s.candidate(choice)
	if err != nil {
		return 0, 0, nil, err
	}
	c.gather()
	ps := c.model.Params()
	optim.ZeroGrad(ps)
	logits, err := c.model.Forward(x, training)
	if err != nil {
		return 0, 0, nil, err
	}
	loss, grad, err := nn.SoftmaxCrossEntropy(logits, labels, s.cfg.LabelSmoothing)
	if err != nil {
		return 0, 0, nil, err
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return 0, 0, nil, fmt.Errorf("supernet: %s: loss is %g (learning rate too high?)", c.key, loss)
	}
	if err := c.model.Backward(grad); err != nil {
		return 0, 0, nil, err
	}
	optim.ZeroGrad(s.dirty)
	s.dirty = c.used
	for i := range c.bindings {
		c.bindings[i].scatter()
	}
	return loss, 100 * nn.Accuracy(logits, labels), c, nil
}

// checkBatch rejects a batch the candidate models cannot take, before
// anything runs (the nn engine panics on malformed tensors).
func (s *Supernet) checkBatch(x *nn.Tensor, labels []int) error {
	switch {
	case x == nil:
		return errors.New("supernet: no input batch")
	case x.N <= 0 || x.H <= 0 || x.W <= 0 || x.C <= 0 || len(x.Data) != x.N*x.H*x.W*x.C:
		return fmt.Errorf("supernet: malformed input batch %dx%dx%dx%d with %d values", x.N, x.H, x.W, x.C, len(x.Data))
	case x.H != s.cfg.Resolution || x.W != s.cfg.Resolution || x.C != s.cfg.Channels:
		return fmt.Errorf("supernet: input images are %dx%dx%d, the supernet trains on %dx%dx%d",
			x.H, x.W, x.C, s.cfg.Resolution, s.cfg.Resolution, s.cfg.Channels)
	case len(labels) != x.N:
		return fmt.Errorf("supernet: %d labels for a batch of %d images", len(labels), x.N)
	}
	for i, y := range labels {
		if y < 0 || y >= s.cfg.Classes {
			return fmt.Errorf("supernet: label %d of image %d is outside the %d classes", y, i, s.cfg.Classes)
		}
	}
	return nil
}

// EvaluateBatch returns the top-1 accuracy (%) of the candidate of choice
// with the shared weights on one batch, batch norm using the batch's
// statistics (as TuNAS computes its reward on one validation batch).
func (s *Supernet) EvaluateBatch(x *nn.Tensor, labels []int, choice []int) (float64, error) {
	if err := s.checkBatch(x, labels); err != nil {
		return 0, err
	}
	c, err := s.Sample(choice)
	if err != nil {
		return 0, err
	}
	correct, err := c.correct(x, labels)
	if err != nil {
		return 0, err
	}
	return 100 * float64(correct) / float64(len(labels)), nil
}

// correct counts the images of a checked batch the candidate classifies
// correctly with the weights it holds.
func (c *Candidate) correct(x *nn.Tensor, labels []int) (int, error) {
	logits, err := c.model.Forward(x, true)
	if err != nil {
		return 0, err
	}
	return nn.CountCorrect(logits, labels), nil
}

// Evaluate returns the top-1 accuracy (%) of the candidate of choice with
// the shared weights over the first maxBatches batches of a loader's
// first epoch (all of them when maxBatches <= 0), resized to the training
// resolution and channels. Batch norm uses each batch's statistics, so
// batches should not be tiny.
func (s *Supernet) Evaluate(choice []int, val *dataset.Loader, maxBatches int) (float64, error) {
	if val == nil {
		return 0, errors.New("supernet: no validation loader")
	}
	l, err := val.WithOutput(dataset.Output{H: s.cfg.Resolution, W: s.cfg.Resolution, C: s.cfg.Channels})
	if err != nil {
		return 0, err
	}
	c, err := s.Sample(choice)
	if err != nil {
		return 0, err
	}
	correct, n, batches := 0, 0, 0
	for x, labels := range l.Epoch(0) {
		if err := s.checkBatch(x, labels); err != nil {
			return 0, err
		}
		k, err := c.correct(x, labels)
		if err != nil {
			return 0, err
		}
		correct += k
		n += len(labels)
		if batches++; maxBatches > 0 && batches >= maxBatches {
			break
		}
	}
	if n == 0 {
		return 0, errors.New("supernet: the validation loader yielded no images")
	}
	return 100 * float64(correct) / float64(n), nil
}

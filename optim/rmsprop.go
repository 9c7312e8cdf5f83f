package optim

import (
	"math"

	"github.com/fleetnas/fleetnas/nn"
)

// RMSPropConfig holds RMSProp's hyperparameters. There is no usable zero
// value (Epsilon must be positive); start from MobileNetRMSProp.
type RMSPropConfig struct {
	// Decay (TF's decay / rho) in [0, 1) discounts the mean square.
	Decay float64
	// Momentum in [0, 1).
	Momentum float64
	// Epsilon > 0 is added to the mean square inside the square root. It
	// must be positive because a mean square decayed to zero by a long run
	// of zero gradients would otherwise give 0/0.
	Epsilon float64
	// WeightDecay >= 0, applied as DecayMode says to parameters without
	// NoDecay.
	WeightDecay float64
	DecayMode   DecayMode
}

// MobileNetRMSProp returns the RMSProp settings of the TF-Slim MobileNet
// recipes: tensorflow/models research/slim/train_image_classifier.py
// defaults rmsprop_decay=0.9, rmsprop_momentum=0.9, opt_epsilon=1.0 and
// weight_decay=4e-5 (L2), and the MobileNetV2 README's training flags
// (learning_rate 0.045, decay 0.98 every 2.5 epochs; see
// MobileNetExponential) do not override them. Epsilon 1.0 is large on
// purpose: with it the update is close to lr*g for small gradients early
// on. (tf.compat.v1.train.RMSPropOptimizer's own default is 1e-10, and
// Keras's 1e-7; 0.001 is the value of the later MnasNet/EfficientNet TPU
// recipes.)
func MobileNetRMSProp() RMSPropConfig {
	return RMSPropConfig{Decay: 0.9, Momentum: 0.9, Epsilon: 1.0, WeightDecay: 4e-5, DecayMode: L2}
}

// RMSProp is tf.compat.v1.train.RMSPropOptimizer (non-centred), the
// optimizer the MobileNets were trained with. Per element, in the order of
// TensorFlow's CPU kernel (tensorflow/core/kernels/training_ops.cc,
// functor ApplyRMSProp):
//
//	ms  += (g*g - ms) * (1 - decay)        // = decay*ms + (1-decay)*g*g
//	mom  = momentum*mom + lr*g / sqrt(ms + epsilon)
//	w   -= mom
//
// Two details differ from torch.optim.RMSprop and matter at MobileNet's
// epsilon: the mean square ms starts at 1, not 0 (rmsprop.py _create_slots
// uses init_ops.ones_initializer for the "rms" slot), so early steps are
// not inflated by a tiny denominator; and epsilon is inside the square
// root (PyTorch adds it to sqrt(ms)). The learning rate is inside the
// momentum accumulator, as in SGD's Keras form.
type RMSProp struct {
	decay1   float32 // 1 - Decay, as the TF kernel uses it
	momentum float32
	epsilon  float32
	decay    decay
	slots    slotStore
}

// NewRMSProp validates cfg and returns an RMSProp optimizer.
func NewRMSProp(cfg RMSPropConfig) (*RMSProp, error) {
	if err := checkUnit("RMSProp decay", cfg.Decay); err != nil {
		return nil, err
	}
	if err := checkUnit("RMSProp momentum", cfg.Momentum); err != nil {
		return nil, err
	}
	if err := checkPositive("RMSProp epsilon", cfg.Epsilon); err != nil {
		return nil, err
	}
	d, err := newDecay(cfg.WeightDecay, cfg.DecayMode)
	if err != nil {
		return nil, err
	}
	return &RMSProp{
		// TF casts rho to float32 and then computes 1 - rho in float32.
		decay1:   1 - float32(cfg.Decay),
		momentum: float32(cfg.Momentum),
		epsilon:  float32(cfg.Epsilon),
		decay:    d,
		slots:    newSlotStore("rmsprop", []string{"rms", "momentum"}, []float32{1, 0}),
	}, nil
}

// Name reports "rmsprop".
func (o *RMSProp) Name() string { return "rmsprop" }

// Step applies one RMSProp update; see Optimizer.
func (o *RMSProp) Step(params []*nn.Param, lr float64) error {
	slots, err := o.slots.prepare(params, lr)
	if err != nil {
		return err
	}
	lr32 := float32(lr)
	for pi, p := range params {
		o.decay.shrink(p, lr32)
		ms, mom := slots[pi].vecs[0], slots[pi].vecs[1]
		for i := range p.Data {
			g := o.decay.grad(p, i)
			ms[i] += float32((float32(g*g) - ms[i]) * o.decay1)
			den := float32(math.Sqrt(float64(ms[i] + o.epsilon)))
			mom[i] = float32(o.momentum*mom[i]) + float32(g*lr32)/den
			p.Data[i] -= mom[i]
		}
		slots[pi].steps++
	}
	return nil
}

// State serialises the mean squares and momenta; see Optimizer.
func (o *RMSProp) State() ([]byte, error) { return o.slots.state() }

// SetState restores State's output; see Optimizer.
func (o *RMSProp) SetState(data []byte) error { return o.slots.setState(data) }

// Adopt checks a state restored by SetState against params, the full set
// of parameters of a caller that updates a different subset on each Step
// (a weight-sharing supernet), and lets the following Steps take subsets;
// parameters absent from the state were never updated and start fresh.
// Without it, the first Step after SetState must be given exactly the
// checkpoint's parameters.
func (o *RMSProp) Adopt(params []*nn.Param) error { return o.slots.adopt(params) }

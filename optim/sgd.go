package optim

import "github.com/fleetnas/fleetnas/nn"

// SGDConfig holds SGD's hyperparameters; the zero value is plain gradient
// descent without weight decay.
type SGDConfig struct {
	// Momentum in [0, 1); 0 disables the velocity slot's effect.
	Momentum float64
	// Nesterov uses Nesterov momentum (Keras's formulation, below).
	Nesterov bool
	// WeightDecay >= 0, applied as DecayMode says to parameters without
	// NoDecay.
	WeightDecay float64
	DecayMode   DecayMode
}

// SGD is stochastic gradient descent with momentum in the Keras
// (tf.keras.optimizers.SGD) convention, which folds the learning rate into
// the velocity:
//
//	v = momentum*v - lr*g
//	w = w + v                      (plain)
//	w = w + momentum*v - lr*g      (Nesterov, with the new v)
//
// PyTorch's torch.optim.SGD, and TF1's tf.train.MomentumOptimizer
// (ApplyMomentum: accum = momentum*accum + g; w -= lr*accum), keep the
// velocity in gradient units and multiply by the current lr at the end.
// The two agree while lr is constant; when a schedule changes lr, the
// Keras form applies the new rate only to new gradients while the other
// rescales the whole accumulated velocity at once. The Keras form is used
// here because it is the convention of TF2/Keras MobileNet training code
// and matches RMSProp's TF update (lr inside the momentum accumulator), so
// both optimizers react to a schedule the same way. Note that the TF-Slim
// recipes of MobileNetV1/V2 used RMSProp, not momentum SGD.
type SGD struct {
	momentum float32
	nesterov bool
	decay    decay
	slots    slotStore
}

// NewSGD validates cfg and returns an SGD optimizer.
func NewSGD(cfg SGDConfig) (*SGD, error) {
	if err := checkUnit("SGD momentum", cfg.Momentum); err != nil {
		return nil, err
	}
	d, err := newDecay(cfg.WeightDecay, cfg.DecayMode)
	if err != nil {
		return nil, err
	}
	return &SGD{
		momentum: float32(cfg.Momentum),
		nesterov: cfg.Nesterov,
		decay:    d,
		slots:    newSlotStore("sgd", []string{"velocity"}, []float32{0}),
	}, nil
}

// Name reports "sgd".
func (o *SGD) Name() string { return "sgd" }

// Step applies one SGD update; see Optimizer.
func (o *SGD) Step(params []*nn.Param, lr float64) error {
	slots, err := o.slots.prepare(params, lr)
	if err != nil {
		return err
	}
	lr32 := float32(lr)
	for pi, p := range params {
		o.decay.shrink(p, lr32)
		v := slots[pi].vecs[0]
		for i := range p.Data {
			g := o.decay.grad(p, i)
			step := float32(lr32 * g)
			v[i] = float32(o.momentum*v[i]) - step
			if o.nesterov {
				p.Data[i] += float32(o.momentum*v[i]) - step
			} else {
				p.Data[i] += v[i]
			}
		}
		slots[pi].steps++
	}
	return nil
}

// State serialises the velocities; see Optimizer.
func (o *SGD) State() ([]byte, error) { return o.slots.state() }

// SetState restores velocities from State's output; see Optimizer.
func (o *SGD) SetState(data []byte) error { return o.slots.setState(data) }

// Adopt checks a state restored by SetState against params, the full set
// of parameters of a caller that updates a different subset on each Step
// (a weight-sharing supernet), and lets the following Steps take subsets;
// parameters absent from the state were never updated and start fresh.
// Without it, the first Step after SetState must be given exactly the
// checkpoint's parameters.
func (o *SGD) Adopt(params []*nn.Param) error { return o.slots.adopt(params) }

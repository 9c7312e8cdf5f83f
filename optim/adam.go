package optim

import (
	"math"

	"github.com/fleetnas/fleetnas/nn"
)

// AdamConfig holds Adam's hyperparameters. There is no usable zero value
// (Epsilon must be positive); start from DefaultAdam.
type AdamConfig struct {
	// Beta1 and Beta2 in [0, 1) discount the first and second moments.
	Beta1, Beta2 float64
	// Epsilon > 0 is added to sqrt(v-hat), as in the paper's Algorithm 1.
	Epsilon float64
	// WeightDecay >= 0, applied as DecayMode says to parameters without
	// NoDecay; Decoupled makes this AdamW.
	WeightDecay float64
	DecayMode   DecayMode
}

// DefaultAdam returns the paper's suggested settings (beta1 0.9, beta2
// 0.999, epsilon 1e-8), without weight decay.
func DefaultAdam() AdamConfig {
	return AdamConfig{Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8}
}

// Adam is Algorithm 1 of Kingma and Ba, "Adam: A Method for Stochastic
// Optimization" (ICLR 2015), with bias correction:
//
//	m = beta1*m + (1-beta1)*g
//	v = beta2*v + (1-beta2)*g*g
//	w -= lr * (m / (1-beta1^t)) / (sqrt(v / (1-beta2^t)) + epsilon)
//
// This is also torch.optim.Adam's form. TF1's AdamOptimizer uses the
// paper's "epsilon hat" variant (epsilon added to sqrt(v) before bias
// correction), which differs only through epsilon.
// The step count t is kept per parameter, so a parameter first stepped
// late in training gets its own bias correction.
type Adam struct {
	beta1, beta2 float64
	b1, b2       float32 // beta1, beta2 as float32
	a1, a2       float32 // 1-beta1, 1-beta2, rounded once from float64
	epsilon      float32
	decay        decay
	slots        slotStore
}

// NewAdam validates cfg and returns an Adam optimizer.
func NewAdam(cfg AdamConfig) (*Adam, error) {
	if err := checkUnit("Adam beta1", cfg.Beta1); err != nil {
		return nil, err
	}
	if err := checkUnit("Adam beta2", cfg.Beta2); err != nil {
		return nil, err
	}
	if err := checkPositive("Adam epsilon", cfg.Epsilon); err != nil {
		return nil, err
	}
	d, err := newDecay(cfg.WeightDecay, cfg.DecayMode)
	if err != nil {
		return nil, err
	}
	return &Adam{
		beta1:   cfg.Beta1,
		beta2:   cfg.Beta2,
		b1:      float32(cfg.Beta1),
		b2:      float32(cfg.Beta2),
		a1:      float32(1 - cfg.Beta1),
		a2:      float32(1 - cfg.Beta2),
		epsilon: float32(cfg.Epsilon),
		decay:   d,
		slots:   newSlotStore("adam", []string{"m", "v"}, []float32{0, 0}),
	}, nil
}

// Name reports "adam".
func (o *Adam) Name() string { return "adam" }

// Step applies one Adam update; see Optimizer.
func (o *Adam) Step(params []*nn.Param, lr float64) error {
	slots, err := o.slots.prepare(params, lr)
	if err != nil {
		return err
	}
	lr32 := float32(lr)
	for pi, p := range params {
		sl := slots[pi]
		t := float64(sl.steps + 1)
		// Bias corrections in float64 (beta^t for large t underflows
		// gracefully to 0, giving a correction of 1), then rounded once.
		c1 := float32(1 - math.Pow(o.beta1, t))
		c2 := float32(1 - math.Pow(o.beta2, t))
		o.decay.shrink(p, lr32)
		m, v := sl.vecs[0], sl.vecs[1]
		for i := range p.Data {
			g := o.decay.grad(p, i)
			m[i] = float32(o.b1*m[i]) + float32(o.a1*g)
			v[i] = float32(o.b2*v[i]) + float32(float32(o.a2*g)*g)
			mHat := m[i] / c1
			vHat := v[i] / c2
			den := float32(math.Sqrt(float64(vHat))) + o.epsilon
			p.Data[i] -= float32(lr32*mHat) / den
		}
		sl.steps++
	}
	return nil
}

// State serialises the moments and step counts; see Optimizer.
func (o *Adam) State() ([]byte, error) { return o.slots.state() }

// SetState restores State's output; see Optimizer.
func (o *Adam) SetState(data []byte) error { return o.slots.setState(data) }

// Adopt checks a state restored by SetState against params, the full set
// of parameters of a caller that updates a different subset on each Step
// (a weight-sharing supernet), and lets the following Steps take subsets;
// parameters absent from the state were never updated and start fresh.
// Without it, the first Step after SetState must be given exactly the
// checkpoint's parameters.
func (o *Adam) Adopt(params []*nn.Param) error { return o.slots.adopt(params) }

package nn

import (
	"fmt"
	"math"
)

// Activation names a nonlinearity; the names are arch's, so an executor
// converts with nn.Activation(layer.Activation).
type Activation string

// The supported activations.
const (
	Identity Activation = "identity"
	ReLU     Activation = "relu"
	ReLU6    Activation = "relu6"
	// HSwish is x·relu6(x+3)/6 (MobileNetV3).
	HSwish Activation = "hswish"
	// Swish is x·sigmoid(x) (EfficientNet, also called SiLU).
	Swish   Activation = "swish"
	Sigmoid Activation = "sigmoid"
	// HSigmoid is relu6(x+3)/6, MobileNetV3's squeeze-excite gate.
	HSigmoid Activation = "hsigmoid"
	// GELU is the exact x·Φ(x) (Keras's default, approximate=False).
	GELU Activation = "gelu"
)

// Act applies an activation element-wise. The empty activation means
// Identity, as in arch where no activation was given.
type Act struct {
	Kind Activation

	x, out *Tensor
}

// NewAct makes an activation layer; it fails for an unknown name.
func NewAct(kind Activation) (*Act, error) {
	if kind == "" {
		kind = Identity
	}
	switch kind {
	case Identity, ReLU, ReLU6, HSwish, Swish, Sigmoid, HSigmoid, GELU:
		return &Act{Kind: kind}, nil
	}
	return nil, fmt.Errorf("unknown activation %q", kind)
}

// Params returns nil: activations have no parameters.
func (a *Act) Params() []*Param { return nil }

// actMinElems is the smallest element-wise task.
const actMinElems = 1 << 15

// Forward applies the activation to in[0] into a new tensor (also for
// Identity, so that the output is always distinct from the input).
func (a *Act) Forward(train bool, in ...*Tensor) *Tensor {
	mustInputs("activation", in, 1)
	x := in[0]
	out := like(x)
	forRange(len(x.Data), actMinElems, func(lo, hi int) {
		activate(a.Kind, x.Data[lo:hi], out.Data[lo:hi])
	})
	a.x, a.out = x, out
	return out
}

// Backward returns gradOut times the activation's derivative at the
// forward input. At a kink the derivative is the one of the flat side
// (relu'(0) = 0), as TensorFlow does.
func (a *Act) Backward(gradOut *Tensor) []*Tensor {
	mustGrad("activation", a.out, gradOut)
	dx := like(a.x)
	forRange(len(dx.Data), actMinElems, func(lo, hi int) {
		activateGrad(a.Kind, a.x.Data[lo:hi], gradOut.Data[lo:hi], dx.Data[lo:hi])
	})
	return []*Tensor{dx}
}

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

// activate writes f(x) into y; one loop per kind keeps the switch out of
// the inner loop.
func activate(kind Activation, x, y []float32) {
	y = y[:len(x)]
	switch kind {
	case ReLU:
		for i, v := range x {
			y[i] = max(v, 0)
		}
	case ReLU6:
		for i, v := range x {
			y[i] = min(max(v, 0), 6)
		}
	case HSwish:
		for i, v := range x {
			y[i] = v * min(max(v+3, 0), 6) / 6
		}
	case HSigmoid:
		for i, v := range x {
			y[i] = min(max(v+3, 0), 6) / 6
		}
	case Sigmoid:
		for i, v := range x {
			y[i] = sigmoid(v)
		}
	case Swish:
		for i, v := range x {
			y[i] = v * sigmoid(v)
		}
	case GELU:
		for i, v := range x {
			y[i] = float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
		}
	default: // Identity
		copy(y, x)
	}
}

// activateGrad writes dy·f'(x) into dx.
func activateGrad(kind Activation, x, dy, dx []float32) {
	dy, dx = dy[:len(x)], dx[:len(x)]
	switch kind {
	case ReLU:
		// Branch-free masks: the sign of a pre-activation is a coin flip,
		// and mispredicted branches made this loop the top of the
		// training profile.
		for i, v := range x {
			m := float32(0)
			if v > 0 {
				m = 1
			}
			dx[i] = dy[i] * m
		}
	case ReLU6:
		for i, v := range x {
			m := float32(0)
			if v > 0 && v < 6 {
				m = 1
			}
			dx[i] = dy[i] * m
		}
	case HSwish:
		for i, v := range x {
			switch {
			case v >= 3:
				dx[i] = dy[i]
			case v > -3:
				dx[i] = dy[i] * (2*v + 3) / 6
			}
		}
	case HSigmoid:
		for i, v := range x {
			if v > -3 && v < 3 {
				dx[i] = dy[i] / 6
			}
		}
	case Sigmoid:
		for i, v := range x {
			s := sigmoid(v)
			dx[i] = dy[i] * s * (1 - s)
		}
	case Swish:
		for i, v := range x {
			s := sigmoid(v)
			dx[i] = dy[i] * s * (1 + v*(1-s))
		}
	case GELU:
		for i, v := range x {
			f := float64(v)
			cdf := 0.5 * (1 + math.Erf(f/math.Sqrt2))
			pdf := math.Exp(-f*f/2) / math.Sqrt(2*math.Pi)
			dx[i] = dy[i] * float32(cdf+f*pdf)
		}
	default:
		copy(dx, dy)
	}
}

package train

import (
	"fmt"
	"slices"

	"github.com/fleetnas/fleetnas/nn"
)

// Role is what a trainable parameter is to the lowered layer that owns
// it. Build sets it from the nn layer that holds the parameter, so that a
// caller that treats parameters by kind (the supernet slices a conv
// kernel on four axes and a batch-norm scale on one) reads it instead of
// parsing parameter names, which are a checkpoint format, not an API.
type Role int

// The parameter roles. The zero Role is none of them.
const (
	// Weight is a conv kernel [k][k][in/groups][out], a depthwise kernel
	// [k][k][C] or a dense matrix [in][out], row-major as the nn engine
	// stores them.
	Weight Role = iota + 1
	// Bias is the per-output-channel bias [C] of a conv, depthwise or
	// dense layer.
	Bias
	// BNScale is a batch norm's per-channel scale, gamma [C].
	BNScale
	// BNShift is a batch norm's per-channel shift, beta [C].
	BNShift
	// LayerScale is the per-channel factor [C] of a scale layer
	// (MobileNetV4's layer scale).
	LayerScale
)

// String names the role for messages.
func (r Role) String() string {
	switch r {
	case Weight:
		return "weight"
	case Bias:
		return "bias"
	case BNScale:
		return "batch-norm scale"
	case BNShift:
		return "batch-norm shift"
	case LayerScale:
		return "layer scale"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// LayerParam is one trainable parameter of a Model with the lowered layer
// it belongs to and its role there.
type LayerParam struct {
	// Param is the parameter, the same pointer Model.Params holds.
	Param *nn.Param
	// Layer is the index in Model.Graph.Layers of the lowered layer
	// whose nn layers hold the parameter.
	Layer int
	// Role says what the parameter is to that layer.
	Role Role
}

// LayerParams returns every trainable parameter with its layer and role,
// in the order of Params. The slice is a copy; the parameters are the
// model's own.
func (m *Model) LayerParams() []LayerParam { return slices.Clone(m.layerParams) }

// paramsWithRoles returns the parameters of the nn layers built for lowered
// layer i, with their roles, in the order their Params methods list them
// (the order of Model.Params). It fails for a parameter of an nn layer it
// has no role for, so that a new parameterised layer cannot reach the
// model without one.
func paramsWithRoles(i int, layers []nn.Layer) ([]LayerParam, error) {
	var out []LayerParam
	for _, x := range layers {
		for _, p := range x.Params() {
			r := roleOf(x, p)
			if r == 0 {
				return nil, fmt.Errorf("parameter %s of a %T has no known role", p.Name, x)
			}
			out = append(out, LayerParam{Param: p, Layer: i, Role: r})
		}
	}
	return out, nil
}

// roleOf returns the role of parameter p of nn layer x by which of the
// layer's fields holds it, or 0 when none does.
func roleOf(x nn.Layer, p *nn.Param) Role {
	switch x := x.(type) {
	case *nn.Conv2D:
		return weightOrBias(p, x.W, x.B)
	case *nn.Depthwise:
		return weightOrBias(p, x.W, x.B)
	case *nn.Dense:
		return weightOrBias(p, x.W, x.B)
	case *nn.BatchNorm:
		switch p {
		case x.Gamma:
			return BNScale
		case x.Beta:
			return BNShift
		}
	case *nn.Scale:
		if p == x.Gamma {
			return LayerScale
		}
	}
	return 0
}

// weightOrBias is roleOf for a layer with a weight w and a bias b (nil
// without bias).
func weightOrBias(p, w, b *nn.Param) Role {
	switch {
	case p == w:
		return Weight
	case b != nil && p == b:
		return Bias
	}
	return 0
}

package train

import (
	"fmt"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/nn"
)

// op is one trainable step of a lowered network: a primitive layer, or a
// conv with its folded batch norm and activation run as a chain.
type op interface {
	forward(train bool, in []*nn.Tensor) (*nn.Tensor, error)
	// backward returns the gradients of the inputs (nil for an input
	// that needs none) and accumulates parameter gradients.
	backward(gradOut *nn.Tensor) ([]*nn.Tensor, error)
	params() []*nn.Param
}

// Model is a network built for training at one input resolution: one op
// per arch layer, executed over the graph's tensors.
type Model struct {
	Net    *arch.Network
	Graph  *arch.Graph
	ops    []op
	params []*nn.Param
	// layerParams holds params with their layers and roles, set by Build
	// from the nn layers that hold them.
	layerParams []LayerParam
	// acts holds the forward tensors of the last batch, by tensor id.
	acts []*nn.Tensor
}

// Params returns every trainable parameter, in layer order.
func (m *Model) Params() []*nn.Param { return m.params }

// Forward runs a batch (N x res x res x C) and returns the logits.
func (m *Model) Forward(x *nn.Tensor, training bool) (*nn.Tensor, error) {
	g := m.Graph
	in := g.Tensors[0]
	if x.H != in.H || x.W != in.W || x.C != in.C {
		return nil, fmt.Errorf("input batch is %dx%dx%d, the network takes %s", x.H, x.W, x.C, in)
	}
	m.acts = make([]*nn.Tensor, len(g.Tensors))
	m.acts[0] = x
	for i, l := range g.Layers {
		ins := make([]*nn.Tensor, len(l.Inputs))
		for k, t := range l.Inputs {
			ins[k] = m.acts[t]
		}
		out, err := m.ops[i].forward(training, ins)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", l.Name, err)
		}
		m.acts[l.Output] = out
	}
	return m.acts[len(g.Tensors)-1], nil
}

// Backward propagates the gradient of the logits through the graph in
// reverse, summing the gradients of tensors read by several layers.
func (m *Model) Backward(gradLogits *nn.Tensor) error {
	g := m.Graph
	grads := make([]*nn.Tensor, len(g.Tensors))
	// owned marks gradients this function allocated; the others may be
	// shared (an add passes one gradient to all its inputs), so they are
	// copied before anything is summed into them.
	owned := make([]bool, len(g.Tensors))
	grads[len(g.Tensors)-1] = gradLogits
	for i := len(g.Layers) - 1; i >= 0; i-- {
		l := g.Layers[i]
		gOut := grads[l.Output]
		if gOut == nil {
			continue // nothing downstream depends on this layer
		}
		gIns, err := m.ops[i].backward(gOut)
		if err != nil {
			return fmt.Errorf("layer %s: %w", l.Name, err)
		}
		for k, t := range l.Inputs {
			if k >= len(gIns) || gIns[k] == nil || t == 0 {
				continue
			}
			if grads[t] == nil {
				grads[t] = gIns[k]
				continue
			}
			if !owned[t] {
				c := *grads[t]
				c.Data = append([]float32(nil), grads[t].Data...)
				grads[t], owned[t] = &c, true
			}
			acc := grads[t]
			for j, v := range gIns[k].Data {
				acc.Data[j] += v
			}
		}
		grads[l.Output] = nil
	}
	return nil
}

package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/nn"
)

// chain runs nn layers one after the other: a conv with its batch norm and
// activation, as arch folds them into one layer.
type chain struct {
	layers []nn.Layer
}

func (c *chain) forward(train bool, in []*nn.Tensor) (*nn.Tensor, error) {
	x := c.layers[0].Forward(train, in...)
	for _, l := range c.layers[1:] {
		x = l.Forward(train, x)
	}
	return x, nil
}

func (c *chain) backward(g *nn.Tensor) ([]*nn.Tensor, error) {
	for i := len(c.layers) - 1; i > 0; i-- {
		g = c.layers[i].Backward(g)[0]
	}
	return c.layers[0].Backward(g), nil
}

func (c *chain) params() []*nn.Param {
	var ps []*nn.Param
	for _, l := range c.layers {
		ps = append(ps, l.Params()...)
	}
	return ps
}

func (c *chain) buffers() map[string][]float32 {
	out := map[string][]float32{}
	for _, l := range c.layers {
		if s, ok := l.(nn.Stateful); ok {
			for k, v := range s.State() {
				out[k] = append([]float32(nil), v...)
			}
		}
	}
	return out
}

func (c *chain) setBuffers(m map[string][]float32) error {
	for _, l := range c.layers {
		s, ok := l.(nn.Stateful)
		if !ok {
			continue
		}
		own := map[string][]float32{}
		for k := range s.State() {
			v, ok := m[k]
			if !ok {
				return fmt.Errorf("no state %s", k)
			}
			own[k] = v
		}
		if err := s.SetState(own); err != nil {
			return err
		}
	}
	return nil
}

// bnMomentum of the moving statistics: 0.9 rather than Keras's 0.99,
// because fleetnas trains for hundreds to a few thousand steps (small data
// sets, supernet candidates), where 0.99 leaves the statistics used at
// evaluation far from the data's.
const bnMomentum = 0.9

// Build makes a trainable model of a network at a resolution (0: its
// own), with weights initialised from seed. Attention blocks cannot be
// trained yet and give an error.
func Build(net *arch.Network, resolution int, seed uint64) (*Model, error) {
	g, err := net.Lower(resolution)
	if err != nil {
		return nil, err
	}
	m := &Model{Net: net, Graph: g}
	r := rand.New(rand.NewPCG(seed, 0x74726169)) // "trai"
	for i := range g.Layers {
		l := &g.Layers[i]
		layers, err := layerOf(l)
		if err != nil {
			return nil, fmt.Errorf("layer %s (%s): %w", l.Name, l.Op, err)
		}
		for _, x := range layers {
			if in, ok := x.(nn.Initializer); ok {
				in.Init(r)
			}
		}
		lps, err := paramsWithRoles(i, layers)
		if err != nil {
			return nil, fmt.Errorf("layer %s (%s): %w", l.Name, l.Op, err)
		}
		c := &chain{layers: layers}
		m.ops = append(m.ops, c)
		m.params = append(m.params, c.params()...)
		m.layerParams = append(m.layerParams, lps...)
	}
	return m, nil
}

// layerOf maps one lowered layer to engine layers.
func layerOf(l *arch.Layer) ([]nn.Layer, error) {
	name := l.Name
	post := func(ls []nn.Layer, bn bool) ([]nn.Layer, error) {
		if bn {
			b, err := nn.NewBatchNorm(name+".bn", l.Out.C, bnMomentum, nn.DefaultBNEpsilon)
			if err != nil {
				return nil, err
			}
			ls = append(ls, b)
		}
		if l.Activation != "" && l.Activation != arch.Identity {
			a, err := nn.NewAct(nn.Activation(l.Activation))
			if err != nil {
				return nil, err
			}
			ls = append(ls, a)
		}
		return ls, nil
	}
	switch l.Op {
	case arch.OpConv:
		c, err := nn.NewConv2D(name, l.In.C, l.Out.C, l.Kernel, l.Stride, max(l.Groups, 1), l.Bias)
		if err != nil {
			return nil, err
		}
		return post([]nn.Layer{c}, l.BN)
	case arch.OpDepthwise:
		d, err := nn.NewDepthwise(name, l.In.C, l.Kernel, l.Stride, l.Bias)
		if err != nil {
			return nil, err
		}
		return post([]nn.Layer{d}, l.BN)
	case arch.OpFC:
		d, err := nn.NewDense(name, l.In.H*l.In.W*l.In.C, l.Out.C, l.Bias)
		if err != nil {
			return nil, err
		}
		return post([]nn.Layer{d}, false)
	case arch.OpBN:
		return post(nil, true)
	case arch.OpAct:
		if l.Activation == arch.Identity || l.Activation == "" {
			a, err := nn.NewAct(nn.Activation(arch.Identity))
			return []nn.Layer{a}, err
		}
		return post(nil, false)
	case arch.OpGlobalPool:
		return []nn.Layer{nn.NewGlobalAvgPool()}, nil
	case arch.OpAvgPool:
		p, err := nn.NewAvgPool(l.Kernel, l.Stride)
		return []nn.Layer{p}, err
	case arch.OpAdd:
		a, err := nn.NewAdd(len(l.Inputs))
		return []nn.Layer{a}, err
	case arch.OpMul:
		return []nn.Layer{nn.NewMul()}, nil
	case arch.OpScale:
		// MobileNetV4's layer scale starts at 1e-5.
		s, err := nn.NewScale(name, l.Out.C, 1e-5)
		return []nn.Layer{s}, err
	case arch.OpShuffle:
		s, err := nn.NewShuffle(l.Out.C, l.Groups)
		return []nn.Layer{s}, err
	case arch.OpZero:
		return []nn.Layer{nn.NewZero()}, nil
	}
	return nil, fmt.Errorf("the training engine cannot train %s layers yet (attention)", l.Op)
}

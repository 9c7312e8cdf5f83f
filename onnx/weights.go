package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/train"
)

// ModelWeights returns the trainable parameters of a model built by
// train.Build, with fresh batch-norm statistics (mean 0, variance 1), as
// the model itself has until it is trained. The slices are shared with
// the model.
func ModelWeights(m *train.Model) *Weights {
	w := &Weights{Params: map[string][]float32{}}
	for _, p := range m.Params() {
		w.Params[p.Name] = p.Data
	}
	return w
}

// RandomWeights returns deterministic random weights for a network at a
// resolution: the training engine's own initialisation (He-normal convs,
// Glorot dense, fresh batch norms) from seed, so the same seed exports the
// same file on any machine. The engine cannot build attention, so a
// network with mhsa blocks gets GraphWeights instead.
func RandomWeights(net *arch.Network, resolution int, seed uint64) (*Weights, error) {
	for _, b := range net.Blocks {
		if b.Type == arch.MHSA {
			g, err := net.Lower(resolution)
			if err != nil {
				return nil, err
			}
			return GraphWeights(g, seed), nil
		}
	}
	m, err := train.Build(net, resolution, seed)
	if err != nil {
		return nil, err
	}
	return ModelWeights(m), nil
}

// LoadCheckpoint reads a training checkpoint (fleetnas.train/v1, written
// by `fleetnas train`) and returns its network and trained weights,
// including the batch-norm moving statistics that evaluation uses.
func LoadCheckpoint(path string) (*arch.Network, *Weights, error) {
	m, ck, err := train.Load(path)
	if err != nil {
		return nil, nil, err
	}
	w := ModelWeights(m)
	w.Buffers = make(map[string][]float32, len(ck.Buffers))
	for k, b := range ck.Buffers {
		if len(b)%4 != 0 {
			return nil, nil, fmt.Errorf("%s: buffer %s has %d bytes, not a whole number of float32s", path, k, len(b))
		}
		v := make([]float32, len(b)/4)
		for i := range v {
			// The checkpoint's float32 encoding (train.encode): little endian.
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		w.Buffers[k] = v
	}
	return m.Net, w, nil
}

// GraphWeights returns deterministic random weights for any lowered graph,
// under the names Export reads, without building a trainable model: the
// profiler times single blocks cut out of networks (whose input may be
// wider than a network input can be) and needs only plausible values —
// He-normal kernels, small biases, batch norms near identity — since
// latency does not depend on them.
func GraphWeights(g *arch.Graph, seed uint64) *Weights {
	r := rand.New(rand.NewPCG(seed, 0x7765696768747300)) // "weights"
	w := &Weights{Params: map[string][]float32{}}
	normal := func(name string, n int, std float64) {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64() * std)
		}
		w.Params[name] = v
	}
	around := func(name string, n int, mean, spread float64) {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(mean + spread*(2*r.Float64()-1))
		}
		w.Params[name] = v
	}
	for _, l := range g.Layers {
		c := l.Out.C
		switch l.Op {
		case arch.OpConv:
			k, groups := l.Kernel, max(l.Groups, 1)
			normal(l.Name+".w", k*k*(l.In.C/groups)*c, math.Sqrt(2/float64(k*k*c/groups)))
		case arch.OpDepthwise:
			normal(l.Name+".w", l.Kernel*l.Kernel*c, math.Sqrt(2/float64(l.Kernel*l.Kernel)))
		case arch.OpFC:
			normal(l.Name+".w", l.In.H*l.In.W*l.In.C*c, math.Sqrt(1/float64(l.In.C)))
		case arch.OpScale:
			around(l.Name+".gamma", c, 1, 0.1)
		}
		if l.Bias {
			around(l.Name+".b", c, 0, 0.1)
		}
		if l.BN {
			around(l.Name+".bn.gamma", c, 1, 0.1)
			around(l.Name+".bn.beta", c, 0, 0.1)
		}
	}
	return w
}

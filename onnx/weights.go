package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

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
// same file on any machine.
func RandomWeights(net *arch.Network, resolution int, seed uint64) (*Weights, error) {
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

package nn

import (
	"fmt"
	"math/rand/v2"
)

// Dropout zeroes each element with probability Rate during training and
// scales the kept ones by 1/(1-Rate) (inverted dropout), so evaluation is
// the identity. Masks come from the caller's seeded source, drawn in
// element order, so a run repeats exactly.
type Dropout struct {
	Rate float64

	rng  *rand.Rand
	mask []float32 // nil: the last Forward was the identity
	out  *Tensor
}

// NewDropout makes a dropout layer drawing from r; rate must be in [0, 1).
func NewDropout(rate float64, r *rand.Rand) (*Dropout, error) {
	if !(rate >= 0 && rate < 1) {
		return nil, fmt.Errorf("dropout rate must be in [0, 1), got %g", rate)
	}
	if r == nil && rate > 0 {
		return nil, fmt.Errorf("dropout needs a random source")
	}
	return &Dropout{Rate: rate, rng: r}, nil
}

// Params returns nil.
func (d *Dropout) Params() []*Param { return nil }

// Forward drops elements of in[0] in training; otherwise it copies in[0].
func (d *Dropout) Forward(train bool, in ...*Tensor) *Tensor {
	mustInputs("dropout", in, 1)
	x := in[0]
	out := like(x)
	d.out = out
	if !train || d.Rate == 0 {
		d.mask = nil
		copy(out.Data, x.Data)
		return out
	}
	keep := float32(1 / (1 - d.Rate))
	if cap(d.mask) < len(x.Data) {
		d.mask = make([]float32, len(x.Data))
	}
	d.mask = d.mask[:len(x.Data)]
	for i, v := range x.Data {
		m := float32(0)
		if d.rng.Float64() >= d.Rate {
			m = keep
		}
		d.mask[i] = m
		out.Data[i] = v * m
	}
	return out
}

// Backward applies the last Forward's mask to the gradient.
func (d *Dropout) Backward(gradOut *Tensor) []*Tensor {
	mustGrad("dropout", d.out, gradOut)
	dx := like(gradOut)
	if d.mask == nil {
		copy(dx.Data, gradOut.Data)
	} else {
		for i, v := range gradOut.Data {
			dx.Data[i] = v * d.mask[i]
		}
	}
	return []*Tensor{dx}
}

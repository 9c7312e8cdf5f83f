package nn

import (
	"fmt"
	"math"
)

// BatchNorm normalizes each channel over the batch and spatial positions,
// then scales by Gamma and shifts by Beta. Training uses the batch's
// statistics and updates the moving ones (moving = momentum·moving +
// (1-momentum)·batch, as Keras); evaluation uses the moving ones. As in
// Keras 3, the moving variance is updated with the biased batch variance
// (divided by the count, not count-1).
type BatchNorm struct {
	C                     int
	Momentum, Epsilon     float64
	Gamma, Beta           *Param
	MovingMean, MovingVar []float32

	name string
	// cached by Forward for Backward
	x, out      *Tensor
	mean, istd  []float64
	trainedWith bool
}

// Keras's MobileNet batch-norm defaults.
const (
	DefaultBNMomentum = 0.99
	DefaultBNEpsilon  = 1e-3
)

// NewBatchNorm makes a batch norm named name over c channels (parameters
// name+".gamma", name+".beta"; state name+".moving_mean",
// name+".moving_variance"). Gamma starts at 1, Beta at 0, the moving mean
// at 0 and the moving variance at 1, as in Keras.
func NewBatchNorm(name string, c int, momentum, epsilon float64) (*BatchNorm, error) {
	switch {
	case c <= 0:
		return nil, fmt.Errorf("batch norm %s: channels must be positive, got %d", name, c)
	case !(momentum >= 0 && momentum < 1):
		return nil, fmt.Errorf("batch norm %s: momentum must be in [0, 1), got %g", name, momentum)
	case !(epsilon > 0):
		return nil, fmt.Errorf("batch norm %s: epsilon must be positive, got %g", name, epsilon)
	}
	b := &BatchNorm{C: c, Momentum: momentum, Epsilon: epsilon, name: name,
		Gamma: newParam(name+".gamma", c, true), Beta: newParam(name+".beta", c, true),
		MovingMean: make([]float32, c), MovingVar: make([]float32, c)}
	for i := range c {
		b.Gamma.Data[i] = 1
		b.MovingVar[i] = 1
	}
	return b, nil
}

// Params returns Gamma and Beta (both exempt from weight decay).
func (b *BatchNorm) Params() []*Param { return []*Param{b.Gamma, b.Beta} }

// State returns the moving mean and variance.
func (b *BatchNorm) State() map[string][]float32 {
	return map[string][]float32{b.name + ".moving_mean": b.MovingMean, b.name + ".moving_variance": b.MovingVar}
}

// SetState restores the moving mean and variance.
func (b *BatchNorm) SetState(s map[string][]float32) error {
	for key, dst := range map[string][]float32{b.name + ".moving_mean": b.MovingMean, b.name + ".moving_variance": b.MovingVar} {
		v, ok := s[key]
		if !ok {
			return fmt.Errorf("batch norm %s: state %q missing", b.name, key)
		}
		if len(v) != len(dst) {
			return fmt.Errorf("batch norm %s: state %q has %d values, want %d", b.name, key, len(v), len(dst))
		}
		copy(dst, v)
	}
	return nil
}

// bnMinRows is the smallest number of pixels one statistics task sums.
const bnMinRows = 512

// channelSums sums f(row, partial) over the rows of an rows×c matrix in
// tasks, each into its own float64 partial, and adds the partials in
// task order: float64 keeps the statistics of large batches accurate and
// the fixed order keeps them identical on any core count.
func channelSums(rows, c, parts int, fn func(lo, hi int, acc []float64)) []float64 {
	size, tasks := split(rows, bnMinRows)
	partial := make([][]float64, tasks)
	parallelFor(tasks, func(_, t int) {
		acc := make([]float64, parts*c)
		fn(t*size, min((t+1)*size, rows), acc)
		partial[t] = acc
	})
	sum := make([]float64, parts*c)
	for _, p := range partial {
		for i, v := range p {
			sum[i] += v
		}
	}
	return sum
}

// Forward normalizes in[0]. In training it uses and records the batch
// statistics; otherwise the moving ones.
func (b *BatchNorm) Forward(train bool, in ...*Tensor) *Tensor {
	mustInputs("batch norm", in, 1)
	x := in[0]
	if x.C != b.C {
		panic(fmt.Sprintf("nn: batch norm %s: input %s has %d channels, want %d", b.name, shapeString(x), x.C, b.C))
	}
	c := b.C
	rows := x.Len() / c
	mean, istd := make([]float64, c), make([]float64, c)
	if train && rows > 0 {
		s := channelSums(rows, c, 1, func(lo, hi int, acc []float64) {
			for r := lo; r < hi; r++ {
				for j, v := range x.Data[r*c : (r+1)*c] {
					acc[j] += float64(v)
				}
			}
		})
		for j := range c {
			mean[j] = s[j] / float64(rows)
		}
		q := channelSums(rows, c, 1, func(lo, hi int, acc []float64) {
			for r := lo; r < hi; r++ {
				for j, v := range x.Data[r*c : (r+1)*c] {
					d := float64(v) - mean[j]
					acc[j] += d * d
				}
			}
		})
		m := b.Momentum
		for j := range c {
			v := q[j] / float64(rows)
			istd[j] = 1 / math.Sqrt(v+b.Epsilon)
			b.MovingMean[j] = float32(m*float64(b.MovingMean[j]) + (1-m)*mean[j])
			b.MovingVar[j] = float32(m*float64(b.MovingVar[j]) + (1-m)*v)
		}
	} else {
		for j := range c {
			mean[j] = float64(b.MovingMean[j])
			istd[j] = 1 / math.Sqrt(float64(b.MovingVar[j])+b.Epsilon)
		}
	}
	// y = x·scale + shift per channel.
	scale, shift := make([]float32, c), make([]float32, c)
	for j := range c {
		sc := float64(b.Gamma.Data[j]) * istd[j]
		scale[j] = float32(sc)
		shift[j] = float32(float64(b.Beta.Data[j]) - mean[j]*sc)
	}
	out := like(x)
	forRange(rows, bnMinRows, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			o := out.Data[r*c : (r+1)*c]
			for j, v := range x.Data[r*c : (r+1)*c] {
				o[j] = v*scale[j] + shift[j]
			}
		}
	})
	b.x, b.out, b.mean, b.istd, b.trainedWith = x, out, mean, istd, train
	return out
}

// Backward returns the input gradient and adds Gamma's and Beta's. After a
// training Forward the gradient flows through the batch statistics too.
func (b *BatchNorm) Backward(gradOut *Tensor) []*Tensor {
	mustGrad("batch norm", b.out, gradOut)
	x, dy, c := b.x, gradOut, b.C
	rows := x.Len() / c
	mean, istd := b.mean, b.istd
	// s[0:c] = Σ dy, s[c:2c] = Σ dy·x̂
	s := channelSums(rows, c, 2, func(lo, hi int, acc []float64) {
		for r := lo; r < hi; r++ {
			d := dy.Data[r*c : (r+1)*c]
			for j, v := range x.Data[r*c : (r+1)*c] {
				g := float64(d[j])
				acc[j] += g
				acc[c+j] += g * (float64(v) - mean[j]) * istd[j]
			}
		}
	})
	for j := range c {
		b.Beta.Grad[j] += float32(s[j])
		b.Gamma.Grad[j] += float32(s[c+j])
	}
	// dx = γ·istd·(dy - Σdy/R - x̂·Σ(dy·x̂)/R) in training, γ·istd·dy in evaluation.
	// Written as dx = k·dy + a·(x-mean) + m per channel.
	k, a, m, mu := make([]float32, c), make([]float32, c), make([]float32, c), make([]float32, c)
	for j := range c {
		gi := float64(b.Gamma.Data[j]) * istd[j]
		k[j] = float32(gi)
		mu[j] = float32(mean[j])
		if b.trainedWith {
			n := float64(rows)
			a[j] = float32(-gi * s[c+j] / n * istd[j])
			m[j] = float32(-gi * s[j] / n)
		}
	}
	dx := like(x)
	forRange(rows, bnMinRows, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			d, o := dy.Data[r*c:(r+1)*c], dx.Data[r*c:(r+1)*c]
			for j, v := range x.Data[r*c : (r+1)*c] {
				o[j] = d[j]*k[j] + (v-mu[j])*a[j] + m[j]
			}
		}
	})
	return []*Tensor{dx}
}

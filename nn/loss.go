package nn

import (
	"fmt"
	"math"
)

// SoftmaxCrossEntropy returns the mean over the batch of the cross-entropy
// between softmax(logits) and label-smoothed targets, and its gradient
// with respect to the logits. As in Keras's CategoricalCrossentropy with
// label_smoothing ε, the target of a sample with label y over K classes is
// (1-ε)·onehot(y) + ε/K. logits holds each sample's K = H·W·C scores;
// labels must be in [0, K). Sums run in float64.
func SoftmaxCrossEntropy(logits *Tensor, labels []int, smoothing float64) (float64, *Tensor, error) {
	n, k := logits.N, logits.H*logits.W*logits.C
	if len(labels) != n {
		return 0, nil, fmt.Errorf("cross-entropy: %d labels for a batch of %d", len(labels), n)
	}
	if n == 0 || k == 0 {
		return 0, nil, fmt.Errorf("cross-entropy: empty logits %s", shapeString(logits))
	}
	if !(smoothing >= 0 && smoothing <= 1) {
		return 0, nil, fmt.Errorf("cross-entropy: label smoothing must be in [0, 1], got %g", smoothing)
	}
	for i, y := range labels {
		if y < 0 || y >= k {
			return 0, nil, fmt.Errorf("cross-entropy: label %d of sample %d is outside the %d classes", y, i, k)
		}
	}
	grad := like(logits)
	p := make([]float64, k)
	off := smoothing / float64(k)
	var total float64
	for s, y := range labels {
		z := logits.Data[s*k : (s+1)*k]
		m := math.Inf(-1)
		for _, v := range z {
			m = max(m, float64(v))
		}
		var sum float64
		for j, v := range z {
			p[j] = math.Exp(float64(v) - m)
			sum += p[j]
		}
		logSum := m + math.Log(sum)
		g := grad.Data[s*k : (s+1)*k]
		for j, v := range z {
			t := off
			if j == y {
				t += 1 - smoothing
			}
			total -= t * (float64(v) - logSum)
			g[j] = float32((p[j]/sum - t) / float64(n))
		}
	}
	return total / float64(n), grad, nil
}

// CountCorrect returns how many samples' highest logit is at their label
// (ties go to the lower class); out-of-range labels count as wrong. Sum it
// over batches for an epoch's top-1 accuracy.
func CountCorrect(logits *Tensor, labels []int) int {
	k := logits.H * logits.W * logits.C
	correct := 0
	for s, y := range labels {
		if s >= logits.N || k == 0 {
			break
		}
		z := logits.Data[s*k : (s+1)*k]
		best := 0
		for j, v := range z {
			if v > z[best] {
				best = j
			}
		}
		if best == y {
			correct++
		}
	}
	return correct
}

// Accuracy is the batch's top-1 accuracy in [0, 1] (0 for no labels).
func Accuracy(logits *Tensor, labels []int) float64 {
	if len(labels) == 0 {
		return 0
	}
	return float64(CountCorrect(logits, labels)) / float64(len(labels))
}

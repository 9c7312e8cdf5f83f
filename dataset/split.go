package dataset

import (
	"cmp"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
)

// Random streams: each use of a seed draws from its own stream, so that,
// say, the validation split and the epoch-0 shuffle made with the same seed
// are unrelated.
const (
	streamShuffle uint64 = iota + 1
	streamAugment
	streamValidation
	streamFolderTest
)

// splitmix64 is SplitMix64's finaliser: a fixed, well-mixing bijection of
// 64-bit words, used to derive independent seeds and per-example random bits
// without any sequential generator state.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// hash mixes words into one random-looking word.
func hash(words ...uint64) uint64 {
	h := uint64(0x6a09e667f3bcc908)
	for _, w := range words {
		h = splitmix64(h ^ w)
	}
	return h
}

// newPCG returns a PCG generator for one stream of a seed. PCG's output
// for a given state is fixed by math/rand/v2's documentation.
func newPCG(seed uint64, words ...uint64) *rand.PCG {
	return rand.NewPCG(seed, hash(words...))
}

// shuffle is a Fisher–Yates shuffle written out (rather than rand.Shuffle)
// so that the permutation for a seed can never change with the Go release.
// The bounded draw is Lemire's multiply-shift; its bias, below n/2^64, is
// immaterial here.
func shuffle(idx []int, r *rand.PCG) {
	for i := len(idx) - 1; i > 0; i-- {
		j, _ := bits.Mul64(r.Uint64(), uint64(i+1))
		idx[i], idx[j] = idx[j], idx[i]
	}
}

// ValidationSplit holds out a share fraction of train as a validation set,
// for search rewards that must not be measured on the test set. The split
// is:
//
//   - stratified: every label contributes its share (largest-remainder
//     rounding makes the total round(fraction·N) while no label is off by
//     more than one from its exact share), so a reward is not skewed by a
//     class that happens to be rare in validation;
//   - deterministic: which examples of a label are held out depends only on
//     seed and the label's examples, not on the platform or Go release;
//   - disjoint and covering: every example is in exactly one part, and each
//     part keeps train's order.
//
// fraction is clamped to [0, 1] (NaN counts as 0). The parts are copies, so
// train can be dropped. A nil or inconsistent train (see NewLoader) gives
// two empty splits.
func ValidationSplit(train *Split, fraction float64, seed uint64) (trainPart, val *Split) {
	if train.validate() != nil {
		empty := func() *Split {
			if train == nil {
				return &Split{}
			}
			return &Split{H: train.H, W: train.W, C: train.C}
		}
		return empty(), empty()
	}
	keep, held := stratifiedSplit(train.Labels, fraction, seed, streamValidation)
	return train.subset(keep), train.subset(held)
}

// stratifiedSplit returns the indices kept and held out (each ascending)
// when a share frac of every label is held out; see ValidationSplit.
func stratifiedSplit(labels []int, frac float64, seed, stream uint64) (keep, held []int) {
	if !(frac > 0) { // also NaN
		frac = 0
	}
	frac = min(frac, 1)
	byLabel := map[int][]int{}
	for i, l := range labels {
		byLabel[l] = append(byLabel[l], i)
	}
	ls := make([]int, 0, len(byLabel))
	for l := range byLabel {
		ls = append(ls, l)
	}
	slices.Sort(ls)

	// Largest remainder: floor of each exact share, then one more to the
	// labels with the largest fractional parts (ties to the smaller label)
	// until the total is round(frac·N).
	quota := make([]int, len(ls))
	rem := make([]float64, len(ls))
	total := 0
	for k, l := range ls {
		exact := frac * float64(len(byLabel[l]))
		quota[k] = int(math.Floor(exact))
		rem[k] = exact - float64(quota[k])
		total += quota[k]
	}
	need := int(math.Round(frac*float64(len(labels)))) - total
	order := make([]int, len(ls))
	for k := range order {
		order[k] = k
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rem[b], rem[a]) })
	for _, k := range order {
		if need <= 0 {
			break
		}
		if quota[k] < len(byLabel[ls[k]]) {
			quota[k]++
			need--
		}
	}

	heldMark := make([]bool, len(labels))
	for k, l := range ls {
		idx := slices.Clone(byLabel[l])
		shuffle(idx, newPCG(seed, stream, uint64(l)))
		for _, i := range idx[:quota[k]] {
			heldMark[i] = true
		}
	}
	for i, h := range heldMark {
		if h {
			held = append(held, i)
		} else {
			keep = append(keep, i)
		}
	}
	return keep, held
}

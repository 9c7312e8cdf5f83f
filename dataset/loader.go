package dataset

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"runtime"
	"sync"

	"github.com/fleetnas/fleetnas/nn"
)

// Normalisation: a pixel v in 0..255 becomes v/127.5 − 1, in [−1, 1]. A
// fixed affine map rather than per-data-set mean and standard deviation
// keeps inputs in the same range for every data set without statistics to
// compute, store or get wrong, and the networks searched here start with a
// convolution followed by batch normalisation, which absorbs any remaining
// shift and scale. Padding added by random cropping is black (pixel 0,
// i.e. −1), as torchvision's RandomCrop(padding=...) before normalising.
//
// The subtraction is exact and the division correctly rounded, so every
// pixel value maps to the float32 nearest v/127.5 − 1, with 0 → −1 and
// 255 → 1 exactly (a multiplication by 2/255 would be off by one ulp for
// most values).
const (
	pixelHalf = 127.5
	padValue  = -1
)

// Normalize maps a pixel value to the float a Loader produces for it.
func Normalize(v uint8) float32 { return norm(float32(v)) }

// norm normalises an (interpolated) pixel value in [0, 255].
func norm(v float32) float32 { return (v - pixelHalf) / pixelHalf }

// Augment is the training-time augmentation of a Loader. Each example's
// random choices are a function of (seed, epoch, example index) alone, so
// they are the same however batches are split over goroutines.
type Augment struct {
	// Pad > 0 enables random cropping: the image (at the output size) is
	// padded with Pad black pixels on every side and an output-sized window
	// is cut at a uniformly random offset, i.e. shifted by −Pad..Pad pixels
	// in each direction. Pad 4 for 32×32 (CIFAR practice), 2 for 28×28.
	Pad int
	// Flip mirrors each image left–right with probability 1/2. Leave it off
	// for data whose classes are not mirror-symmetric, such as digits.
	Flip bool
}

// Output is the tensor shape a Loader produces when it differs from the
// split's, so a network can be trained at its own input size.
type Output struct {
	// H and W resize images (both set, or neither for the split's size).
	H, W int
	// C is 1 or 3 (0: the split's). One channel to three replicates gray;
	// three to one takes the luminance 0.299 R + 0.587 G + 0.114 B.
	C int
	// Nearest resizes by nearest neighbour instead of bilinear
	// interpolation (with half-pixel centres, as PyTorch's
	// align_corners=False and TensorFlow 2's resize).
	Nearest bool
}

// Loader turns a split into batches of nn tensors. A training loader
// (NewLoader) visits the examples in a new shuffled order each epoch,
// augments them and drops a last partial batch, so that every step has
// the same batch size (batch-norm statistics of a tiny last batch are
// noisy); an evaluation loader (NewEvalLoader) visits every example once
// in order, unaugmented, the last batch possibly smaller. A Loader is
// immutable and safe for concurrent use.
type Loader struct {
	split      *Split
	batch      int
	seed       uint64
	aug        Augment
	train      bool
	oh, ow, oc int
	identity   bool          // output size equals the split's: no resampling
	lut        *[256]float32 // Normalize of every byte, for the no-resampling path
	rows, cols []tap         // for each output row/column, where it samples the source
}

// tap is where one output coordinate samples its source axis: (1−w)·src[i0]
// + w·src[i1].
type tap struct {
	i0, i1 int
	w      float32
}

// NewLoader returns a training loader: batches of batch examples of split
// in an order shuffled by (seed, epoch), augmented by aug. The last
// partial batch of an epoch is dropped, unless the split is smaller than
// one batch, in which case the epoch is that one smaller batch.
func NewLoader(split *Split, batch int, seed uint64, aug Augment) (*Loader, error) {
	if aug.Pad < 0 {
		return nil, fmt.Errorf("dataset: negative crop padding %d", aug.Pad)
	}
	l, err := newLoader(split, batch)
	if err != nil {
		return nil, err
	}
	l.seed, l.aug, l.train = seed, aug, true
	return l, nil
}

// NewEvalLoader returns an evaluation loader: every example of split once,
// in order, without augmentation, the last batch holding the remainder.
func NewEvalLoader(split *Split, batch int) (*Loader, error) {
	return newLoader(split, batch)
}

func newLoader(split *Split, batch int) (*Loader, error) {
	if err := split.validate(); err != nil {
		return nil, err
	}
	if batch < 1 {
		return nil, fmt.Errorf("dataset: batch size %d is not positive", batch)
	}
	if split.Len() == 0 {
		return nil, errors.New("dataset: empty split")
	}
	l := &Loader{split: split, batch: batch, lut: new([256]float32)}
	for v := range l.lut {
		l.lut[v] = Normalize(uint8(v))
	}
	if err := l.setOutput(Output{}); err != nil {
		return nil, err
	}
	return l, nil
}

// WithOutput returns a copy of l producing tensors of another shape
// (resized and/or with another number of channels), e.g. Output{H: 32,
// W: 32, C: 3} to feed Fashion-MNIST to a network made for CIFAR inputs.
// Random cropping then happens at the output size.
func (l *Loader) WithOutput(o Output) (*Loader, error) {
	c := *l
	if err := c.setOutput(o); err != nil {
		return nil, err
	}
	return &c, nil
}

func (l *Loader) setOutput(o Output) error {
	s := l.split
	if o.H < 0 || o.W < 0 || (o.H == 0) != (o.W == 0) {
		return fmt.Errorf("dataset: output size %dx%d: give both or neither", o.H, o.W)
	}
	if o.H == 0 {
		o.H, o.W = s.H, s.W
	}
	if o.C == 0 {
		o.C = s.C
	}
	if o.C != s.C && !(s.C == 1 && o.C == 3) && !(s.C == 3 && o.C == 1) {
		return fmt.Errorf("dataset: cannot turn %d-channel images into %d channels (only 1<->3)", s.C, o.C)
	}
	const maxSide = 1 << 14 // guards against a typo allocating gigabytes per batch
	if o.H > maxSide || o.W > maxSide {
		return fmt.Errorf("dataset: output size %dx%d is larger than %d", o.H, o.W, maxSide)
	}
	l.oh, l.ow, l.oc = o.H, o.W, o.C
	l.identity = o.H == s.H && o.W == s.W
	l.rows, l.cols = taps(s.H, o.H, o.Nearest), taps(s.W, o.W, o.Nearest)
	return nil
}

// taps maps each of dst output coordinates to the src coordinates it
// samples (half-pixel centres, edges clamped).
func taps(src, dst int, nearest bool) []tap {
	t := make([]tap, dst)
	scale := float64(src) / float64(dst)
	for i := range t {
		c := (float64(i)+0.5)*scale - 0.5
		if nearest {
			j := min(int(math.Floor((float64(i)+0.5)*scale)), src-1)
			t[i] = tap{j, j, 0}
			continue
		}
		c = max(c, 0)
		i0 := min(int(c), src-1)
		i1 := min(i0+1, src-1)
		t[i] = tap{i0, i1, float32(c - float64(i0))}
	}
	return t
}

// Shape is the (height, width, channels) of every image a batch holds.
func (l *Loader) Shape() (h, w, c int) { return l.oh, l.ow, l.oc }

// BatchSize is the number of examples in a full batch.
func (l *Loader) BatchSize() int { return l.batch }

// NumBatches is the number of batches an epoch yields.
func (l *Loader) NumBatches() int {
	n := l.split.Len()
	if !l.train {
		return (n + l.batch - 1) / l.batch
	}
	return max(n/l.batch, 1)
}

// Order returns the example indices of an epoch in visiting order: the
// identity for an evaluation loader, a permutation drawn from (seed,
// epoch) for a training loader.
func (l *Loader) Order(epoch int) []int {
	idx := make([]int, l.split.Len())
	for i := range idx {
		idx[i] = i
	}
	if l.train {
		shuffle(idx, newPCG(l.seed, streamShuffle, uint64(epoch)))
	}
	return idx
}

// Epoch yields an epoch's batches: x of shape (batch, H, W, C) (see Shape)
// normalised to [−1, 1] (see Normalize), and the labels. Each batch is
// freshly allocated, so a caller may keep it. The batches depend only on
// the loader's split and settings, its seed and epoch, not on GOMAXPROCS.
func (l *Loader) Epoch(epoch int) iter.Seq2[*nn.Tensor, []int] {
	return func(yield func(*nn.Tensor, []int) bool) {
		order := l.Order(epoch)
		for b := range l.NumBatches() {
			idx := order[b*l.batch : min((b+1)*l.batch, len(order))]
			x, labels := l.assemble(idx, epoch)
			if !yield(x, labels) {
				return
			}
		}
	}
}

// Load assembles the examples idx (in that order) as Epoch would in epoch
// (augmented for a training loader), for callers that pick examples
// themselves, e.g. to prefetch or to look at a few images.
func (l *Loader) Load(idx []int, epoch int) (*nn.Tensor, []int, error) {
	for _, i := range idx {
		if i < 0 || i >= l.split.Len() {
			return nil, nil, fmt.Errorf("dataset: example %d out of range 0..%d", i, l.split.Len()-1)
		}
	}
	x, labels := l.assemble(idx, epoch)
	return x, labels, nil
}

// assemble builds a batch, spreading its examples over the cores when the
// batch is big enough for that to pay.
func (l *Loader) assemble(idx []int, epoch int) (*nn.Tensor, []int) {
	x := nn.NewTensor(len(idx), l.oh, l.ow, l.oc)
	labels := make([]int, len(idx))
	per := l.oh * l.ow * l.oc
	fill := func(lo, hi int) {
		for b := lo; b < hi; b++ {
			labels[b] = l.split.Labels[idx[b]]
			l.fillImage(x.Data[b*per:(b+1)*per], idx[b], epoch)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(idx), len(idx)*per/(1<<14))
	if workers <= 1 {
		fill(0, len(idx))
		return x, labels
	}
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(idx)/workers, (w+1)*len(idx)/workers
		wg.Go(func() { fill(lo, hi) })
	}
	wg.Wait()
	return x, labels
}

// fillImage writes example i, augmented for epoch, into dst (oh×ow×oc).
func (l *Loader) fillImage(dst []float32, i, epoch int) {
	var dy, dx int
	flip := false
	if l.train && (l.aug.Pad > 0 || l.aug.Flip) {
		h := hash(l.seed, streamAugment, uint64(epoch), uint64(i))
		if p := l.aug.Pad; p > 0 {
			r := uint64(2*p + 1)
			dy, dx = int(h%r)-p, int((h>>24)%r)-p
		}
		flip = l.aug.Flip && h>>63 == 1
	}
	s := l.split
	src := s.Image(i)
	sc, oc := s.C, l.oc
	px := make([]float32, sc)
	k := 0
	for y := range l.oh {
		ry := y + dy
		if ry < 0 || ry >= l.oh {
			for range l.ow * oc {
				dst[k] = padValue
				k++
			}
			continue
		}
		rt := l.rows[ry]
		for x := range l.ow {
			rx := x
			if flip {
				rx = l.ow - 1 - x
			}
			rx += dx
			if rx < 0 || rx >= l.ow {
				for range oc {
					dst[k] = padValue
					k++
				}
				continue
			}
			if l.identity && sc == oc {
				p := src[(ry*s.W+rx)*sc:][:sc]
				for ch, v := range p {
					dst[k+ch] = l.lut[v]
				}
				k += oc
				continue
			}
			// Sample the source's channels at (ry, rx) in 0..255.
			if l.identity {
				p := src[(ry*s.W+rx)*sc:]
				for ch := range sc {
					px[ch] = float32(p[ch])
				}
			} else {
				ct := l.cols[rx]
				p00, p01 := src[(rt.i0*s.W+ct.i0)*sc:], src[(rt.i0*s.W+ct.i1)*sc:]
				p10, p11 := src[(rt.i1*s.W+ct.i0)*sc:], src[(rt.i1*s.W+ct.i1)*sc:]
				for ch := range sc {
					top := float32(p00[ch]) + ct.w*(float32(p01[ch])-float32(p00[ch]))
					bot := float32(p10[ch]) + ct.w*(float32(p11[ch])-float32(p10[ch]))
					px[ch] = top + rt.w*(bot-top)
				}
			}
			switch {
			case sc == oc:
				for ch := range oc {
					dst[k+ch] = norm(px[ch])
				}
			case sc == 1: // gray to RGB
				v := norm(px[0])
				dst[k], dst[k+1], dst[k+2] = v, v, v
			default: // RGB to gray
				dst[k] = norm(0.299*px[0] + 0.587*px[1] + 0.114*px[2])
			}
			k += oc
		}
	}
}

// resizeU8 resizes an h×w×c image bilinearly into dst (oh×ow×c), rounding
// to the nearest byte; image folders use it to bring odd-sized files to the
// data set's size.
func resizeU8(src []uint8, h, w, c int, dst []uint8, oh, ow int) {
	rows, cols := taps(h, oh, false), taps(w, ow, false)
	k := 0
	for _, rt := range rows {
		for _, ct := range cols {
			for ch := range c {
				p00, p01 := float32(src[(rt.i0*w+ct.i0)*c+ch]), float32(src[(rt.i0*w+ct.i1)*c+ch])
				p10, p11 := float32(src[(rt.i1*w+ct.i0)*c+ch]), float32(src[(rt.i1*w+ct.i1)*c+ch])
				top := p00 + ct.w*(p01-p00)
				bot := p10 + ct.w*(p11-p10)
				dst[k] = uint8(min(max(top+rt.w*(bot-top)+0.5, 0), 255))
				k++
			}
		}
	}
}

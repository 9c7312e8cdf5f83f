package dataset

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/nn"
)

// randomSplit makes n random h×w×c images with labels i%classes (so with
// distinct pixels, an augmented image identifies its source and offset).
func randomSplit(n, h, w, c, classes int, seed uint64) *Split {
	r := rand.New(rand.NewPCG(seed, 0))
	s := &Split{H: h, W: w, C: c, Pixels: make([]uint8, n*h*w*c), Labels: make([]int, n)}
	for i := range s.Pixels {
		s.Pixels[i] = uint8(r.UintN(256))
	}
	for i := range s.Labels {
		s.Labels[i] = i % classes
	}
	return s
}

// epochHash digests an epoch's batches.
func epochHash(t *testing.T, l *Loader, epoch int) uint64 {
	t.Helper()
	h := fnv.New64a()
	for x, labels := range l.Epoch(epoch) {
		for _, v := range x.Data {
			binary.Write(h, binary.LittleEndian, math.Float32bits(v))
		}
		for _, v := range labels {
			binary.Write(h, binary.LittleEndian, int64(v))
		}
	}
	return h.Sum64()
}

func TestLoaderDeterminism(t *testing.T) {
	s := randomSplit(300, 32, 32, 3, 10, 1)
	mk := func(seed uint64) *Loader {
		l, err := NewLoader(s, 64, seed, Augment{Pad: 4, Flip: true})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	a, b := mk(7), mk(7)
	if epochHash(t, a, 3) != epochHash(t, b, 3) {
		t.Error("two loaders with one seed differ")
	}
	if epochHash(t, a, 3) == epochHash(t, a, 4) {
		t.Error("epochs 3 and 4 are the same")
	}
	if epochHash(t, a, 3) == epochHash(t, mk(8), 3) {
		t.Error("seeds 7 and 8 give the same epoch")
	}
	// Batches of 64x32x32x3 are assembled on several goroutines when there
	// are cores for them; the result must not depend on that.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var hs []uint64
	for _, p := range []int{1, 2, 4, 7} {
		runtime.GOMAXPROCS(p)
		hs = append(hs, epochHash(t, a, 5))
	}
	for _, h := range hs[1:] {
		if h != hs[0] {
			t.Fatalf("GOMAXPROCS changes the batches: %x", hs)
		}
	}
}

// TestLoaderGolden pins the shuffled order and the augmentation of a seed,
// so that a change of the random streams (which would silently change every
// recorded search) fails here.
func TestLoaderGolden(t *testing.T) {
	s := randomSplit(10, 4, 4, 1, 2, 1)
	l, err := NewLoader(s, 4, 42, Augment{Pad: 1, Flip: true})
	if err != nil {
		t.Fatal(err)
	}
	order := l.Order(0)
	want := []int{2, 9, 6, 4, 3, 1, 5, 7, 8, 0}
	if !slices.Equal(order, want) {
		t.Errorf("order %v, golden %v", order, want)
	}
	if h := epochHash(t, l, 0); h != 0x901f6954cbb67f89 {
		t.Errorf("epoch hash %#x", h)
	}
}

// TestAugmentation checks that every augmented image is its source shifted
// by at most Pad pixels (black where shifted in) and possibly mirrored, that
// all offsets and both flips occur, and that an example's augmentation
// does not depend on the batch size.
func TestAugmentation(t *testing.T) {
	const n, side, pad = 40, 8, 2
	s := randomSplit(n, side, side, 3, 4, 2)
	l, err := NewLoader(s, 8, 5, Augment{Pad: pad, Flip: true})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[[3]int]int{}
	for epoch := range 20 {
		order := l.Order(epoch)
		b := 0
		for x, labels := range l.Epoch(epoch) {
			for k := range x.N {
				i := order[b*8+k]
				if labels[k] != s.Labels[i] {
					t.Fatalf("label of example %d", i)
				}
				got := x.Data[k*side*side*3 : (k+1)*side*side*3]
				dy, dx, flip, ok := findShift(s.Image(i), got, side, pad)
				if !ok {
					t.Fatalf("epoch %d example %d is no shift/flip of its source", epoch, i)
				}
				seen[[3]int{dy, dx, flip}]++
			}
			b++
		}
	}
	if len(seen) != (2*pad+1)*(2*pad+1)*2 {
		t.Errorf("%d of %d (offset, flip) combinations seen: %v", len(seen), (2*pad+1)*(2*pad+1)*2, seen)
	}
	// Batch size does not change which augmentation an example gets.
	l2, _ := NewLoader(s, 5, 5, Augment{Pad: pad, Flip: true})
	x1, _, _ := l.Load([]int{3, 17}, 9)
	x2, _, _ := l2.Load([]int{17, 3}, 9)
	per := side * side * 3
	if !slices.Equal(x1.Data[:per], x2.Data[per:]) || !slices.Equal(x1.Data[per:], x2.Data[:per]) {
		t.Error("augmentation depends on the loader's batch size or position in the batch")
	}
}

// findShift finds (dy, dx, flip) with got = Normalize(src shifted by dy,
// dx, then mirrored if flip), black outside.
func findShift(src []uint8, got []float32, side, pad int) (int, int, int, bool) {
	for flip := range 2 {
		for dy := -pad; dy <= pad; dy++ {
		next:
			for dx := -pad; dx <= pad; dx++ {
				for y := range side {
					for x := range side {
						sx := x
						if flip == 1 {
							sx = side - 1 - x
						}
						sy, sx := y+dy, sx+dx
						for ch := range 3 {
							want := float32(-1)
							if sy >= 0 && sy < side && sx >= 0 && sx < side {
								want = Normalize(src[(sy*side+sx)*3+ch])
							}
							if got[(y*side+x)*3+ch] != want {
								continue next
							}
						}
					}
				}
				return dy, dx, flip, true
			}
		}
	}
	return 0, 0, 0, false
}

func TestLoaderEpochs(t *testing.T) {
	s := randomSplit(103, 2, 2, 1, 3, 3)
	tr, _ := NewLoader(s, 10, 1, Augment{})
	if tr.NumBatches() != 10 {
		t.Errorf("training batches %d, want 10 (partial dropped)", tr.NumBatches())
	}
	seen := map[int]bool{}
	for _, i := range tr.Order(2) {
		seen[i] = true
	}
	if len(seen) != 103 {
		t.Error("order is not a permutation")
	}
	// Without augmentation the values are exactly the normalised pixels.
	order := tr.Order(2)
	b := 0
	for x, labels := range tr.Epoch(2) {
		if x.N != 10 {
			t.Fatalf("training batch of %d", x.N)
		}
		for k := range x.N {
			i := order[b*10+k]
			for j, v := range s.Image(i) {
				if x.Data[k*4+j] != float32(float64(v)/127.5-1) {
					t.Fatalf("pixel %d of example %d: %v", j, i, x.Data[k*4+j])
				}
			}
			if labels[k] != s.Labels[i] {
				t.Fatal("label")
			}
		}
		b++
	}
	ev, _ := NewEvalLoader(s, 10)
	var got []int
	sizes := []int{}
	for x, labels := range ev.Epoch(0) {
		got = append(got, labels...)
		sizes = append(sizes, x.N)
	}
	if !slices.Equal(got, s.Labels) || ev.NumBatches() != 11 || sizes[10] != 3 {
		t.Errorf("eval: %d batches, sizes %v", ev.NumBatches(), sizes)
	}
	// A split smaller than a batch still trains: one short batch.
	small, _ := NewLoader(randomSplit(3, 2, 2, 1, 3, 3), 10, 1, Augment{})
	if small.NumBatches() != 1 {
		t.Errorf("small split: %d batches", small.NumBatches())
	}
	for x := range small.Epoch(0) {
		if x.N != 3 {
			t.Errorf("small split batch of %d", x.N)
		}
	}
	// Breaking out of the loop early is fine.
	for range tr.Epoch(0) {
		break
	}
}

func TestLoaderOutput(t *testing.T) {
	// Bilinear with half-pixel centres: [0, 255] to width 4 is
	// [0, 63.75, 191.25, 255], as PyTorch's align_corners=False.
	s := &Split{H: 1, W: 2, C: 1, Pixels: []uint8{0, 255}, Labels: []int{0}}
	ev, _ := NewEvalLoader(s, 1)
	l, err := ev.WithOutput(Output{H: 1, W: 4, C: 3})
	if err != nil {
		t.Fatal(err)
	}
	x, _, _ := l.Load([]int{0}, 0)
	for i, want := range []float64{0, 63.75, 191.25, 255} {
		for ch := range 3 {
			if got := float64(x.Data[3*i+ch]); math.Abs(got-(want/127.5-1)) > 1e-6 {
				t.Errorf("column %d channel %d = %v, want %v", i, ch, got, want/127.5-1)
			}
		}
	}
	ln, _ := ev.WithOutput(Output{H: 2, W: 4, Nearest: true})
	x, _, _ = ln.Load([]int{0}, 0)
	if want := []float32{-1, -1, 1, 1, -1, -1, 1, 1}; !slices.Equal(x.Data, want) {
		t.Errorf("nearest: %v", x.Data)
	}
	if h, w, c := ln.Shape(); h != 2 || w != 4 || c != 1 {
		t.Errorf("shape %d %d %d", h, w, c)
	}
	// RGB to gray takes the luminance.
	rgb := &Split{H: 1, W: 1, C: 3, Pixels: []uint8{255, 0, 0}, Labels: []int{0}}
	ev3, _ := NewEvalLoader(rgb, 1)
	g, _ := ev3.WithOutput(Output{C: 1})
	x, _, _ = g.Load([]int{0}, 0)
	if want := float32(0.299*255/127.5 - 1); math.Abs(float64(x.Data[0]-want)) > 1e-5 {
		t.Errorf("luminance %v, want %v", x.Data[0], want)
	}
	for _, bad := range []Output{{H: 3}, {C: 2}, {H: -1, W: -1}, {H: 1 << 20, W: 1}} {
		if _, err := ev.WithOutput(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestLoaderBadInput(t *testing.T) {
	s := randomSplit(4, 2, 2, 1, 2, 1)
	for _, c := range []struct {
		split *Split
		batch int
		aug   Augment
		want  string
	}{
		{nil, 1, Augment{}, "nil split"},
		{s, 0, Augment{}, "batch size"},
		{s, 1, Augment{Pad: -1}, "padding"},
		{&Split{H: 2, W: 2, C: 1, Pixels: make([]uint8, 5), Labels: []int{0}}, 1, Augment{}, "pixel bytes"},
		{&Split{H: 2, W: 2, C: 1}, 1, Augment{}, "empty"},
	} {
		if _, err := NewLoader(c.split, c.batch, 0, c.aug); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v", c.want, err)
		}
	}
	l, _ := NewEvalLoader(s, 2)
	if _, _, err := l.Load([]int{4}, 0); err == nil {
		t.Error("out-of-range example loaded")
	}
}

func TestValidationSplit(t *testing.T) {
	// Unbalanced labels: 50 of class 0, 30 of 1, 7 of 2.
	s := randomSplit(87, 2, 2, 1, 1, 4)
	for i := range s.Labels {
		switch {
		case i < 50:
			s.Labels[i] = 0
		case i < 80:
			s.Labels[i] = 1
		default:
			s.Labels[i] = 2
		}
	}
	tr, val := ValidationSplit(s, 0.1, 9)
	if val.Len() != 9 || tr.Len() != 78 {
		t.Fatalf("sizes %d + %d, want 78 + round(8.7) = 9", tr.Len(), val.Len())
	}
	exact := []float64{5, 3, 0.7}
	for l, k := range val.Histogram(3) {
		if math.Abs(float64(k)-exact[l]) >= 1 {
			t.Errorf("class %d: %d held out, exact share %v", l, k, exact[l])
		}
	}
	// Disjoint and covering: every source image (distinct random pixels)
	// lands in exactly one part, with its label.
	where := map[string]int{}
	for _, part := range []*Split{tr, val} {
		for i := range part.Len() {
			where[string(part.Image(i))+string(rune(part.Labels[i]))]++
		}
	}
	for i := range s.Len() {
		if where[string(s.Image(i))+string(rune(s.Labels[i]))] != 1 {
			t.Fatalf("example %d is in %d parts", i, where[string(s.Image(i))])
		}
	}
	tr2, val2 := ValidationSplit(s, 0.1, 9)
	if !slices.Equal(val.Pixels, val2.Pixels) || !slices.Equal(tr.Pixels, tr2.Pixels) {
		t.Error("same seed, different split")
	}
	_, val3 := ValidationSplit(s, 0.1, 10)
	if slices.Equal(val.Pixels, val3.Pixels) {
		t.Error("seeds 9 and 10 give the same split")
	}
	for _, c := range []struct {
		f            float64
		train, valid int
	}{{0, 87, 0}, {-1, 87, 0}, {math.NaN(), 87, 0}, {1, 0, 87}, {2, 0, 87}} {
		a, b := ValidationSplit(s, c.f, 1)
		if a.Len() != c.train || b.Len() != c.valid {
			t.Errorf("fraction %v: %d + %d", c.f, a.Len(), b.Len())
		}
	}
	a, b := ValidationSplit(nil, 0.5, 1)
	if a.Len() != 0 || b.Len() != 0 {
		t.Error("nil split")
	}
}

// BenchmarkLoaderCIFAR measures batch assembly for CIFAR-10-like data with
// the usual augmentation (pad 4, crop, flip).
func BenchmarkLoaderCIFAR(b *testing.B) {
	benchLoader(b, randomSplit(5000, 32, 32, 3, 10, 1), Output{})
}

// BenchmarkLoaderFashionTo32RGB measures Fashion-MNIST-like 28×28 gray
// images resized to 32×32 and replicated to RGB, with crop and flip.
func BenchmarkLoaderFashionTo32RGB(b *testing.B) {
	benchLoader(b, randomSplit(5000, 28, 28, 1, 10, 1), Output{H: 32, W: 32, C: 3})
}

func benchLoader(b *testing.B, s *Split, o Output) {
	l, err := NewLoader(s, 128, 1, Augment{Pad: 4, Flip: true})
	if err != nil {
		b.Fatal(err)
	}
	if l, err = l.WithOutput(o); err != nil {
		b.Fatal(err)
	}
	images := 0
	var sink *nn.Tensor
	for b.Loop() {
		for x := range l.Epoch(images) {
			images += x.N
			sink = x
		}
	}
	_ = sink
	b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "images/s")
}

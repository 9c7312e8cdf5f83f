package dataset

import (
	"bytes"
	"compress/gzip"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// openFashion opens the Debian-installed Fashion-MNIST or skips.
func openFashion(tb testing.TB) *Dataset {
	tb.Helper()
	if _, err := os.Stat(filepath.Join(DefaultFashionMNISTDir, "train-images-idx3-ubyte.gz")); err != nil {
		tb.Skipf("Fashion-MNIST is not installed in %s (apt-get install dataset-fashion-mnist): %v", DefaultFashionMNISTDir, err)
	}
	d, err := Open(DefaultSpec)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// TestFashionMNIST checks the real data set against published facts: sizes,
// a perfectly balanced label histogram, the mean and standard deviation
// every Fashion-MNIST tutorial normalises with, the first labels, and the
// pixel bytes against an independent read of the raw file.
func TestFashionMNIST(t *testing.T) {
	start := time.Now()
	d := openFashion(t)
	t.Logf("opened Fashion-MNIST (train and test) in %v", time.Since(start))

	if d.Name != "fashion-mnist" || d.H != 28 || d.W != 28 || d.C != 1 || len(d.Classes) != 10 {
		t.Fatalf("got %s %dx%dx%d with %d classes, want fashion-mnist 28x28x1 with 10", d.Name, d.H, d.W, d.C, len(d.Classes))
	}
	if d.Classes[0] != "T-shirt/top" || d.Classes[9] != "Ankle boot" {
		t.Errorf("classes %q", d.Classes)
	}
	for _, c := range []struct {
		name      string
		s         *Split
		n, per    int
		mean, std float64
		first     []int
		pixelSum0 int
	}{
		// Published: 60,000 + 10,000 images, 6,000 + 1,000 per class,
		// training pixels mean 0.2860 and std 0.3530 (x/255). Test-split
		// statistics, first labels and first-image pixel sums were computed
		// independently with Python's gzip module.
		{"train", d.Train, 60000, 6000, 0.2860, 0.3530, []int{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}, 76247},
		{"test", d.Test, 10000, 1000, 0.2868, 0.3524, []int{9, 2, 1, 1, 6, 1, 4, 6, 5, 7}, 33456},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := c.s
			if s.Len() != c.n || len(s.Pixels) != c.n*28*28 || s.H != 28 || s.W != 28 || s.C != 1 {
				t.Fatalf("%d images, %d bytes, %dx%dx%d", s.Len(), len(s.Pixels), s.H, s.W, s.C)
			}
			for l, k := range s.Histogram(10) {
				if k != c.per {
					t.Errorf("class %d has %d images, want %d", l, k, c.per)
				}
			}
			mean, std := s.MeanStd()
			t.Logf("%s: mean %.4f std %.4f", c.name, mean[0], std[0])
			if math.Abs(mean[0]-c.mean) > 1e-4 || math.Abs(std[0]-c.std) > 1e-4 {
				t.Errorf("mean %.5f std %.5f, want %.4f and %.4f", mean[0], std[0], c.mean, c.std)
			}
			if got := s.Labels[:10]; !slices.Equal(got, c.first) {
				t.Errorf("first labels %v, want %v", got, c.first)
			}
			sum := 0
			for _, v := range s.Image(0) {
				sum += int(v)
			}
			if sum != c.pixelSum0 {
				t.Errorf("first image's pixels sum to %d, want %d", sum, c.pixelSum0)
			}
		})
	}

	// The pixels must be the raw file's bytes after its 16-byte header.
	f, err := os.Open(filepath.Join(DefaultFashionMNISTDir, "t10k-images-idx3-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw[16:], d.Test.Pixels) {
		t.Error("test pixels differ from the raw file's bytes")
	}

	// Fed to a 32x32 RGB network: shape, range and channel replication.
	l, err := NewLoader(d.Train, 128, 1, Augment{Pad: 4})
	if err != nil {
		t.Fatal(err)
	}
	l, err = l.WithOutput(Output{H: 32, W: 32, C: 3})
	if err != nil {
		t.Fatal(err)
	}
	if l.NumBatches() != 468 {
		t.Errorf("%d batches of 128 from 60000, want 468 (last partial dropped)", l.NumBatches())
	}
	for x, labels := range l.Epoch(0) {
		if x.N != 128 || x.H != 32 || x.W != 32 || x.C != 3 || len(labels) != 128 {
			t.Fatalf("batch %dx%dx%dx%d, %d labels", x.N, x.H, x.W, x.C, len(labels))
		}
		for i := 0; i < len(x.Data); i += 3 {
			v := x.Data[i]
			if v < -1 || v > 1 || x.Data[i+1] != v || x.Data[i+2] != v {
				t.Fatalf("element %d: %v %v %v", i, v, x.Data[i+1], x.Data[i+2])
			}
		}
		break
	}
}

// BenchmarkOpenFashionMNIST times reading and decompressing both splits.
func BenchmarkOpenFashionMNIST(b *testing.B) {
	openFashion(b)
	for b.Loop() {
		if _, err := Open(DefaultSpec); err != nil {
			b.Fatal(err)
		}
	}
}

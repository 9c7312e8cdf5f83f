// Package dataset loads the image-classification data that fleetnas trains
// candidate networks on — IDX files (MNIST, Fashion-MNIST), the CIFAR-10
// binary version and a folder of PNG/JPEG images, one sub-folder per class —
// and turns it into shuffled, augmented float32 batches for package nn.
//
// Everything is held in memory as uint8 NHWC pixels: the data sets meant
// here are small (Fashion-MNIST is 55 MB), and uint8 storage is four times
// smaller than float32 while conversion per batch costs little next to a
// training step.
//
// Determinism is a design goal, because a search compares rewards of
// networks trained on "the same" data: the order of an epoch depends only on
// (seed, epoch), the augmentation of an example only on (seed, epoch,
// example index), and neither on the number of cores or on how goroutines
// are scheduled. The random streams are built from math/rand/v2's PCG (whose
// output the Go project fixes) and a SplitMix64 hash, not from Shuffle or
// IntN, whose algorithms are not promised to stay the same across Go
// releases.
package dataset

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
)

// ErrCorrupt is wrapped by every error about a data file that exists but
// cannot be right (bad magic number, truncated, counts that disagree, label
// out of range, undecodable image), so that callers can tell "get the data"
// from "the data you have is broken" with errors.Is. A missing file wraps
// fs.ErrNotExist instead.
var ErrCorrupt = errors.New("corrupt data set")

// notFoundError is a missing data set or file: it matches fs.ErrNotExist
// with errors.Is but does not append "file does not exist" after the
// instructions on how to get the data, which should end the message.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }
func (e *notFoundError) Unwrap() error { return fs.ErrNotExist }

// notFound formats a notFoundError.
func notFound(format string, args ...any) error {
	return &notFoundError{fmt.Sprintf(format, args...)}
}

// Dataset is a classification data set with its train and test splits.
// H, W and C (height, width, channels) are the same for every image of both
// splits, so that a network's input size can be checked once.
type Dataset struct {
	// Name is the format's name as in a spec ("fashion-mnist", "cifar10",
	// ...); with Dir it says in logs and reports what was trained on.
	Name string
	// Dir is the directory the files were read from.
	Dir string
	// Classes names the labels: label i is Classes[i].
	Classes []string
	// Train and Test are the published splits (or, for a single-tree image
	// folder, a seeded stratified split; see OpenFolder). Search rewards
	// should come from ValidationSplit(Train, ...), keeping Test untouched
	// for the final report.
	Train, Test *Split
	// H, W and C repeat the splits' image size, what a network's input
	// layer is checked against.
	H, W, C int
}

// Split is a set of labelled images stored compactly: Pixels holds Len()
// images of H×W×C bytes each in NHWC order (row-major, channels last, as
// nn.Tensor), and Labels[i] in [0, number of classes) is image i's class.
type Split struct {
	H, W, C int
	Pixels  []uint8
	Labels  []int
}

// Len is the number of images.
func (s *Split) Len() int {
	if s == nil {
		return 0
	}
	return len(s.Labels)
}

// Image returns image i's H×W×C bytes, sharing storage with the split so
// that reading an image costs no copy.
func (s *Split) Image(i int) []uint8 {
	n := s.H * s.W * s.C
	return s.Pixels[i*n : (i+1)*n : (i+1)*n]
}

// Histogram counts the images of each label in [0, classes); labels outside
// that range are not counted. It is how tests and reports check that a split
// is balanced.
func (s *Split) Histogram(classes int) []int {
	h := make([]int, max(classes, 0))
	for _, l := range s.Labels {
		if l >= 0 && l < classes {
			h[l]++
		}
	}
	return h
}

// MeanStd returns the per-channel mean and standard deviation of the pixels
// scaled to [0, 1] (x/255), the numbers data-set papers publish, so that a
// loaded data set can be checked against them.
func (s *Split) MeanStd() (mean, std []float64) {
	c := s.C
	mean, std = make([]float64, c), make([]float64, c)
	if c <= 0 || len(s.Pixels) == 0 {
		return mean, std
	}
	// Exact integer sums per channel: a histogram avoids float rounding
	// over tens of millions of pixels.
	hist := make([][256]uint64, c)
	for i, v := range s.Pixels {
		hist[i%c][v]++
	}
	for ch := range c {
		var n, sum, sq uint64
		for v, k := range hist[ch] {
			n += k
			sum += k * uint64(v)
			sq += k * uint64(v) * uint64(v)
		}
		m := float64(sum) / float64(n)
		varc := float64(sq)/float64(n) - m*m
		mean[ch] = m / 255
		std[ch] = math.Sqrt(max(varc, 0)) / 255
	}
	return mean, std
}

// validate reports whether the split's fields agree with each other, so
// that a hand-built Split gives an error rather than an index panic.
func (s *Split) validate() error {
	if s == nil {
		return errors.New("dataset: nil split")
	}
	if s.H <= 0 || s.W <= 0 || s.C <= 0 {
		return fmt.Errorf("dataset: split has image size %dx%dx%d", s.H, s.W, s.C)
	}
	if len(s.Pixels) != len(s.Labels)*s.H*s.W*s.C {
		return fmt.Errorf("dataset: split has %d pixel bytes for %d images of %dx%dx%d",
			len(s.Pixels), len(s.Labels), s.H, s.W, s.C)
	}
	return nil
}

// subset copies the images at idx (in that order) into a new split.
func (s *Split) subset(idx []int) *Split {
	n := s.H * s.W * s.C
	out := &Split{H: s.H, W: s.W, C: s.C,
		Pixels: make([]uint8, 0, len(idx)*n), Labels: make([]int, 0, len(idx))}
	for _, i := range idx {
		out.Pixels = append(out.Pixels, s.Image(i)...)
		out.Labels = append(out.Labels, s.Labels[i])
	}
	return out
}

// checkLabels returns an error naming file if a label is outside
// [0, classes).
func checkLabels(labels []int, classes int, file string) error {
	for i, l := range labels {
		if l < 0 || l >= classes {
			return fmt.Errorf("dataset: %s: label %d of record %d is outside 0..%d: %w",
				file, l, i, classes-1, ErrCorrupt)
		}
	}
	return nil
}

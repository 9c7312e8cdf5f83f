package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// FashionMNISTClasses returns Fashion-MNIST's label names in label order,
// as published by Zalando Research. It is a function, not a variable, so
// that no caller can change the names another caller sees.
func FashionMNISTClasses() []string {
	return []string{
		"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
		"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
	}
}

// maxDataBytes bounds how much one data file may decompress to, so that a
// gzip bomb fails with an error instead of exhausting memory. It is far
// above any data set this package is meant for (CIFAR-10's largest file is
// 30 MB, Fashion-MNIST's 47 MB).
const maxDataBytes = 4 << 30

// IDX magic numbers: two zero bytes, the element type (0x08 = unsigned
// byte, the only type image data sets use) and the number of dimensions.
const (
	idxUbyte      = 0x08
	idxMagicImage = 0x00000803
	idxMagicLabel = 0x00000801
)

// ParseIDX decodes an IDX file held in memory: it returns the dimensions
// and the element bytes (sharing data's storage). Only unsigned-byte
// elements are supported, and the element count must match the dimensions
// exactly: a truncated file or one with trailing bytes is an error, since
// either means it is not the file it claims to be.
func ParseIDX(data []byte) (dims []int, body []byte, err error) {
	if len(data) < 4 {
		return nil, nil, fmt.Errorf("%d bytes, shorter than the 4-byte IDX magic number: %w", len(data), ErrCorrupt)
	}
	magic := binary.BigEndian.Uint32(data)
	if data[0] != 0 || data[1] != 0 || data[3] == 0 {
		return nil, nil, fmt.Errorf("bad IDX magic number 0x%08x (want 0x%08x for images, 0x%08x for labels): %w",
			magic, idxMagicImage, idxMagicLabel, ErrCorrupt)
	}
	if data[2] != idxUbyte {
		return nil, nil, fmt.Errorf("IDX element type 0x%02x is not unsigned byte (0x08): %w", data[2], ErrCorrupt)
	}
	nd := int(data[3])
	hdr := 4 + 4*nd
	if len(data) < hdr {
		return nil, nil, fmt.Errorf("truncated IDX header: %d bytes, %d-dimensional header needs %d: %w",
			len(data), nd, hdr, ErrCorrupt)
	}
	body = data[hdr:]
	dims = make([]int, nd)
	size := uint64(1)
	for i := range dims {
		d := binary.BigEndian.Uint32(data[4+4*i:])
		dims[i] = int(d)
		// Saturate instead of overflowing: anything above len(body) is an
		// error below anyway.
		if d != 0 && size > uint64(len(body))/uint64(d) {
			size = uint64(len(body)) + 1
		} else {
			size *= uint64(d)
		}
	}
	switch {
	case size > uint64(len(body)):
		return nil, nil, fmt.Errorf("truncated: dimensions %v need %s bytes of data, file has %d: %w",
			dims, idxSize(dims), len(body), ErrCorrupt)
	case size < uint64(len(body)):
		return nil, nil, fmt.Errorf("%d trailing bytes after the %d that dimensions %v describe: %w",
			uint64(len(body))-size, size, dims, ErrCorrupt)
	}
	return dims, body, nil
}

// idxSize is the product of dims as a decimal string, exact even where it
// would overflow an int, for error messages.
func idxSize(dims []int) string {
	var s uint64 = 1
	for _, d := range dims {
		hi, lo := bits.Mul64(s, uint64(d))
		if hi != 0 {
			return "more than 2^64"
		}
		s = lo
	}
	return strconv.FormatUint(s, 10)
}

// readData reads a whole data file, transparently gunzipping it when it
// starts with the gzip magic bytes (so "x.gz" that was gunzipped in place,
// or a plain file named ".gz", both work). The uncompressed size, when the
// file says it, sizes the buffer up front: reading Fashion-MNIST's 47 MB
// without the doubling copies of io.ReadAll is measurably faster.
func readData(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, 1<<16)
	head, _ := br.Peek(2)
	if len(head) < 2 || head[0] != 0x1f || head[1] != 0x8b {
		return readAllHint(br, st.Size())
	}
	// The gzip trailer's ISIZE is the uncompressed size mod 2^32: a hint
	// only, never trusted for correctness.
	var hint int64
	if st.Size() >= 18 {
		var tail [4]byte
		if _, err := f.ReadAt(tail[:], st.Size()-4); err == nil {
			hint = int64(binary.LittleEndian.Uint32(tail[:]))
		}
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("bad gzip stream: %v: %w", err, ErrCorrupt)
	}
	data, err := readAllHint(zr, hint)
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		return nil, fmt.Errorf("bad gzip stream: %v: %w", err, ErrCorrupt)
	}
	return data, nil
}

// readAllHint is io.ReadAll with an initial capacity and the maxDataBytes
// bound.
func readAllHint(r io.Reader, hint int64) ([]byte, error) {
	if hint < 512 || hint > maxDataBytes {
		hint = 512
	}
	var buf bytes.Buffer
	buf.Grow(int(hint) + 1) // +1: ReadFrom needs room to see EOF without growing
	n, err := buf.ReadFrom(io.LimitReader(r, maxDataBytes+1))
	if err != nil {
		return nil, err
	}
	if n > maxDataBytes {
		return nil, fmt.Errorf("more than %d bytes of data: %w", int64(maxDataBytes), ErrCorrupt)
	}
	return buf.Bytes(), nil
}

// idxNames are the accepted spellings of each of the four IDX files: the
// published names, gzipped or not, and the dotted variant some mirrors use.
func idxNames(base string) []string {
	dotted := base[:len(base)-len("-idx3-ubyte")] + "." + base[len(base)-len("idx3-ubyte"):]
	return []string{base + ".gz", base, dotted + ".gz", dotted}
}

// findFile returns the first of names present in dir.
func findFile(dir string, names []string) (string, bool) {
	for _, n := range names {
		p := filepath.Join(dir, n)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, true
		}
	}
	return "", false
}

// checkDir returns an error that says how to get the data when dir is not
// a readable directory.
func checkDir(dir, format string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return notFound("dataset: %s: directory %s does not exist; %s", format, dir, howToGet(format))
	case err != nil:
		return fmt.Errorf("dataset: %s: %w", format, err)
	case !st.IsDir():
		return fmt.Errorf("dataset: %s: %s is not a directory; %s", format, dir, howToGet(format))
	}
	return nil
}

// OpenIDX reads a data set in MNIST's four-file IDX layout from dir:
// train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte
// and t10k-labels-idx1-ubyte, each possibly gzipped (".gz") and also
// accepted with a dot before "idx". name is the Dataset's Name and names the
// format in errors. classes names the labels; nil means as many as the
// largest label + 1, named "0", "1", .... Images may be 3-dimensional
// (N, H, W; one channel) or 4-dimensional (N, H, W, C).
func OpenIDX(dir, name string, classes []string) (*Dataset, error) {
	if err := checkDir(dir, name); err != nil {
		return nil, err
	}
	bases := [4]string{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}
	var paths [4]string
	for i, b := range bases {
		p, ok := findFile(dir, idxNames(b))
		if !ok {
			return nil, notFound("dataset: %s: %s not found in %s; %s",
				name, b+"[.gz]", dir, howToGet(name))
		}
		paths[i] = p
	}
	// The four files decode in parallel: gunzipping dominates and they are
	// independent. Errors are reported in file order, not finishing order.
	var (
		dims   [4][]int
		bodies [4][]byte
		errs   [4]error
		wg     sync.WaitGroup
	)
	for i := range paths {
		wg.Go(func() {
			data, err := readData(paths[i])
			if err == nil {
				dims[i], bodies[i], err = ParseIDX(data)
			}
			if err != nil {
				errs[i] = fmt.Errorf("dataset: %s: %s: %w", name, paths[i], err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	train, err := idxSplit(dims[0], bodies[0], dims[1], bodies[1], paths[0], paths[1])
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", name, err)
	}
	test, err := idxSplit(dims[2], bodies[2], dims[3], bodies[3], paths[2], paths[3])
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", name, err)
	}
	if train.H != test.H || train.W != test.W || train.C != test.C {
		return nil, fmt.Errorf("dataset: %s: train images are %dx%dx%d but test images %dx%dx%d: %w",
			name, train.H, train.W, train.C, test.H, test.W, test.C, ErrCorrupt)
	}
	if classes == nil {
		n := 0
		for _, s := range []*Split{train, test} {
			for _, l := range s.Labels {
				n = max(n, l+1)
			}
		}
		classes = digitClasses(n)
	}
	if err := checkLabels(train.Labels, len(classes), paths[1]); err != nil {
		return nil, err
	}
	if err := checkLabels(test.Labels, len(classes), paths[3]); err != nil {
		return nil, err
	}
	return &Dataset{Name: name, Dir: dir, Classes: append([]string(nil), classes...),
		Train: train, Test: test, H: train.H, W: train.W, C: train.C}, nil
}

// idxSplit pairs an images file with a labels file.
func idxSplit(imDims []int, im []byte, lbDims []int, lb []byte, imPath, lbPath string) (*Split, error) {
	if len(imDims) != 3 && len(imDims) != 4 {
		return nil, fmt.Errorf("%s: images must have 3 (N, H, W) or 4 (N, H, W, C) dimensions, not %d: %w", imPath, len(imDims), ErrCorrupt)
	}
	if len(lbDims) != 1 {
		return nil, fmt.Errorf("%s: labels must have 1 dimension, not %d: %w", lbPath, len(lbDims), ErrCorrupt)
	}
	s := &Split{H: imDims[1], W: imDims[2], C: 1, Pixels: im}
	if len(imDims) == 4 {
		s.C = imDims[3]
	}
	if s.H == 0 || s.W == 0 || s.C == 0 {
		return nil, fmt.Errorf("%s: empty image size %v: %w", imPath, imDims, ErrCorrupt)
	}
	if imDims[0] != lbDims[0] {
		return nil, fmt.Errorf("%s has %d images but %s has %d labels: %w", imPath, imDims[0], lbPath, lbDims[0], ErrCorrupt)
	}
	if imDims[0] == 0 {
		return nil, fmt.Errorf("%s has no images: %w", imPath, ErrCorrupt)
	}
	s.Labels = make([]int, len(lb))
	for i, v := range lb {
		s.Labels[i] = int(v)
	}
	return s, nil
}

// digitClasses names n classes "0", "1", ....
func digitClasses(n int) []string {
	c := make([]string, n)
	for i := range c {
		c[i] = strconv.Itoa(i)
	}
	return c
}

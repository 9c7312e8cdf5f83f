package dataset

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// DefaultTestFraction is the share of each class an image folder without
// train/ and test/ sub-folders holds out as its test split: 20%, the usual
// choice when a data set ships without one.
const DefaultTestFraction = 0.2

// FolderOptions adjusts OpenFolder. The zero value is what "folder:DIR"
// uses.
type FolderOptions struct {
	// TestFraction is the share of each class held out as the test split
	// when DIR has no train/ sub-folder; 0 means DefaultTestFraction. It
	// must be in [0, 1).
	TestFraction float64
	// Seed draws that test split (see ValidationSplit, which it shares).
	Seed uint64
	// H and W, when both set, are the size every image is resized to
	// (bilinearly). Zero means the size of the first training image (the
	// first file, in name order, of the first class, in name order); images
	// of another size are resized to it.
	H, W int
}

// imageFile is one image to decode and its label.
type imageFile struct {
	path  string
	label int
}

// OpenFolder reads a data set of PNG and JPEG images laid out one
// sub-folder per class, the class names being the sub-folder names sorted
// (so label i is the i-th name in byte order). Two layouts are accepted:
//
//   - DIR/train/CLASS/* and DIR/test/CLASS/* (DIR/val/ is accepted for
//     test/): the splits are used as given; test/ may lack classes but may
//     not add any.
//   - DIR/CLASS/*: the test split is opt.TestFraction of every class, drawn
//     with opt.Seed as ValidationSplit draws, so the same seed gives the same
//     split on any machine.
//
// Files are recognised by content (PNG or JPEG signature) among those named
// *.png, *.jpg or *.jpeg in any letter case; other files and names starting
// with "." are skipped, so that stray READMEs or .DS_Store files do no harm.
// Images are stored with one channel when every image is grayscale, three
// (RGB, alpha dropped) otherwise. Decoding runs on all cores; the result
// does not depend on their number.
func OpenFolder(dir string, opt FolderOptions) (*Dataset, error) {
	if err := checkDir(dir, FormatFolder); err != nil {
		return nil, err
	}
	if opt.TestFraction < 0 || opt.TestFraction >= 1 || opt.TestFraction != opt.TestFraction {
		return nil, fmt.Errorf("dataset: folder: test fraction %v is not in [0, 1)", opt.TestFraction)
	}
	if opt.H < 0 || opt.W < 0 || (opt.H == 0) != (opt.W == 0) {
		return nil, fmt.Errorf("dataset: folder: image size %dx%d: give both or neither", opt.H, opt.W)
	}
	frac := opt.TestFraction
	if frac == 0 {
		frac = DefaultTestFraction
	}

	trainRoot, testRoot := dir, ""
	if isDir(filepath.Join(dir, "train")) {
		trainRoot = filepath.Join(dir, "train")
		for _, t := range []string{"test", "val"} {
			if p := filepath.Join(dir, t); isDir(p) {
				testRoot = p
				break
			}
		}
		if testRoot == "" {
			return nil, notFound("dataset: folder: %s has train/ but neither test/ nor val/; %s",
				dir, howToGet(FormatFolder))
		}
	}
	classes, err := subdirs(trainRoot)
	if err != nil {
		return nil, fmt.Errorf("dataset: folder: %w", err)
	}
	if len(classes) == 0 {
		return nil, notFound("dataset: folder: %s has no class sub-folders; %s",
			trainRoot, howToGet(FormatFolder))
	}
	label := make(map[string]int, len(classes))
	for i, c := range classes {
		label[c] = i
	}
	var trainFiles, testFiles []imageFile
	for i, c := range classes {
		found, err := listImages(filepath.Join(trainRoot, c), i)
		if err != nil {
			return nil, fmt.Errorf("dataset: folder: %w", err)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("dataset: folder: class folder %s has no .png/.jpg/.jpeg images: %w",
				filepath.Join(trainRoot, c), ErrCorrupt)
		}
		trainFiles = append(trainFiles, found...)
	}
	if testRoot != "" {
		tc, err := subdirs(testRoot)
		if err != nil {
			return nil, fmt.Errorf("dataset: folder: %w", err)
		}
		for _, c := range tc {
			l, ok := label[c]
			if !ok {
				return nil, fmt.Errorf("dataset: folder: %s is a class the training folder %s lacks: %w",
					filepath.Join(testRoot, c), trainRoot, ErrCorrupt)
			}
			found, err := listImages(filepath.Join(testRoot, c), l)
			if err != nil {
				return nil, fmt.Errorf("dataset: folder: %w", err)
			}
			testFiles = append(testFiles, found...)
		}
		if len(testFiles) == 0 {
			return nil, fmt.Errorf("dataset: folder: %s holds no images: %w", testRoot, ErrCorrupt)
		}
	}

	all := append(append([]imageFile(nil), trainFiles...), testFiles...)
	cfgs, err := parallelMap(all, func(f imageFile) (image.Config, error) {
		_, cfg, err := openImage(f.path, true)
		return cfg, err
	})
	if err != nil {
		return nil, err
	}
	h, w := opt.H, opt.W
	if h == 0 {
		h, w = cfgs[0].Height, cfgs[0].Width
	}
	c := 1
	for _, cf := range cfgs {
		if cf.ColorModel != color.GrayModel && cf.ColorModel != color.Gray16Model {
			c = 3
			break
		}
	}
	load := func(files []imageFile) (*Split, error) {
		s := &Split{H: h, W: w, C: c, Pixels: make([]uint8, len(files)*h*w*c), Labels: make([]int, len(files))}
		n := h * w * c
		idx := make([]int, len(files))
		for i := range idx {
			idx[i] = i
		}
		_, err := parallelMap(idx, func(i int) (struct{}, error) {
			s.Labels[i] = files[i].label
			return struct{}{}, decodeInto(files[i].path, s.Pixels[i*n:(i+1)*n], h, w, c)
		})
		return s, err
	}
	train, err := load(trainFiles)
	if err != nil {
		return nil, err
	}
	var test *Split
	if testRoot != "" {
		if test, err = load(testFiles); err != nil {
			return nil, err
		}
	} else {
		keep, held := stratifiedSplit(train.Labels, frac, opt.Seed, streamFolderTest)
		if len(keep) == 0 || len(held) == 0 {
			return nil, fmt.Errorf("dataset: folder: %s: %d images are too few to hold out a %.0f%% test split: %w",
				dir, train.Len(), 100*frac, ErrCorrupt)
		}
		train, test = train.subset(keep), train.subset(held)
	}
	return &Dataset{Name: FormatFolder, Dir: dir, Classes: classes, Train: train, Test: test, H: h, W: w, C: c}, nil
}

// subdirs lists dir's non-hidden sub-directories in name order.
func subdirs(dir string) ([]string, error) {
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range es {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// listImages lists dir's image files in name order.
func listImages(dir string, label int) ([]imageFile, error) {
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []imageFile
	for _, e := range es {
		name := e.Name()
		switch strings.ToLower(filepath.Ext(name)) {
		case ".png", ".jpg", ".jpeg":
		default:
			continue
		}
		if strings.HasPrefix(name, ".") || e.IsDir() {
			continue
		}
		out = append(out, imageFile{path: filepath.Join(dir, name), label: label})
	}
	return out, nil
}

// openImage decodes the image at path, or only its header (configOnly). It
// sniffs the format from the content, so that a JPEG named .png still loads
// and a text file named .png is reported as what it is.
func openImage(path string, configOnly bool) (image.Image, image.Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, image.Config{}, fmt.Errorf("dataset: folder: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	head, _ := br.Peek(8)
	var (
		decode func(io.Reader) (image.Image, error)
		config func(io.Reader) (image.Config, error)
	)
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		decode, config = png.Decode, png.DecodeConfig
	case bytes.HasPrefix(head, []byte{0xff, 0xd8}):
		decode, config = jpeg.Decode, jpeg.DecodeConfig
	default:
		return nil, image.Config{}, fmt.Errorf("dataset: folder: %s is neither PNG nor JPEG: %w", path, ErrCorrupt)
	}
	if configOnly {
		cfg, err := config(br)
		if err == nil && (cfg.Width <= 0 || cfg.Height <= 0) {
			err = errors.New("empty image")
		}
		if err != nil {
			return nil, image.Config{}, fmt.Errorf("dataset: folder: %s: unreadable image: %v: %w", path, err, ErrCorrupt)
		}
		return nil, cfg, nil
	}
	img, err := decode(br)
	if err == nil && img.Bounds().Empty() {
		err = errors.New("empty image")
	}
	if err != nil {
		return nil, image.Config{}, fmt.Errorf("dataset: folder: %s: unreadable image: %v: %w", path, err, ErrCorrupt)
	}
	return img, image.Config{}, nil
}

// decodeInto decodes path into dst as an h×w×c image, resizing bilinearly
// when the file has another size.
func decodeInto(path string, dst []uint8, h, w, c int) error {
	img, _, err := openImage(path, false)
	if err != nil {
		return err
	}
	b := img.Bounds()
	ih, iw := b.Dy(), b.Dx()
	buf := dst
	if ih != h || iw != w {
		buf = make([]uint8, ih*iw*c)
	}
	toPixels(img, buf, c)
	if ih != h || iw != w {
		resizeU8(buf, ih, iw, c, dst, h, w)
	}
	return nil
}

// toPixels writes img as HWC bytes with c (1 or 3) channels: gray images
// are replicated to RGB, colour images reduced to gray with Go's luminance
// weights (color.GrayModel), alpha is dropped.
func toPixels(img image.Image, dst []uint8, c int) {
	b := img.Bounds()
	i := 0
	switch m := img.(type) {
	case *image.Gray:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y):][:b.Dx()]
			for _, v := range row {
				for range c {
					dst[i] = v
					i++
				}
			}
		}
		return
	case *image.YCbCr:
		if c == 3 {
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					yi, ci := m.YOffset(x, y), m.COffset(x, y)
					dst[i], dst[i+1], dst[i+2] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
					i += 3
				}
			}
			return
		}
	case *image.NRGBA:
		if c == 3 {
			for y := b.Min.Y; y < b.Max.Y; y++ {
				row := m.Pix[m.PixOffset(b.Min.X, y):][:4*b.Dx()]
				for p := 0; p < len(row); p += 4 {
					dst[i], dst[i+1], dst[i+2] = row[p], row[p+1], row[p+2]
					i += 3
				}
			}
			return
		}
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			px := img.At(x, y)
			if c == 1 {
				dst[i] = color.GrayModel.Convert(px).(color.Gray).Y
				i++
				continue
			}
			n := color.NRGBAModel.Convert(px).(color.NRGBA)
			dst[i], dst[i+1], dst[i+2] = n.R, n.G, n.B
			i += 3
		}
	}
}

// parallelMap applies f to every item on all cores and returns the results
// in item order, or the error of the first failing item in item order (not
// the first to fail in time), so that errors are reproducible.
func parallelMap[T, R any](items []T, f func(T) (R, error)) ([]R, error) {
	out := make([]R, len(items))
	errs := make([]error, len(items))
	workers := min(runtime.GOMAXPROCS(0), len(items))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(items); i += workers {
				out[i], errs[i] = f(items[i])
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

package dataset

import (
	"fmt"
	"strings"
)

// DefaultFashionMNISTDir is where Debian's dataset-fashion-mnist package
// installs the four gzipped IDX files; the bare spec "fashion-mnist" reads
// from it so that a fresh Debian machine needs one apt-get and no download.
const DefaultFashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// DefaultSpec is the data a training command uses when given none: the one
// real data set a Debian machine can install from its own archive.
const DefaultSpec = "fashion-mnist"

// SpecHelp describes the --data spec strings, for a command's --help.
const SpecHelp = `data set to train on:
  fashion-mnist        Fashion-MNIST from ` + DefaultFashionMNISTDir + ` (apt-get install dataset-fashion-mnist)
  fashion-mnist:DIR    Fashion-MNIST IDX files in DIR
  mnist:DIR            MNIST IDX files in DIR
  idx:DIR              any data set in the MNIST four-file IDX layout (classes named 0..N-1)
  cifar10:DIR          CIFAR-10 binary version (data_batch_1..5.bin, test_batch.bin) in DIR
  folder:DIR           PNG/JPEG images: DIR/train/CLASS/*, DIR/test/CLASS/* (or DIR/val/CLASS/*),
                       or DIR/CLASS/* split 80/20 into train/test by a fixed seed`

// Format names the supported data-set formats, as spelled in a spec.
const (
	FormatFashionMNIST = "fashion-mnist"
	FormatMNIST        = "mnist"
	FormatIDX          = "idx"
	FormatCIFAR10      = "cifar10"
	FormatFolder       = "folder"
)

// Spec is a parsed --data string: a format and the directory holding it.
type Spec struct {
	// Format is one of the Format* constants.
	Format string
	// Dir is the directory; empty only for fashion-mnist, which then means
	// DefaultFashionMNISTDir.
	Dir string
}

// ParseSpec parses "FORMAT" or "FORMAT:DIR" (see SpecHelp). Only the first
// colon separates, so DIR may itself contain colons.
func ParseSpec(s string) (Spec, error) {
	format, dir, hasDir := strings.Cut(strings.TrimSpace(s), ":")
	format = strings.ToLower(format)
	switch format {
	case "cifar-10":
		format = FormatCIFAR10
	case "fashion_mnist", "fashionmnist":
		format = FormatFashionMNIST
	}
	switch format {
	case FormatFashionMNIST:
		if hasDir && dir == "" {
			return Spec{}, fmt.Errorf("dataset: spec %q: empty directory (use plain %q for %s)", s, FormatFashionMNIST, DefaultFashionMNISTDir)
		}
		return Spec{Format: format, Dir: dir}, nil
	case FormatMNIST, FormatIDX, FormatCIFAR10, FormatFolder:
		if dir == "" {
			return Spec{}, fmt.Errorf("dataset: spec %q needs a directory: %s:DIR (%s)", s, format, howToGet(format))
		}
		return Spec{Format: format, Dir: dir}, nil
	case "":
		return Spec{}, fmt.Errorf("dataset: empty data spec; try %q", DefaultSpec)
	default:
		return Spec{}, fmt.Errorf("dataset: unknown data format %q in %q; known: fashion-mnist, mnist, idx, cifar10, folder", format, s)
	}
}

// String gives the spec back in the form ParseSpec reads.
func (s Spec) String() string {
	if s.Dir == "" {
		return s.Format
	}
	return s.Format + ":" + s.Dir
}

// Open reads the data set a spec names (see SpecHelp), with the default
// options of each format.
func Open(spec string) (*Dataset, error) {
	s, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	return s.Open()
}

// Open reads the data set the spec names.
func (s Spec) Open() (*Dataset, error) {
	switch s.Format {
	case FormatFashionMNIST:
		dir := s.Dir
		if dir == "" {
			dir = DefaultFashionMNISTDir
		}
		return OpenIDX(dir, FormatFashionMNIST, FashionMNISTClasses())
	case FormatMNIST:
		return OpenIDX(s.Dir, FormatMNIST, digitClasses(10))
	case FormatIDX:
		return OpenIDX(s.Dir, FormatIDX, nil)
	case FormatCIFAR10:
		return OpenCIFAR10(s.Dir)
	case FormatFolder:
		return OpenFolder(s.Dir, FolderOptions{})
	}
	return nil, fmt.Errorf("dataset: unknown data format %q", s.Format)
}

// howToGet says, per format, where the data comes from; every "not found"
// error ends with it so that the user is one step from a working command.
func howToGet(format string) string {
	switch format {
	case FormatFashionMNIST:
		return "on Debian/Ubuntu: apt-get install dataset-fashion-mnist, then use the data spec fashion-mnist; " +
			"or download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and " +
			"t10k-labels-idx1-ubyte.gz from https://github.com/zalandoresearch/fashion-mnist into DIR and use the data spec fashion-mnist:DIR"
	case FormatMNIST:
		return "download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and " +
			"t10k-labels-idx1-ubyte.gz from https://yann.lecun.com/exdb/mnist/ (or a mirror) into DIR and use the data spec mnist:DIR"
	case FormatIDX:
		return "put train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and " +
			"t10k-labels-idx1-ubyte (each optionally .gz) into DIR and use the data spec idx:DIR"
	case FormatCIFAR10:
		return "download the CIFAR-10 binary version (cifar-10-binary.tar.gz) from https://www.cs.toronto.edu/~kriz/cifar.html, " +
			"extract it with tar xzf and use the data spec cifar10:DIR/cifar-10-batches-bin"
	case FormatFolder:
		return "lay out images as DIR/train/CLASS/*.png|jpg and DIR/test/CLASS/*.png|jpg, " +
			"or DIR/CLASS/*.png|jpg to have a test split drawn, and use the data spec folder:DIR"
	}
	return "data specs: fashion-mnist[:DIR], mnist:DIR, idx:DIR, cifar10:DIR, folder:DIR"
}

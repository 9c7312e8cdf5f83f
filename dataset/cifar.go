package dataset

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// CIFAR-10 binary record layout: one label byte, then a 32×32 image as
// three 1024-byte planes (red, green, blue), each row-major.
const (
	cifarSide   = 32
	cifarPlane  = cifarSide * cifarSide
	cifarRecord = 1 + 3*cifarPlane
)

// CIFAR10Classes returns CIFAR-10's label names in label order (as in the
// archive's batches.meta.txt), used when that file is absent.
func CIFAR10Classes() []string {
	return []string{"airplane", "automobile", "bird", "cat", "deer",
		"dog", "frog", "horse", "ship", "truck"}
}

// ParseCIFAR10 decodes the records of one CIFAR-10 binary batch file held
// in memory into a 32×32×3 split, converting the planar (CHW) records to
// NHWC. A length that is not a whole number of 3073-byte records, an empty
// file or a label above 9 is an error.
func ParseCIFAR10(data []byte) (*Split, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("empty file: %w", ErrCorrupt)
	}
	if len(data)%cifarRecord != 0 {
		return nil, fmt.Errorf("%d bytes is not a whole number of %d-byte records (truncated?): %w",
			len(data), cifarRecord, ErrCorrupt)
	}
	n := len(data) / cifarRecord
	s := &Split{H: cifarSide, W: cifarSide, C: 3,
		Pixels: make([]uint8, n*3*cifarPlane), Labels: make([]int, n)}
	for i := range n {
		rec := data[i*cifarRecord : (i+1)*cifarRecord]
		if rec[0] > 9 {
			return nil, fmt.Errorf("record %d has label %d, CIFAR-10 labels are 0..9: %w", i, rec[0], ErrCorrupt)
		}
		s.Labels[i] = int(rec[0])
		r, g, b := rec[1:1+cifarPlane], rec[1+cifarPlane:1+2*cifarPlane], rec[1+2*cifarPlane:]
		out := s.Pixels[i*3*cifarPlane : (i+1)*3*cifarPlane]
		for p := range cifarPlane {
			out[3*p], out[3*p+1], out[3*p+2] = r[p], g[p], b[p]
		}
	}
	return s, nil
}

// OpenCIFAR10 reads the CIFAR-10 binary version from dir: data_batch_1.bin
// to data_batch_5.bin (the 50,000 training images) and test_batch.bin (the
// 10,000 test images). dir may also be the directory the archive was
// extracted in, holding cifar-10-batches-bin/. Class names come from
// batches.meta.txt when present.
func OpenCIFAR10(dir string) (*Dataset, error) {
	if err := checkDir(dir, FormatCIFAR10); err != nil {
		return nil, err
	}
	if sub := filepath.Join(dir, "cifar-10-batches-bin"); isDir(sub) {
		dir = sub
	}
	names := []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
		"data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"}
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = filepath.Join(dir, n)
		if st, err := os.Stat(paths[i]); err != nil || !st.Mode().IsRegular() {
			return nil, notFound("dataset: cifar10: %s not found; %s", paths[i], howToGet(FormatCIFAR10))
		}
	}
	splits := make([]*Split, len(paths))
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	for i := range paths {
		wg.Go(func() {
			data, err := readData(paths[i])
			if err == nil {
				splits[i], err = ParseCIFAR10(data)
			}
			if err != nil {
				errs[i] = fmt.Errorf("dataset: cifar10: %s: %w", paths[i], err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	train := concat(splits[:5])
	classes := CIFAR10Classes()
	if b, err := os.ReadFile(filepath.Join(dir, "batches.meta.txt")); err == nil {
		var meta []string
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				meta = append(meta, l)
			}
		}
		if len(meta) == len(classes) {
			classes = meta
		}
	}
	return &Dataset{Name: FormatCIFAR10, Dir: dir, Classes: classes,
		Train: train, Test: splits[5], H: cifarSide, W: cifarSide, C: 3}, nil
}

// concat joins splits of the same image size.
func concat(parts []*Split) *Split {
	out := &Split{H: parts[0].H, W: parts[0].W, C: parts[0].C}
	n, m := 0, 0
	for _, p := range parts {
		n += len(p.Pixels)
		m += len(p.Labels)
	}
	out.Pixels = make([]uint8, 0, n)
	out.Labels = make([]int, 0, m)
	for _, p := range parts {
		out.Pixels = append(out.Pixels, p.Pixels...)
		out.Labels = append(out.Labels, p.Labels...)
	}
	return out
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

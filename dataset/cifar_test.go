package dataset

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// cifarRecords makes n records whose label is (start+i)%10 and whose
// channel ch at pixel p is (start+i + 3p + ch) mod 256.
func cifarRecords(start, n int) []byte {
	var b []byte
	for i := range n {
		k := start + i
		b = append(b, byte(k%10))
		for ch := range 3 {
			for p := range cifarPlane {
				b = append(b, byte(k+3*p+ch))
			}
		}
	}
	return b
}

func writeCIFAR(t *testing.T, dir string) {
	for i := 1; i <= 5; i++ {
		writeFile(t, filepath.Join(dir, "data_batch_"+string(rune('0'+i))+".bin"), cifarRecords((i-1)*3, 3))
	}
	writeFile(t, filepath.Join(dir, "test_batch.bin"), cifarRecords(100, 4))
}

func TestCIFAR10(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "cifar-10-batches-bin")
	writeCIFAR(t, dir)
	writeFile(t, filepath.Join(dir, "batches.meta.txt"), []byte("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n"))
	// The archive's parent directory works as well as the batches directory.
	for _, spec := range []string{"cifar10:" + dir, "cifar-10:" + root} {
		d, err := Open(spec)
		if err != nil {
			t.Fatal(err)
		}
		if d.Train.Len() != 15 || d.Test.Len() != 4 || d.H != 32 || d.W != 32 || d.C != 3 || d.Dir != dir {
			t.Fatalf("%s: %d/%d images %dx%dx%d from %s", spec, d.Train.Len(), d.Test.Len(), d.H, d.W, d.C, d.Dir)
		}
		if d.Classes[9] != "j" {
			t.Errorf("classes %q", d.Classes)
		}
		// Image k (k = 7 lives in data_batch_3) at row 5, column 6: pixel
		// p = 5*32+6 is stored planar in the file and must come out HWC.
		k, p := 7, 5*32+6
		img := d.Train.Image(k)
		for ch := range 3 {
			if img[3*p+ch] != byte(k+3*p+ch) {
				t.Errorf("image %d pixel %d channel %d = %d", k, p, ch, img[3*p+ch])
			}
		}
		if d.Train.Labels[k] != 7 || d.Test.Labels[0] != 0 {
			t.Errorf("labels %v %v", d.Train.Labels, d.Test.Labels)
		}
	}
	os.Remove(filepath.Join(dir, "batches.meta.txt"))
	d, err := OpenCIFAR10(dir)
	if err != nil || !slices.Equal(d.Classes, CIFAR10Classes()) {
		t.Errorf("default classes: %v %v", d, err)
	}
}

func TestCIFAR10Errors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none")
	if _, err := Open("cifar10:" + missing); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "cifar-10-binary.tar.gz") {
		t.Errorf("missing dir: %v", err)
	}
	for _, c := range []struct {
		name   string
		file   string
		damage func([]byte) []byte
		want   string
		is     error
	}{
		{"truncated", "data_batch_2.bin", func(b []byte) []byte { return b[:len(b)-1] }, "whole number", ErrCorrupt},
		{"empty", "test_batch.bin", func([]byte) []byte { return []byte{} }, "empty", ErrCorrupt},
		{"bad label", "data_batch_5.bin", func(b []byte) []byte { b[cifarRecord] = 10; return b }, "label 10", ErrCorrupt},
		{"missing", "data_batch_4.bin", nil, "cifar-10-binary.tar.gz", fs.ErrNotExist},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeCIFAR(t, dir)
			p := filepath.Join(dir, c.file)
			if c.damage == nil {
				os.Remove(p)
			} else {
				b, _ := os.ReadFile(p)
				writeFile(t, p, c.damage(b))
			}
			_, err := OpenCIFAR10(dir)
			if !errors.Is(err, c.is) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v: want %v naming %s saying %q", err, c.is, p, c.want)
			}
		})
	}
}

func FuzzParseCIFAR10(f *testing.F) {
	f.Add(cifarRecords(0, 1))
	f.Add(cifarRecords(5, 2)[:cifarRecord+7])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseCIFAR10(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if s.validate() != nil || s.Len()*cifarRecord != len(data) {
			t.Fatalf("%d records from %d bytes", s.Len(), len(data))
		}
		// Re-encoding the split must give the file back.
		var back []byte
		for i := range s.Len() {
			back = append(back, byte(s.Labels[i]))
			img := s.Image(i)
			for ch := range 3 {
				for p := range cifarPlane {
					back = append(back, img[3*p+ch])
				}
			}
		}
		if !slices.Equal(back, data) {
			t.Fatal("does not round-trip")
		}
	})
}

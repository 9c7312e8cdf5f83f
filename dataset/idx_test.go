package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// idxBytes encodes an unsigned-byte IDX file.
func idxBytes(dims []int, body []byte) []byte {
	b := []byte{0, 0, 0x08, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	return append(b, body...)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// idxFixture is a tiny data set in the four-file layout: n train and m
// test images of h×w, pixel (i, p) = i*7+p, label i%classes.
type idxFixture struct {
	n, m, h, w, classes int
	gzip                bool
}

func (f idxFixture) files() map[string][]byte {
	mk := func(n int) (im, lb []byte) {
		for i := range n {
			for p := range f.h * f.w {
				im = append(im, byte(i*7+p))
			}
			lb = append(lb, byte(i%f.classes))
		}
		return idxBytes([]int{n, f.h, f.w}, im), idxBytes([]int{n}, lb)
	}
	out := map[string][]byte{}
	out["train-images-idx3-ubyte"], out["train-labels-idx1-ubyte"] = mk(f.n)
	out["t10k-images-idx3-ubyte"], out["t10k-labels-idx1-ubyte"] = mk(f.m)
	if f.gzip {
		for k, v := range out {
			delete(out, k)
			out[k+".gz"] = gz(v)
		}
	}
	return out
}

func (f idxFixture) write(t *testing.T) string {
	dir := t.TempDir()
	for name, b := range f.files() {
		writeFile(t, filepath.Join(dir, name), b)
	}
	return dir
}

func TestIDXPlainAndGzip(t *testing.T) {
	var got []*Dataset
	for _, z := range []bool{false, true} {
		dir := idxFixture{n: 12, m: 5, h: 3, w: 4, classes: 10, gzip: z}.write(t)
		d, err := Open("mnist:" + dir)
		if err != nil {
			t.Fatalf("gzip %v: %v", z, err)
		}
		got = append(got, d)
	}
	for _, d := range got {
		if d.Train.Len() != 12 || d.Test.Len() != 5 || d.H != 3 || d.W != 4 || d.C != 1 || len(d.Classes) != 10 {
			t.Fatalf("%+v", d)
		}
		if d.Train.Image(2)[5] != byte(2*7+5) || d.Train.Labels[11] != 1 || d.Test.Labels[4] != 4 {
			t.Errorf("contents wrong: pixel %d label %d/%d", d.Train.Image(2)[5], d.Train.Labels[11], d.Test.Labels[4])
		}
	}
	if !bytes.Equal(got[0].Train.Pixels, got[1].Train.Pixels) || !slices.Equal(got[0].Test.Labels, got[1].Test.Labels) {
		t.Error("plain and gzipped files read differently")
	}
}

func TestIDXDottedNamesAndInferredClasses(t *testing.T) {
	dir := t.TempDir()
	for name, b := range (idxFixture{n: 8, m: 4, h: 2, w: 2, classes: 3}).files() {
		name = strings.Replace(name, "-idx", ".idx", 1) // train-images.idx3-ubyte
		writeFile(t, filepath.Join(dir, name), b)
	}
	d, err := Open("idx:" + dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Classes, []string{"0", "1", "2"}) || d.Name != "idx" {
		t.Errorf("classes %q name %q", d.Classes, d.Name)
	}
}

// TestIDXErrors checks that each kind of damage gives an error naming the
// damaged file and saying what is wrong.
func TestIDXErrors(t *testing.T) {
	base := idxFixture{n: 6, m: 3, h: 2, w: 2, classes: 10}
	cases := []struct {
		name   string
		file   string
		damage func([]byte) []byte
		want   string
	}{
		{"bad magic", "train-images-idx3-ubyte", func(b []byte) []byte { b[0] = 0x12; return b }, "magic"},
		{"bad element type", "train-labels-idx1-ubyte", func(b []byte) []byte { b[2] = 0x0d; return b }, "element type"},
		{"truncated", "train-images-idx3-ubyte", func(b []byte) []byte { return b[:len(b)-3] }, "truncated"},
		{"truncated header", "t10k-images-idx3-ubyte", func(b []byte) []byte { return b[:9] }, "truncated"},
		{"trailing", "t10k-labels-idx1-ubyte", func(b []byte) []byte { return append(b, 1) }, "trailing"},
		{"count mismatch", "train-labels-idx1-ubyte", func([]byte) []byte { return idxBytes([]int{5}, make([]byte, 5)) }, "5 labels"},
		{"label out of range", "t10k-labels-idx1-ubyte", func(b []byte) []byte { b[len(b)-1] = 10; return b }, "label 10"},
		{"labels as images", "train-images-idx3-ubyte", func([]byte) []byte { return idxBytes([]int{6}, make([]byte, 6)) }, "dimensions"},
		{"empty", "train-images-idx3-ubyte", func([]byte) []byte { return nil }, "shorter"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := base.write(t)
			p := filepath.Join(dir, c.file)
			b, _ := os.ReadFile(p)
			writeFile(t, p, c.damage(b))
			_, err := Open("mnist:" + dir)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.file) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q: want ErrCorrupt, naming %s, saying %q", err, c.file, c.want)
			}
		})
	}
	t.Run("truncated gzip", func(t *testing.T) {
		dir := idxFixture{n: 6, m: 3, h: 2, w: 2, classes: 10, gzip: true}.write(t)
		p := filepath.Join(dir, "train-images-idx3-ubyte.gz")
		b, _ := os.ReadFile(p)
		writeFile(t, p, b[:len(b)-10])
		_, err := Open("mnist:" + dir)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), p) {
			t.Errorf("error %v", err)
		}
	})
}

func TestIDXMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	_, err := OpenIDX(missing, FormatFashionMNIST, FashionMNISTClasses())
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) ||
		!strings.Contains(err.Error(), "apt-get install dataset-fashion-mnist") {
		t.Errorf("missing default-style dir: %v", err)
	}
	_, err = Open("mnist:" + missing)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "mnist:DIR") {
		t.Errorf("missing mnist dir: %v", err)
	}
	dir := idxFixture{n: 6, m: 3, h: 2, w: 2, classes: 10}.write(t)
	os.Remove(filepath.Join(dir, "t10k-labels-idx1-ubyte"))
	_, err = Open("fashion-mnist:" + dir)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "t10k-labels-idx1-ubyte") || !strings.Contains(err.Error(), dir) {
		t.Errorf("missing file: %v", err)
	}
	file := filepath.Join(dir, "train-images-idx3-ubyte")
	if _, err := Open("idx:" + file); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file as dir: %v", err)
	}
}

func TestParseIDXDims(t *testing.T) {
	// Dimensions whose product overflows must be reported, not wrap around
	// to a small number that matches the body.
	b := idxBytes([]int{1 << 31, 1 << 31, 4}, nil)
	if _, _, err := ParseIDX(b); !errors.Is(err, ErrCorrupt) {
		t.Errorf("overflowing dims: %v", err)
	}
	b = idxBytes([]int{0, 28, 28}, nil)
	dims, body, err := ParseIDX(b)
	if err != nil || len(body) != 0 || !slices.Equal(dims, []int{0, 28, 28}) {
		t.Errorf("empty but valid: %v %v %v", dims, body, err)
	}
}

func FuzzParseIDX(f *testing.F) {
	f.Add(idxBytes([]int{2, 2, 2}, make([]byte, 8)))
	f.Add(idxBytes([]int{3}, []byte{1, 2, 3}))
	f.Add(idxBytes([]int{1 << 30, 1 << 30}, []byte{1}))
	f.Add([]byte{0, 0, 8, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		dims, body, err := ParseIDX(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		n := 1
		for _, d := range dims {
			n *= d
		}
		if n != len(body) || 4+4*len(dims)+len(body) != len(data) {
			t.Fatalf("dims %v but %d body bytes of %d", dims, len(body), len(data))
		}
		if !bytes.Equal(idxBytes(dims, body), data) {
			t.Fatal("does not round-trip")
		}
	})
}

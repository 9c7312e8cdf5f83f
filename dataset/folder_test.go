package dataset

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func pngBytes(t *testing.T, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// grayImage is a w×h gray image with pixel (x, y) = v + x + 10y.
func grayImage(w, h, v int) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetGray(x, y, color.Gray{Y: uint8(v + x + 10*y)})
		}
	}
	return m
}

func uniformGray(w, h int, v uint8) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = v
	}
	return m
}

func rgbImage(w, h int, c color.NRGBA) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, c)
		}
	}
	return m
}

func TestFolderTrainTest(t *testing.T) {
	dir := t.TempDir()
	// Two classes, "cat" < "dog"; a README and a hidden file are ignored.
	writeFile(t, filepath.Join(dir, "train/dog/b.png"), pngBytes(t, grayImage(4, 3, 100)))
	writeFile(t, filepath.Join(dir, "train/dog/a.PNG"), pngBytes(t, grayImage(4, 3, 50)))
	writeFile(t, filepath.Join(dir, "train/cat/x.png"), pngBytes(t, grayImage(4, 3, 0)))
	writeFile(t, filepath.Join(dir, "train/cat/README.txt"), []byte("not an image"))
	writeFile(t, filepath.Join(dir, "train/cat/.hidden.png"), []byte("junk"))
	writeFile(t, filepath.Join(dir, "test/dog/c.png"), pngBytes(t, grayImage(4, 3, 7)))
	d, err := Open("folder:" + dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Classes, []string{"cat", "dog"}) || d.H != 3 || d.W != 4 || d.C != 1 {
		t.Fatalf("classes %q, %dx%dx%d", d.Classes, d.H, d.W, d.C)
	}
	if !slices.Equal(d.Train.Labels, []int{0, 1, 1}) || !slices.Equal(d.Test.Labels, []int{1}) {
		t.Errorf("labels %v %v", d.Train.Labels, d.Test.Labels)
	}
	// Files in name order: dog/a.PNG (50) before dog/b.png (100).
	if got := d.Train.Image(1)[4*2+3]; got != 50+3+20 {
		t.Errorf("pixel (3, 2) of dog/a.PNG = %d", got)
	}
}

func TestFolderColourAndResize(t *testing.T) {
	dir := t.TempDir()
	red := color.NRGBA{R: 200, G: 10, B: 30, A: 255}
	writeFile(t, filepath.Join(dir, "train/a/1.png"), pngBytes(t, rgbImage(4, 4, red)))
	// A gray image of another size: resized to 4×4 and replicated to RGB.
	writeFile(t, filepath.Join(dir, "train/b/1.png"), pngBytes(t, uniformGray(8, 2, 77)))
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, rgbImage(4, 4, color.NRGBA{G: 255, A: 255}), &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "val/b/green.jpg"), jb.Bytes())
	d, err := OpenFolder(dir, FolderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.C != 3 || d.H != 4 || d.W != 4 {
		t.Fatalf("%dx%dx%d", d.H, d.W, d.C)
	}
	if got := d.Train.Image(0)[:3]; !slices.Equal(got, []uint8{200, 10, 30}) {
		t.Errorf("red pixel %v", got)
	}
	for _, v := range d.Train.Image(1) {
		if v != 77 {
			t.Fatalf("resized gray image has %d, want 77 everywhere", v)
		}
	}
	if g := d.Test.Image(0); g[0] > 5 || g[1] < 250 || g[2] > 5 {
		t.Errorf("green JPEG pixel %v", g[:3])
	}
}

func TestFolderSingleTreeSplit(t *testing.T) {
	dir := t.TempDir()
	for c, n := range map[string]int{"x": 10, "y": 5} {
		for i := range n {
			writeFile(t, filepath.Join(dir, c, string(rune('a'+i))+".png"), pngBytes(t, grayImage(2, 2, i)))
		}
	}
	d1, err := OpenFolder(dir, FolderOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	// 20% of 10 and of 5: 2 and 1 test images.
	if !slices.Equal(d1.Test.Histogram(2), []int{2, 1}) || !slices.Equal(d1.Train.Histogram(2), []int{8, 4}) {
		t.Errorf("histograms %v %v", d1.Train.Histogram(2), d1.Test.Histogram(2))
	}
	d2, err := Open("folder:" + dir)
	if err != nil {
		t.Fatal(err)
	}
	d3, _ := OpenFolder(dir, FolderOptions{Seed: 3})
	if !bytes.Equal(d1.Test.Pixels, d3.Test.Pixels) {
		t.Error("same seed, different test split")
	}
	if d2.Test.Len() != 3 {
		t.Errorf("default split: %d test images", d2.Test.Len())
	}
	d4, err := OpenFolder(dir, FolderOptions{TestFraction: 0.5, H: 3, W: 5})
	if err != nil || d4.Test.Len() != 8 || d4.H != 3 || d4.W != 5 {
		t.Errorf("half split resized: %v", err)
	}
}

func TestFolderErrors(t *testing.T) {
	good := func(t *testing.T) string {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "train/a/1.png"), pngBytes(t, grayImage(2, 2, 0)))
		writeFile(t, filepath.Join(dir, "test/a/1.png"), pngBytes(t, grayImage(2, 2, 0)))
		return dir
	}
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the path the error must name
		want  string
		is    error
	}{
		{"corrupt png", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "train/a/2.png")
			b := pngBytes(t, grayImage(2, 2, 0))
			writeFile(t, p, b[:len(b)-12])
			return p
		}, "unreadable image", ErrCorrupt},
		{"not an image", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "test/a/2.jpg")
			writeFile(t, p, []byte("hello"))
			return p
		}, "neither PNG nor JPEG", ErrCorrupt},
		{"unknown test class", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "test/zebra")
			writeFile(t, filepath.Join(p, "1.png"), pngBytes(t, grayImage(2, 2, 0)))
			return p
		}, "lacks", ErrCorrupt},
		{"empty class", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "train/b")
			writeFile(t, filepath.Join(p, "notes.txt"), nil)
			return p
		}, "no .png", ErrCorrupt},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := good(t)
			p := c.setup(t, dir)
			_, err := Open("folder:" + dir)
			if !errors.Is(err, c.is) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v: want %v naming %s saying %q", err, c.is, p, c.want)
			}
		})
	}
	empty := t.TempDir()
	if _, err := Open("folder:" + empty); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "DIR/train/CLASS") {
		t.Errorf("empty folder: %v", err)
	}
	onlyTrain := t.TempDir()
	writeFile(t, filepath.Join(onlyTrain, "train/a/1.png"), pngBytes(t, grayImage(2, 2, 0)))
	if _, err := Open("folder:" + onlyTrain); err == nil || !strings.Contains(err.Error(), "test/") {
		t.Errorf("train without test: %v", err)
	}
	if _, err := OpenFolder(good(t), FolderOptions{TestFraction: 1}); err == nil {
		t.Error("test fraction 1 accepted")
	}
}

// Package idxtest writes small image data sets in MNIST's IDX format for
// tests that train networks: real files that dataset.Open reads, small
// enough to train on in a test.
package idxtest

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// Write writes an IDX file of unsigned bytes with the given dimensions.
func Write(t testing.TB, path string, dims []int, data []byte) {
	t.Helper()
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Quadrants writes a data set to a new directory and returns it: gray
// images of side res whose class (0..3) is the quadrant holding a bright
// square on a noisy background, train training and test test images.
// Its classes are digits ("0".."3"), so loaders do not mirror them.
func Quadrants(t testing.TB, res, train, test int) string {
	t.Helper()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	split := func(n int) ([]byte, []byte) {
		px, lb := make([]byte, n*res*res), make([]byte, n)
		half := res / 2
		for i := range n {
			y := i % 4
			lb[i] = byte(y)
			img := px[i*res*res : (i+1)*res*res]
			for j := range img {
				img[j] = byte(r.IntN(80))
			}
			oy, ox := (y/2)*half+r.IntN(2), (y%2)*half+r.IntN(2)
			for a := range half - 2 {
				for b := range half - 2 {
					img[(oy+a)*res+ox+b] = byte(180 + r.IntN(70))
				}
			}
		}
		return px, lb
	}
	px, lb := split(train)
	Write(t, filepath.Join(dir, "train-images-idx3-ubyte"), []int{train, res, res}, px)
	Write(t, filepath.Join(dir, "train-labels-idx1-ubyte"), []int{train}, lb)
	px, lb = split(test)
	Write(t, filepath.Join(dir, "t10k-images-idx3-ubyte"), []int{test, res, res}, px)
	Write(t, filepath.Join(dir, "t10k-labels-idx1-ubyte"), []int{test}, lb)
	return dir
}

//go:build race

package onnx_test

// raceEnabled is true under the race detector, which makes training
// ten times slower.
const raceEnabled = true

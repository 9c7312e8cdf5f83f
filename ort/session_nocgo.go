//go:build !cgo

package ort

import "errors"

// errNoCgo is returned by every runtime call of a build without cgo.
var errNoCgo = errors.New("ort: this fleetnas was built without cgo (CGO_ENABLED=0), so it cannot load ONNX Runtime; rebuild with cgo and a C compiler")

// Init reports that the runtime is unavailable in a build without cgo.
func Init(path string) error { return errNoCgo }

// Version returns "" in a build without cgo.
func Version() string { return "" }

// Session is unavailable in a build without cgo.
type Session struct {
	threads int
	profile string
}

// NewSession reports that the runtime is unavailable.
func NewSession(model []byte, inName string, inShape []int64, outName string, outShape []int64, opt Options) (*Session, error) {
	return nil, errNoCgo
}

// Input returns nil.
func (s *Session) Input() []float32 { return nil }

// Run reports that the runtime is unavailable.
func (s *Session) Run() ([]float32, error) { return nil, errNoCgo }

func (s *Session) run() error { return errNoCgo }

// Close does nothing.
func (s *Session) Close() error { return nil }

//go:build cgo

package ort

import (
	"fmt"
	"sync"

	ortgo "github.com/yalue/onnxruntime_go"
)

// The ONNX Runtime environment is process-wide: it is created once, with
// the first library asked for.
var env struct {
	sync.Mutex
	lib string
	err error
}

// Init loads the library at path (see FindLibrary) and creates ONNX
// Runtime's environment. Later calls with the same path do nothing; a
// different path is an error, since a process can hold only one.
func Init(path string) error {
	env.Lock()
	defer env.Unlock()
	if env.lib != "" {
		if env.lib != path {
			return fmt.Errorf("ort: ONNX Runtime is already loaded from %s, cannot load %s too", env.lib, path)
		}
		return env.err
	}
	env.lib = path
	ortgo.SetSharedLibraryPath(path)
	if err := ortgo.InitializeEnvironment(ortgo.WithLogLevelError()); err != nil {
		env.err = fmt.Errorf("ort: loading ONNX Runtime from %s: %w", path, err)
	}
	return env.err
}

// Version returns the loaded ONNX Runtime version ("" before Init).
func Version() string {
	if !ortgo.IsInitialized() {
		return ""
	}
	return ortgo.GetVersion()
}

// Session is one ONNX model loaded for batch-1 float32 inference with one
// input and one output, their buffers allocated once.
type Session struct {
	s       *ortgo.AdvancedSession
	in, out *ortgo.Tensor[float32]
	threads int
	// prefix is Options.ProfilePrefix; profile the file found at Close.
	prefix, profile string
}

// NewSession loads a serialized ONNX model whose input and output have the
// given shapes and names. Init must have succeeded.
func NewSession(model []byte, inName string, inShape []int64, outName string, outShape []int64, opt Options) (*Session, error) {
	if !ortgo.IsInitialized() {
		return nil, fmt.Errorf("ort: the runtime is not initialised (call ort.Init with a library from ort.FindLibrary)")
	}
	threads := opt.Threads
	if threads == 0 {
		threads = 1
	}
	if threads < 0 {
		return nil, fmt.Errorf("ort: threads must be positive, got %d", threads)
	}
	so, err := ortgo.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("ort: session options: %w", err)
	}
	defer so.Destroy()
	for _, set := range []error{
		so.SetIntraOpNumThreads(threads),
		so.SetInterOpNumThreads(1),
		so.SetExecutionMode(ortgo.ExecutionModeSequential),
		so.SetGraphOptimizationLevel(ortgo.GraphOptimizationLevelEnableAll),
	} {
		if set != nil {
			return nil, fmt.Errorf("ort: session options: %w", set)
		}
	}
	if opt.ProfilePrefix != "" {
		if err := so.EnableProfiling(opt.ProfilePrefix); err != nil {
			return nil, fmt.Errorf("ort: turning on the profiler (%s): %w", opt.ProfilePrefix, err)
		}
	}
	in, err := ortgo.NewEmptyTensor[float32](ortgo.NewShape(inShape...))
	if err != nil {
		return nil, fmt.Errorf("ort: input tensor %v: %w", inShape, err)
	}
	out, err := ortgo.NewEmptyTensor[float32](ortgo.NewShape(outShape...))
	if err != nil {
		in.Destroy()
		return nil, fmt.Errorf("ort: output tensor %v: %w", outShape, err)
	}
	s, err := ortgo.NewAdvancedSessionWithONNXData(model, []string{inName}, []string{outName},
		[]ortgo.Value{in}, []ortgo.Value{out}, so)
	if err != nil {
		in.Destroy()
		out.Destroy()
		return nil, fmt.Errorf("ort: loading the model: %w", err)
	}
	return &Session{s: s, in: in, out: out, threads: threads, prefix: opt.ProfilePrefix}, nil
}

// Input returns the input buffer; write the input here before Run.
func (s *Session) Input() []float32 { return s.in.GetData() }

// Run runs the model once and returns the output buffer, which the next
// Run overwrites.
func (s *Session) Run() ([]float32, error) {
	if err := s.run(); err != nil {
		return nil, err
	}
	return s.out.GetData(), nil
}

func (s *Session) run() error {
	if s.s == nil {
		return errClosed
	}
	if err := s.s.Run(); err != nil {
		return fmt.Errorf("ort: run: %w", err)
	}
	return nil
}

// Close frees the session and its buffers.
func (s *Session) Close() error {
	if s.s == nil {
		return nil
	}
	err := s.s.Destroy()
	s.in.Destroy()
	s.out.Destroy()
	s.s = nil
	if s.prefix != "" && err == nil {
		// ONNX Runtime writes the profile when the session is released,
		// as PREFIX_<date>.json, and the Go binding does not return the
		// name: take the newest such file.
		s.profile, err = newestProfile(s.prefix)
	}
	return err
}

// Package ort runs ONNX models with ONNX Runtime's CPU library from Go
// (through github.com/yalue/onnxruntime_go, which loads the library with
// dlopen at run time) and times them: warm-up, repeated runs, median,
// p10/p90 and the coefficient of variation that says whether the machine
// was quiet enough for the numbers to mean anything.
//
// The library is not needed to build fleetnas, only to run models. It is
// found, in order, at the path given by the caller (the setting "library"
// in errors), at $FLEETNAS_ORT_LIB, in ./third_party/onnxruntime/, in
// ~/.cache/fleetnas/ort/, or in the system library directories; when it is
// nowhere, the error says how to install it (Install).
//
// cgo is confined to this package; a build without cgo compiles and every
// call reports that the runtime is unavailable.
package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fleetnas/fleetnas/setting"
)

// EnvLibrary is the environment variable that names the library file.
const EnvLibrary = "FLEETNAS_ORT_LIB"

// LibraryName is the file name of the ONNX Runtime shared library on Linux.
const LibraryName = "libonnxruntime.so.1"

// Install says how to get the library on Linux x86-64 without internet
// access beyond npm: the onnxruntime-node package ships the CPU build.
const Install = `ONNX Runtime's CPU library is not installed. To install it (Linux x86-64, via npm):

    mkdir -p ~/.cache/fleetnas/ort && cd ~/.cache/fleetnas/ort
    npm pack onnxruntime-node@1.30.0
    tar xzf onnxruntime-node-1.30.0.tgz package/bin/napi-v6/linux/x64/libonnxruntime.so.1
    mv package/bin/napi-v6/linux/x64/libonnxruntime.so.1 . && rm -rf package

fleetnas then finds ~/.cache/fleetnas/ort/libonnxruntime.so.1 by itself; a library
elsewhere is given with FLEETNAS_ORT_LIB=FILE.`

// ErrNotFound is wrapped by FindLibrary's error when no library is found.
var ErrNotFound = errors.New("ONNX Runtime library not found")

// Candidates returns the places FindLibrary looks at, in order, after an
// explicit path and the environment variable.
func Candidates() []string {
	c := []string{filepath.Join("third_party", "onnxruntime", LibraryName)}
	if home, err := os.UserHomeDir(); err == nil {
		c = append(c, filepath.Join(home, ".cache", "fleetnas", "ort", LibraryName))
	}
	for _, dir := range []string{"/usr/local/lib", "/usr/lib", "/usr/lib/x86_64-linux-gnu"} {
		c = append(c, filepath.Join(dir, LibraryName), filepath.Join(dir, "libonnxruntime.so"))
	}
	return c
}

// FindLibrary returns the path of the ONNX Runtime library: explicit when
// it is not empty (an error if that file does not exist), else
// $FLEETNAS_ORT_LIB (likewise), else the first of Candidates that exists.
// An explicit path that is no library file is a *setting.Error about the
// setting "library"; every not-found error wraps ErrNotFound.
func FindLibrary(explicit string) (string, error) {
	check := func(path string) error {
		st, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("%w (%w)\n\n%s", err, ErrNotFound, Install)
		}
		if st.IsDir() {
			return fmt.Errorf("%s is a directory; give the library file %s in it (%w)", path, LibraryName, ErrNotFound)
		}
		return nil
	}
	if explicit != "" {
		if err := check(explicit); err != nil {
			return "", setting.Wrap("library", err)
		}
		return explicit, nil
	}
	if env := os.Getenv(EnvLibrary); env != "" {
		if err := check(env); err != nil {
			return "", fmt.Errorf("$%s: %w", EnvLibrary, err)
		}
		return env, nil
	}
	for _, c := range Candidates() {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return c, nil
		}
	}
	return "", fmt.Errorf("%w (looked in %v)\n\n%s", ErrNotFound, Candidates(), Install)
}

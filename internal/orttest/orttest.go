// Package orttest gives tests ONNX Runtime and the ONNX checker when they
// are installed: tests skip without them on a developer's machine, and
// fail instead when FLEETNAS_REQUIRE_ORT is set (CI installs both and sets
// it, so that a broken installation cannot pass as skipped tests).
package orttest

import (
	"os"
	"os/exec"
	"testing"

	"github.com/fleetnas/fleetnas/ort"
)

// EnvRequire is the environment variable that turns skips into failures.
const EnvRequire = "FLEETNAS_REQUIRE_ORT"

func missing(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv(EnvRequire) != "" {
		t.Fatalf("%s is required (%s is set) but unavailable: %v", what, EnvRequire, err)
	}
	t.Skipf("%s unavailable (set %s to make this a failure): %v", what, EnvRequire, err)
}

// Runtime initialises ONNX Runtime from the library ort.FindLibrary finds,
// or skips (fails under FLEETNAS_REQUIRE_ORT).
func Runtime(t testing.TB) {
	t.Helper()
	lib, err := ort.FindLibrary("")
	if err != nil {
		missing(t, "ONNX Runtime", err)
		return
	}
	if err := ort.Init(lib); err != nil {
		missing(t, "ONNX Runtime", err)
	}
}

// Python returns a python3 that can import onnx (Debian's python3-onnx
// installs it for /usr/bin/python3, which may not be the first python3 on
// PATH), or skips (fails under FLEETNAS_REQUIRE_ORT).
func Python(t testing.TB) string {
	t.Helper()
	var last error
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if err := exec.Command(p, "-c", "import onnx").Run(); err == nil {
			return p
		} else {
			last = err
		}
	}
	missing(t, "python3 with the onnx package (Debian: apt-get install python3-onnx)", last)
	return ""
}

package onnx_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/internal/orttest"
	"github.com/fleetnas/fleetnas/onnx"
	"github.com/fleetnas/fleetnas/zoo"
)

// checkerScript runs ONNX's own checker with full shape inference on
// every file given, and prints each file's inferred output shape, so that
// the graph's declared output can be compared with what ONNX infers from
// the operators (an independent check of pads, strides and reshapes).
const checkerScript = `
import sys, onnx
for path in sys.argv[1:]:
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    inf = onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
    dims = [d.dim_value for d in inf.graph.output[0].type.tensor_type.shape.dim]
    print(path, "x".join(str(d) for d in dims))
`

// TestCheckerZoo exports every zoo model at its native resolution and checks the files with Debian's python3-onnx.
// It skips under the race detector (the package has no concurrency, and
// encoding 150M weights takes four times as long there); CI runs it in a
// plain `go test` step.
func TestCheckerZoo(t *testing.T) {
	if raceEnabled {
		t.Skip("slow under -race; run without it")
	}
	py := orttest.Python(t)
	z, err := zoo.New()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	args := []string{"-c", checkerScript}
	want := map[string]string{}
	for _, name := range z.Names() {
		net, err := z.Build(name, zoo.Options{})
		if err != nil {
			t.Fatal(err)
		}
		g, err := net.Lower(0)
		if err != nil {
			t.Fatal(err)
		}
		// Weights do not matter to the checker; GraphWeights is much
		// faster than building every model in the engine.
		b, err := onnx.Marshal(g, onnx.GraphWeights(g, 1))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		path := filepath.Join(dir, name+".onnx")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, path)
		_, out := onnx.Shapes(g)
		s := make([]string, len(out))
		for i, d := range out {
			s[i] = strconv.FormatInt(d, 10)
		}
		want[path] = strings.Join(s, "x")
	}
	out, err := exec.Command(py, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("onnx checker: %v\n%s", err, out)
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, dims, _ := strings.Cut(line, " ")
		if w, ok := want[path]; !ok || dims != w {
			t.Errorf("%s: ONNX infers output %s, the graph declares %s", filepath.Base(path), dims, w)
		}
		seen++
	}
	if seen != len(want) {
		t.Errorf("checker reported %d files of %d:\n%s", seen, len(want), out)
	}
}

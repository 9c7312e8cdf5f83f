package profile

import (
	"os"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/ort"
)

// TestParseSource reads the source line of the example table profiled on
// a real machine (examples/local-cpu), and round-trips conditions through
// the line Profile writes.
func TestParseSource(t *testing.T) {
	b, err := os.ReadFile("../examples/local-cpu/ort_multihw_224_t1.csv")
	if err != nil {
		t.Fatal(err)
	}
	var src string
	for _, l := range strings.Split(string(b), "\n") {
		if s, ok := strings.CutPrefix(l, "# source: "); ok {
			src = s
		}
	}
	c, ok := ParseSource(src)
	if !ok || c.Runtime != "ONNX Runtime 1.30.0" || c.Arch != "amd64" || c.Threads != 1 || c.Clock != ort.Wall || c.CPU == "" {
		t.Errorf("%+v, %v from %q", c, ok, src)
	}
	for _, want := range []Conditions{
		{Runtime: "ONNX Runtime 1.30.0", CPU: "Some CPU (R) 3.1GHz", Arch: "arm64", Threads: 4, Clock: ort.Wall},
		{Runtime: "ONNX Runtime 1.29.1", CPU: "AMD EPYC", Arch: "amd64", Threads: 1, Clock: ort.ThreadCPU},
	} {
		line := sourceHead(want) + ", multihw space at 224 px, single-block graphs (context method, 64 MiB cache flush), median of >= 15 runs (" + want.Clock.String() + " clock), ..."
		if got, ok := ParseSource(line); !ok || got != want {
			t.Errorf("%q: %+v %v, want %+v", line, got, ok, want)
		}
	}
	for _, bad := range []string{"", "HW-NAS-Bench's per-op table", "profiled with ONNX Runtime 1.30 on x (amd64), 0 thread(s)"} {
		if _, ok := ParseSource(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestLocalConditions: a table profiled here reads back as profiled here.
func TestLocalConditions(t *testing.T) {
	c := LocalConditions(2, ort.ThreadCPU)
	got, ok := ParseSource(c.Source())
	if !ok || got != c || !got.Here() {
		t.Errorf("%+v %v from %q, want %+v here", got, ok, c.Source(), c)
	}
	other := c
	other.CPU += " (another)"
	if other.Here() {
		t.Error("another CPU is here")
	}
}

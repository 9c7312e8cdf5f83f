package profile

import (
	"fmt"
	"regexp"
	"runtime"
	"strconv"

	"github.com/fleetnas/fleetnas/ort"
)

// Conditions are how a per-op table was profiled, as Profile writes them
// at the start of the table's source line: what a measurement of a whole
// network must share to be compared with the table's prediction.
type Conditions struct {
	// Runtime is "ONNX Runtime" and its version.
	Runtime string
	// CPU is the processor's model name and Arch its architecture
	// (GOARCH).
	CPU, Arch string
	// Threads is ONNX Runtime's intra-op thread count.
	Threads int
	// Clock is the clock the timings were taken on.
	Clock ort.Clock
}

// sourceHead is the start of a profiled table's source line.
func sourceHead(c Conditions) string {
	return fmt.Sprintf("profiled with %s on %s (%s), %d thread(s)", c.Runtime, c.CPU, c.Arch, c.Threads)
}

// LocalConditions are the conditions of a table profiled now on this
// machine with the loaded ONNX Runtime.
func LocalConditions(threads int, clock ort.Clock) Conditions {
	v := ort.Version()
	if v == "" {
		v = "unknown"
	}
	return Conditions{Runtime: "ONNX Runtime " + v, CPU: cpuModel(), Arch: runtime.GOARCH, Threads: threads, Clock: clock}
}

// Source is the start of the source line of a table profiled under c,
// which ParseSource reads back.
func (c Conditions) Source() string {
	return sourceHead(c) + fmt.Sprintf(", median of runs (%s clock)", c.Clock)
}

var (
	headRE  = regexp.MustCompile(`^profiled with (ONNX Runtime \S+) on (.+?) \(([a-z0-9]+)\), (\d+) thread\(s\)`)
	clockRE = regexp.MustCompile(`\((wall|cpu) clock\)`)
)

// ParseSource reads the conditions of a table that Profile made from its
// source line; ok is false for tables made otherwise (published tables,
// hand-written ones).
func ParseSource(src string) (c Conditions, ok bool) {
	m := headRE.FindStringSubmatch(src)
	if m == nil {
		return Conditions{}, false
	}
	threads, err := strconv.Atoi(m[4])
	if err != nil || threads < 1 {
		return Conditions{}, false
	}
	c = Conditions{Runtime: m[1], CPU: m[2], Arch: m[3], Threads: threads, Clock: ort.Wall}
	if k := clockRE.FindStringSubmatch(src); k != nil && k[1] == "cpu" {
		c.Clock = ort.ThreadCPU
	}
	return c, true
}

// Here reports whether this machine is the kind the table was profiled
// on (the same CPU model and architecture), so that a measurement here
// can be set against the table's prediction.
func (c Conditions) Here() bool {
	return c.CPU == cpuModel() && c.Arch == runtime.GOARCH
}

// Options are the measuring options of the conditions: the table's
// thread count and clock, the other options at their defaults.
func (c Conditions) Options() Options {
	return Options{Threads: c.Threads, Clock: c.Clock}
}

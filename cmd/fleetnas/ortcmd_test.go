package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/internal/orttest"
	"github.com/fleetnas/fleetnas/latency/lut"
	"github.com/fleetnas/fleetnas/onnx/onnxpb"
	"github.com/fleetnas/fleetnas/ort"
	"github.com/fleetnas/fleetnas/profile"
	"google.golang.org/protobuf/proto"
)

func TestExportCmd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "small.onnx")
	out, _, err := run(t, "export", "--onnx", path, "--model", "MobileNetV3Small", "--resolution", "160")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "input [1 3 160 160], output [1 1000]") {
		t.Errorf("summary: %s", out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatalf("not an ONNX protobuf: %v", err)
	}
	if m.GetOpsetImport()[0].GetVersion() < 13 || len(m.GetGraph().GetNode()) == 0 {
		t.Errorf("opset %d, %d nodes", m.GetOpsetImport()[0].GetVersion(), len(m.GetGraph().GetNode()))
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "--model", "MobileNetV2"}, "--onnx"},
		{[]string{"export", "--onnx", path, "--model", "MobileNetV2", "--weights", "x.json"}, "leave out --model"},
		{[]string{"export", "--onnx", path, "--model", "MobileNetV4HybridMedium", "--weights", "x.json"}, "leave out --model"},
		{[]string{"export", "--onnx", path}, "give exactly one of"},
		{[]string{"export", "--onnx", path, "--weights", filepath.Join(t.TempDir(), "none.json")}, "none.json"},
	} {
		if _, _, err := run(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one mentioning %q", c.args, err, c.want)
		}
	}
}

// TestMeasureWithoutLibrary checks the message that says how to install
// ONNX Runtime, and the flag checks that come before it.
func TestMeasureWithoutLibrary(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	_, _, err := run(t, "measure", "--model", "MobileNetV2", "--ort-lib", missing)
	if err == nil || !strings.Contains(err.Error(), "npm pack onnxruntime-node@1.30.0") {
		t.Errorf("missing library: %v", err)
	}
	_, _, err = run(t, "measure", "--model", "MobileNetV2", "--runtime", "tflite")
	if err == nil || !strings.Contains(err.Error(), "only runtime is ort") {
		t.Errorf("other runtime: %v", err)
	}
	_, _, err = run(t, "measure", "--model", "MobileNetV2", "--threads", "0")
	if err == nil || !strings.Contains(err.Error(), "--threads") {
		t.Errorf("0 threads: %v", err)
	}
	_, _, err = run(t, "measure", "--model", "MobileNetV2", "--threads", "2", "--clock", "cpu")
	if err == nil || !strings.Contains(err.Error(), "--threads 1") {
		t.Errorf("cpu clock with 2 threads: %v", err)
	}
	for _, bad := range [][]string{{"--quiet", "2"}, {"--max-wait", "0s"}, {"--wait-share", "0"}} {
		args := append([]string{"measure", "--model", "MobileNetV2", "--ort-lib", missing}, bad...)
		if _, _, err := run(t, args...); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%v: error %v, want one naming %s", bad, err, bad[0])
		}
	}
}

// TestProfileValidateFleet runs the whole local-device workflow on the
// small fbnet space (32 px, ~100 blocks), with few runs: measure, profile
// a table, validate it, and use it as a device next to modeled ones.
func TestProfileValidateFleet(t *testing.T) {
	orttest.Runtime(t)
	dir := t.TempDir()
	// The quiet gate is tried once, on measure, with a short wait: tests
	// run on a busy machine, and what they check is the flow, not the
	// numbers.
	fast := []string{"--runs", "3", "--warmup", "1", "--min-time-ms", "0", "--quiet", "0"}
	out, _, err := run(t, "measure", "--space", "fbnet", "--choice", fbnetChoice(t), "--json", "--clock", "cpu",
		"--runs", "3", "--warmup", "1", "--min-time-ms", "0", "--max-wait", "1s")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Median   float64 `json:"median_ms"`
		Runs     int     `json:"runs"`
		Slowdown float64 `json:"slowdown"`
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil || !(m.Median > 0) || m.Runs != 3 || !(m.Slowdown > 0) {
		t.Fatalf("measure JSON %v: %s", err, out)
	}
	// ONNX Runtime's profiler, read per layer: every layer of the network
	// is listed, and the node times add up to a share of the run.
	out, _, err = run(t, append([]string{"measure", "--space", "fbnet", "--choice", fbnetChoice(t), "--json", "--ort-profile", filepath.Join(dir, "ort")}, fast...)...)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Median float64 `json:"median_ms"`
		File   string  `json:"ort_profile"`
		Layers []struct {
			Layer string  `json:"layer"`
			Ms    float64 `json:"ms"`
		} `json:"layers"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, l := range p.Layers {
		sum += l.Ms
	}
	if _, err := os.Stat(p.File); err != nil || len(p.Layers) < 20 || !(sum > 0) || sum > 3*p.Median {
		t.Errorf("profile %q (%v): %d layers, %g ms of nodes in a %g ms run", p.File, err, len(p.Layers), sum, p.Median)
	}
	table := filepath.Join(dir, "local.csv")
	if out, _, err = run(t, append([]string{"profile", "--space", "fbnet", "--out", table, "--check-samples", "50", "--flush-mb", "1"}, fast...)...); err != nil {
		t.Fatal(err)
	}
	tb, err := lut.ReadCSVFile(table)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if tb.Len() < 50 || !(tb.Constant > 0) || !strings.Contains(tb.Source, "ONNX Runtime") {
		t.Errorf("table: %d entries, constant %g, source %q", tb.Len(), tb.Constant, tb.Source)
	}
	out, _, err = run(t, append([]string{"validate", "--device", table, "--space", "fbnet", "--samples", "6", "--csv", filepath.Join(dir, "rows.csv")}, fast...)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"raw table", "held-out half, corrected", "correction on all"} {
		if !strings.Contains(out, want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}
	fleetFile := filepath.Join(dir, "fleet.yaml")
	fl := "name: local-and-modeled\nresolution: 32\ndevices:\n  - name: pixel3\n    from: fbnet-lut\n  - name: local_cpu\n    kind: lut\n    table: local.csv\n    reference: {target_ms: 1}\n"
	if err := os.WriteFile(fleetFile, []byte(fl), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err = run(t, "latency", "--fleet", fleetFile, "--space", "fbnet", "--choice", fbnetChoice(t))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "local_cpu") || !strings.Contains(out, "pixel3") {
		t.Errorf("fleet latency lacks a device:\n%s", out)
	}
}

func fbnetChoice(t *testing.T) string {
	t.Helper()
	out, _, err := run(t, "space", "fbnet", "--sample", "1", "--seed", "3", "--strings")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// TestLocalCPUExampleFleet prices a network on the example fleet, whose
// measured device is a committed profiled table.
func TestLocalCPUExampleFleet(t *testing.T) {
	out, _, err := run(t, "latency", "--fleet", filepath.Join("..", "..", "examples", "local-cpu", "fleet.yaml"),
		"--space", "multihw", "--choice", "32:skip/32:k3e3,k3e2,skip,skip/64:k5e5,k3e3,k3e2,k3e3/128:k5e6,k3e3,k3e3,k3e3/160:k3e6,k3e4,skip,skip/192:k3e6,k5e4,k5e4,k5e4")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"local_cpu", "pixel6_cpu", "pixel8_edgetpu"} {
		if !strings.Contains(out, d) {
			t.Errorf("no %s in\n%s", d, out)
		}
	}
}

// TestRuntimeFlagsFromProfileDefaults: the flags of measure, profile and
// validate default to package profile's defaults.
func TestRuntimeFlagsFromProfileDefaults(t *testing.T) {
	d := profile.DefaultOptions()
	common := map[string]string{"threads": fmt.Sprint(d.Threads), "warmup": fmt.Sprint(d.Warmup), "min-time-ms": fmt.Sprint(d.MinTimeMs),
		"retries": fmt.Sprint(d.Retries), "quiet": fmt.Sprint(d.Quiet), "max-wait": d.MaxWait.String(), "wait-share": fmt.Sprint(d.WaitShare)}
	for name, own := range map[string]map[string]string{
		"measure": {"runs": fmt.Sprint(profile.DefaultMeasureRuns)},
		"profile": {"runs": fmt.Sprint(profile.DefaultProfileRuns), "method": string(profile.DefaultMethod),
			"flush-mb": fmt.Sprint(profile.DefaultFlushBytes >> 20), "check-samples": fmt.Sprint(profile.DefaultCheckSamples)},
		"validate": {"runs": fmt.Sprint(d.MinRuns), "samples": fmt.Sprint(profile.DefaultValidateSamples)},
	} {
		cmd, _, err := newRoot(io.Discard, io.Discard).Find([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		for _, flags := range []map[string]string{common, own} {
			for flag, want := range flags {
				if got := cmd.Flags().Lookup(flag).DefValue; got != want {
					t.Errorf("%s --%s defaults to %s, package profile to %s", name, flag, got, want)
				}
			}
		}
	}
}

// TestMeasureLibraryErrorNamesFlag: package ort's error about its setting
// "library" is reported as --ort-lib, and without --ort-lib the advice
// names the flag, which package ort cannot.
func TestMeasureLibraryErrorNamesFlag(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	_, _, err := run(t, "measure", "--model", "MobileNetV2", "--ort-lib", missing)
	if err == nil || !strings.HasPrefix(err.Error(), "--ort-lib: ") || !errors.Is(err, ort.ErrNotFound) {
		t.Errorf("missing --ort-lib library: %v", err)
	}
	// Without --ort-lib, the installation advice names it.
	t.Setenv(ort.EnvLibrary, "")
	t.Setenv("HOME", t.TempDir())
	if _, err := ort.FindLibrary(""); err == nil {
		t.Log("a system-wide ONNX Runtime is installed: not checking the advice without one")
	} else if _, _, err := run(t, "measure", "--model", "MobileNetV2"); err == nil || !strings.Contains(err.Error(), "--ort-lib FILE") {
		t.Errorf("no library anywhere: %v", err)
	}
}

// TestProfileSettingErrorsNameFlags needs ONNX Runtime: the commands load
// it before calling package profile.
func TestProfileSettingErrorsNameFlags(t *testing.T) {
	orttest.Runtime(t)
	out := filepath.Join(t.TempDir(), "t.csv")
	table := filepath.Join("..", "..", "examples", "local-cpu", "ort_multihw_224_t1.csv")
	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"profile", "--space", "fbnet", "--out", out, "--check-samples", "0", "--method", "sideways"}, "--method"},
		{[]string{"profile", "--space", "fbnet", "--out", out, "--check-samples", "-1"}, "--check-samples"},
		{[]string{"validate", "--device", table, "--space", "multihw", "--samples", "3"}, "--samples"},
	} {
		if _, _, err := run(t, c.args...); err == nil || !strings.HasPrefix(err.Error(), c.flag+": ") {
			t.Errorf("%v: error %v, want one starting with %s:", c.args, err, c.flag)
		}
	}
}

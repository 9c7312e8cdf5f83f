package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/data"
)

// run executes the CLI in-process and returns stdout, stderr and the error.
func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRoot(&out, &errb)
	root.SetArgs(args)
	err := execute(root)
	return out.String(), errb.String(), err
}

func TestModelsJSON(t *testing.T) {
	out, _, err := run(t, "models", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, out)
	}
	if len(rows) < 16 {
		t.Fatalf("%d models", len(rows))
	}
	byName := map[string]map[string]any{}
	for _, r := range rows {
		for _, k := range []string{"name", "resolution", "macs", "params", "params_with_bn_stats"} {
			if _, ok := r[k]; !ok {
				t.Errorf("row %v lacks %q", r["name"], k)
			}
		}
		byName[r["name"].(string)] = r
	}
	// Published: torchvision's MobileNetV2 has 3,504,872 parameters.
	if p := byName["MobileNetV2"]["params"].(float64); p != 3504872 {
		t.Errorf("MobileNetV2 params %v", p)
	}
}

// TestCostBackboneMatchesModelGarden drives the CLI exactly as the issue
// states it, for every row of Model Garden's expected counts.
func TestCostBackboneMatchesModelGarden(t *testing.T) {
	rows, err := csv.NewReader(bytes.NewReader(data.MustFile("models/model_garden_expected_params.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows[1:] {
		out, _, err := run(t, "cost", "--model", row[0], "--width", row[1], "--backbone", "--json")
		if err != nil {
			t.Fatalf("%v: %v", row, err)
		}
		var r struct {
			ParamsWithBNStats int64 `json:"params_with_bn_stats"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		want, _ := strconv.ParseInt(row[2], 10, 64)
		if r.ParamsWithBNStats != want {
			t.Errorf("%s x%s: %d, want %d", row[0], row[1], r.ParamsWithBNStats, want)
		}
	}
}

func TestArchRoundTripThroughFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "net.json")
	if _, _, err := run(t, "arch", "--model", "MobileNetV3Small", "--classes", "10", "-o", f); err != nil {
		t.Fatal(err)
	}
	a, _, err := run(t, "cost", "--arch", f, "--json")
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := run(t, "cost", "--model", "MobileNetV3Small", "--classes", "10", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("cost of the exported file differs from the model's:\n%s\n%s", a, b)
	}
	out, _, err := run(t, "cost", "--arch", f, "--layers", "--resolution", "160")
	if err != nil || !strings.Contains(out, "160x160x3") || !strings.Contains(out, "se.reduce") {
		t.Errorf("layers table: %v\n%s", err, out)
	}
}

func TestCLIErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"format":"fleetnas.network/v1","resolution":32,"blocks":[
 {"type":"conv","kernel":3,"stride":2,"filters":16,"activation":"relu"},
 {"type":"ibn","kernel":3,"stride":3,"filters":16,"expansion":6,"activation":"relu"}]}`), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"cost"}, "exactly one of"},
		{[]string{"cost", "--model", "MobileNetV2", "--arch", "x.json"}, "exactly one of"},
		{[]string{"cost", "--model", "NoSuchNet"}, `unknown model "NoSuchNet"`},
		{[]string{"cost", "--model", "MobileNetV2", "--width", "0"}, "width"},
		{[]string{"cost", "--model", "MobileNetV2", "--dtype", "int4"}, "--dtype"},
		{[]string{"cost", "--arch", bad}, "bad.json:3:2: block 1 (ibn): field \"stride\""},
		{[]string{"cost", "--arch", filepath.Join(dir, "missing.json")}, "missing.json"},
		{[]string{"cost", "--arch", bad, "--width", "2"}, "--width"},
		{[]string{"cost", "--space", "nosuch", "--choice", "x"}, `unknown search space "nosuch"`},
		{[]string{"cost", "--choice", "x"}, "exactly one of"},
		{[]string{"cost", "--model", "MobileNetV2", "--resolution", "-3"}, "--resolution"},
		{[]string{"cost", "--model", "MobileNetV2", "--bogus"}, "unknown flag"},
		{[]string{"space", "nosuch"}, "unknown search space"},
		{[]string{"space", "--sample", "3"}, "need a space NAME"},
		{[]string{"models", "extra"}, "unknown command"},
	}
	for _, c := range cases {
		_, _, err := run(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want it to mention %q", c.args, err, c.want)
		}
	}
}

func TestHelpOnEveryCommand(t *testing.T) {
	for _, c := range []string{"models", "cost", "arch", "space"} {
		out, _, err := run(t, c, "--help")
		if err != nil || !strings.Contains(out, "Usage:") {
			t.Errorf("%s --help: %v\n%s", c, err, out)
		}
	}
}

func TestLatencyJSON(t *testing.T) {
	const s = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
	out, _, err := run(t, "latency", "--fleet", "nb201-mobile", "--space", "nb201", "--choice", s, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Devices []struct {
			Name      string  `json:"name"`
			LatencyMS float64 `json:"latency_ms"`
			Ratio     float64 `json:"ratio"`
		} `json:"devices"`
		Avg, Max float64
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	// Galaxy S7: 62 ms for this cell, 23 ms for the ResNet reference (shared CSV).
	if len(r.Devices) != 6 || r.Devices[5].Name != "samsung_s7" || r.Devices[5].LatencyMS != 62 || r.Max != 62.0/23 {
		t.Errorf("%+v", r)
	}
	for _, args := range [][]string{
		{"latency", "--space", "nb201", "--choice", s},
		{"latency", "--fleet", "nosuch", "--space", "nb201", "--choice", s},
		{"latency", "--fleet", "nb201-mobile", "--model", "MobileNetV2"},
	} {
		if _, _, err := run(t, args...); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}

// TestCalibrateCommand fits a device from 300 of HELP's Pixel 2 FBNet
// measurements, saves it, and uses it in a fleet file.
func TestCalibrateCommand(t *testing.T) {
	rows, err := csv.NewReader(bytes.NewReader(data.MustFile("fbnet/fbnet_archs_latency.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("arch,latency_ms\n")
	for _, r := range rows[1:301] {
		b.WriteString(r[1] + "," + r[6] + "\n") // ops, pixel2_ms
	}
	meas := filepath.Join(dir, "pixel2.csv")
	os.WriteFile(meas, []byte(b.String()), 0o644)
	for _, kind := range []string{"linear", "lut", "roofline"} {
		saved := filepath.Join(dir, kind+".out")
		out, _, err := run(t, "calibrate", "--space", "fbnet", "--measurements", meas, "--kind", kind, "--folds", "3", "--save", saved, "--json")
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		var r struct {
			N        int
			Accuracy struct {
				MAPE     float64 `json:"mape_pct"`
				Within10 float64 `json:"within_10pct"`
			}
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil || r.N != 300 || !(r.Accuracy.MAPE > 0) {
			t.Errorf("%s: %v %s", kind, err, out)
		}
	}
	fl := `name: mine
devices:
  - {name: lin, kind: linear, space: fbnet, model_file: linear.out, reference: {target_ms: 30}}
  - {name: tab, kind: lut, table: lut.out, reference: {target_ms: 30}}
  - {name: roof, kind: calibrated, params_file: roofline.out, reference: {target_ms: 30}}
`
	fp := filepath.Join(dir, "mine.yaml")
	os.WriteFile(fp, []byte(fl), 0o644)
	out, _, err := run(t, "latency", "--fleet", fp, "--space", "fbnet", "--choice", rows[1][1], "--json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"name": "roof"`) {
		t.Errorf("%s", out)
	}
	if _, _, err := run(t, "calibrate", "--space", "fbnet", "--measurements", meas, "--kind", "oracle"); err == nil {
		t.Error("unknown kind accepted")
	}
	if _, _, err := run(t, "calibrate", "--space", "fbnet"); err == nil {
		t.Error("missing --measurements accepted")
	}
}

func TestSearchCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	out, _, err := run(t, "search", "--algo", "evolution", "--budget", "200", "--out", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "report.html") {
		t.Errorf("%s", out)
	}
	for _, f := range []string{"result.json", "history.csv", "pareto.csv", "report.html"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	// A finished run with the same settings is reused, not refused.
	if _, _, err := run(t, "search", "--algo", "evolution", "--budget", "200", "--out", dir); err != nil {
		t.Errorf("rerun of a finished search: %v", err)
	}
	// Library errors name settings; the command line names the flags
	// bound to them.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"search", "--algo", "annealing"}, "--algo: unknown search algorithm"},
		{[]string{"search", "--space", "darts"}, "--space: unknown search space"},
		{[]string{"search", "--metric", "device:iphone"}, `--metric: no device "iphone"`},
		{[]string{"search", "--metric", "mean"}, `unknown metric "mean"`},
		{[]string{"search", "--budget", "-1"}, "--budget: must be a positive number"},
		{[]string{"search", "--beta", "0.5"}, "--beta: must be negative"},
		{[]string{"search", "--holdout", "iphone"}, `--holdout: no device "iphone"`},
		{[]string{"search", "--resolution", "-3"}, "--resolution: must be positive"},
		{[]string{"search", "--resume"}, "--resume: no checkpoint"},
		{[]string{"search", "--lr", "-1", "--algo", "tunas"}, "--lr: tunas's must be a positive number"},
		{[]string{"search", "--population", "3", "--sample", "5"}, "--sample: evolution's tournament"},
		{[]string{"search", "--accuracy", "supernet"}, "--data: the supernet needs the images"},
		{[]string{"search", "--accuracy", "supernet", "--algo", "evolution"}, "--algo: \"evolution\" cannot search"},
		{[]string{"search", "--accuracy", "supernet", "--data", "fashion-mnist", "--proxy-width", "1.5"}, "--proxy-width: must be in (0, 1]"},
		{[]string{"search", "--accuracy", "supernet", "--data", "fashion-mnist", "--batch", "1"}, "--batch: must be at least 2"},
		{[]string{"search", "--accuracy", "supernet", "--data", "fashion-mnist", "--weights-lr", "-1"}, "--weights-lr: must be a positive"},
	} {
		out := filepath.Join(t.TempDir(), "run")
		_, _, err := run(t, append(c.args, "--out", out)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%v: a refused search left %s", c.args, out)
		}
	}
}

func TestBenchCommands(t *testing.T) {
	out, _, err := run(t, "bench", "search", "--algos", "random,evolution", "--budgets", "50,100", "--seeds", "3", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Summary []struct {
			Algo     string
			Budget   int
			HitShare float64 `json:"hit_share"`
		}
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || len(r.Summary) != 4 {
		t.Fatalf("%v %s", err, out)
	}
	out, _, err = run(t, "bench", "multihw", "--holdout", "samsung_s7")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "samsung_s7*") || !strings.Contains(out, "device:pixel3") || strings.Contains(out, "device:samsung_s7") {
		t.Errorf("%s", out)
	}
	if _, _, err := run(t, "bench", "search", "--budgets", "x"); err == nil {
		t.Error("bad --budgets accepted")
	}
}

// writeIDX writes a tiny IDX data set: class k images are bright in row k.
func writeIDX(t *testing.T, dir, prefix string, n int) {
	t.Helper()
	img := []byte{0, 0, 8, 3, 0, 0, 0, byte(n), 0, 0, 0, 8, 0, 0, 0, 8}
	lab := []byte{0, 0, 8, 1, 0, 0, 0, byte(n)}
	for i := 0; i < n; i++ {
		k := i % 4
		for p := 0; p < 64; p++ {
			v := byte(20)
			if p/8 == 2*k {
				v = 230
			}
			img = append(img, v)
		}
		lab = append(lab, byte(k))
	}
	os.WriteFile(filepath.Join(dir, prefix+"-images-idx3-ubyte"), img, 0o644)
	os.WriteFile(filepath.Join(dir, prefix+"-labels-idx1-ubyte"), lab, 0o644)
}

func TestTrainAndEvalCommands(t *testing.T) {
	dir := t.TempDir()
	writeIDX(t, dir, "train", 128)
	writeIDX(t, dir, "t10k", 32)
	net := filepath.Join(dir, "net.json")
	os.WriteFile(net, []byte(`{"format": "fleetnas.network/v1", "resolution": 8, "input_channels": 1, "blocks": [
 {"type": "conv", "kernel": 3, "filters": 8, "activation": "relu"},
 {"type": "ibn", "kernel": 3, "stride": 2, "filters": 8, "expansion": 2, "activation": "relu"},
 {"type": "gpool"}, {"type": "fc", "filters": 4}]}`), 0o644)
	out := filepath.Join(dir, "run")
	res, _, err := run(t, "train", "--arch", net, "--data", "idx:"+dir, "--epochs", "3", "--batch", "16", "--lr", "0.05",
		"--crop-pad", "0", "--flip=false", "--out", out, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		TestAccuracy float64 `json:"test_accuracy"`
	}
	if err := json.Unmarshal([]byte(res), &r); err != nil {
		t.Fatal(err)
	}
	// Four trivially separable classes: far above chance (25%).
	if r.TestAccuracy < 60 {
		t.Errorf("test accuracy %.1f%%", r.TestAccuracy)
	}
	ev, _, err := run(t, "eval", "--checkpoint", filepath.Join(out, "checkpoint.json"), "--data", "idx:"+dir)
	if err != nil || !strings.Contains(ev, fmt.Sprintf("%.2f%%", r.TestAccuracy)) {
		t.Errorf("eval: %v %s (train said %.2f%%)", err, ev, r.TestAccuracy)
	}
	if _, _, err := run(t, "train", "--arch", net, "--data", "idx:"+filepath.Join(dir, "missing")); err == nil {
		t.Error("missing data accepted")
	}
	// A checkpoint stands for its network wherever a network file does:
	// cost, latency, and export with its own weights.
	ckpt := filepath.Join(out, "checkpoint.json")
	a, _, err1 := run(t, "cost", "--arch", net, "--json")
	b, _, err2 := run(t, "cost", "--arch", ckpt, "--json")
	if err1 != nil || err2 != nil || a != b {
		t.Errorf("cost of the checkpoint differs from its network's (%v, %v):\n%s\n%s", err1, err2, a, b)
	}
	if _, _, err := run(t, "latency", "--fleet", "ridgepoint", "--arch", ckpt); err != nil {
		t.Errorf("latency --arch CHECKPOINT: %v", err)
	}
	onnxOut := filepath.Join(dir, "m.onnx")
	if o, _, err := run(t, "export", "--onnx", onnxOut, "--arch", net, "--weights", ckpt); err != nil || !strings.Contains(o, "input [1 1 8 8], output [1 4]") {
		t.Errorf("export --arch F --weights C: %v %s", err, o)
	}
	other := filepath.Join(dir, "other.json")
	os.WriteFile(other, []byte(`{"format": "fleetnas.network/v1", "resolution": 8, "input_channels": 1, "blocks": [
 {"type": "conv", "kernel": 3, "filters": 16, "activation": "relu"}, {"type": "gpool"}, {"type": "fc", "filters": 4}]}`), 0o644)
	if _, _, err := run(t, "export", "--onnx", onnxOut, "--arch", other, "--weights", ckpt); err == nil || !strings.Contains(err.Error(), "is not the network of --weights") {
		t.Errorf("export with another network's file: %v", err)
	}
}

// TestSpaceSampleNear: --near keeps only draws whose fleet metric is within
// the tolerance, in draw order (so they are a subsequence of the plain
// draws of the same seed), and an unreachable value is an error.
func TestSpaceSampleNear(t *testing.T) {
	out, _, err := run(t, "space", "multihw", "--sample", "4", "--fleet", "ridgepoint", "--metric", "max", "--near", "0.9", "--tolerance", "0.05", "--seed", "3", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Samples []struct {
			Choice string
			Metric float64
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Samples) != 4 {
		t.Fatalf("%d samples, want 4", len(got.Samples))
	}
	plain, _, err := run(t, "space", "multihw", "--sample", "2000", "--seed", "3", "--strings")
	if err != nil {
		t.Fatal(err)
	}
	draws := strings.Split(strings.TrimSpace(plain), "\n")
	k := 0
	for _, s := range got.Samples {
		if s.Metric < 0.9*0.95 || s.Metric > 0.9*1.05 {
			t.Errorf("%s: metric %v is not within 5%% of 0.9", s.Choice, s.Metric)
		}
		for k < len(draws) && draws[k] != s.Choice {
			k++
		}
		if k == len(draws) {
			t.Errorf("%s is not among the seed's draws in order", s.Choice)
		}
	}
	if _, _, err := run(t, "space", "multihw", "--sample", "1", "--fleet", "ridgepoint", "--near", "50", "--max-draws", "300"); err == nil || !strings.Contains(err.Error(), "within") {
		t.Errorf("unreachable --near: %v", err)
	}
}

// TestTrainEpochsNeedData: --train-epochs trains on --data (the whole
// path is TestSearchShipsThePricedNetwork).
func TestTrainEpochsNeedData(t *testing.T) {
	if _, _, err := run(t, "search", "--train-epochs", "2"); err == nil || !strings.Contains(err.Error(), "--data") {
		t.Errorf("--train-epochs without --data: %v", err)
	}
	if _, _, err := run(t, "search", "--train-epochs", "-1"); err == nil || !strings.Contains(err.Error(), "--train-epochs") {
		t.Errorf("--train-epochs -1: %v", err)
	}
}

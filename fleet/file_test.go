package fleet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFleetFileMixesBuiltinAndTable(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "phone.csv"), []byte("arch,latency_ms\n"+
		NB201ResNet+",20\n"+
		"|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|,30\n"), 0o644)
	fl := `name: mixed
devices:
  - name: pixel3
    from: nb201-mobile
    weight: 2
  - name: my_phone
    kind: table
    space: nb201
    measurements: phone.csv
    reference: {space: nb201, choice: "` + NB201ResNet + `"}
`
	p := filepath.Join(dir, "fleet.yaml")
	os.WriteFile(p, []byte(fl), 0o644)
	f, err := ReadFile(p, mustZoo(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Devices) != 2 || f.Devices[0].Weight != 2 || f.Devices[1].RefMS != 20 {
		t.Errorf("%+v %+v", f.Devices[0], f.Devices[1])
	}
	// JSON is read too.
	js := `{"name": "j", "devices": [{"name": "fpga", "from": "nb201-mobile", "reference": {"target_ms": 4}}]}`
	pj := filepath.Join(dir, "f.json")
	os.WriteFile(pj, []byte(js), 0o644)
	g, err := ReadFile(pj, mustZoo(t))
	if err != nil || g.Devices[0].RefMS != 4 {
		t.Errorf("json: %v", err)
	}
}

func TestFleetFileErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ name, in, want string }{
		{"empty", "", "empty fleet file"},
		{"syntax", "name: [", "f.yaml"},
		{"no name", "devices: []\n", "field name"},
		{"no devices", "name: x\n", "at least one device"},
		{"unknown top", "name: x\ncolour: red\ndevices: []\n", "colour"},
		{"unknown device field", "name: x\ndevices:\n  - name: a\n    from: nb201-mobile/pixel3\n    wieght: 2\n", "line 5"},
		{"unknown kind", "name: x\ndevices:\n  - name: a\n    kind: oracle\n    reference: {target_ms: 1}\n", "f.yaml:3: device a: field kind: unknown device kind \"oracle\""},
		{"no kind", "name: x\ndevices:\n  - name: a\n    reference: {target_ms: 1}\n", "field kind: required"},
		{"no reference", "name: x\ndevices:\n  - name: a\n    kind: table\n", "field reference: required"},
		{"two references", "name: x\ndevices:\n  - name: pixel3\n    from: nb201-mobile\n    reference: {target_ms: 1, model: MobileNetV2}\n", "exactly one of"},
		{"bad target", "name: x\ndevices:\n  - name: pixel3\n    from: nb201-mobile\n    reference: {target_ms: -1}\n", "positive"},
		{"bad builtin", "name: x\ndevices:\n  - name: a\n    from: nofleet\n", "unknown fleet \"nofleet\""},
		{"bad builtin device", "name: x\ndevices:\n  - name: iphone\n    from: nb201-mobile\n", "no device \"iphone\""},
		{"duplicate", "name: x\ndevices:\n  - name: pixel3\n    from: nb201-mobile\n  - name: pixel3\n    from: nb201-mobile\n", "appears twice"},
		{"negative weight", "name: x\ndevices:\n  - name: pixel3\n    from: nb201-mobile\n    weight: -1\n", "weight"},
		{"missing csv", "name: x\ndevices:\n  - name: a\n    kind: table\n    space: nb201\n    measurements: nope.csv\n    reference: {target_ms: 1}\n", "nope.csv"},
		{"bad reference model", "name: x\ndevices:\n  - name: pixel3\n    from: nb201-mobile\n    reference: {model: ResNet50}\n", "unknown model"},
		{"reference not priceable", "name: x\ndevices:\n  - name: pixel3\n    from: nb201-mobile\n    reference: {model: MobileNetV2}\n", "cannot be looked up"},
	}
	for _, c := range cases {
		_, err := Read([]byte(c.in), "f.yaml", dir, mustZoo(t))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func TestFleetFileRoofline(t *testing.T) {
	dir := t.TempDir()
	fl := `name: edge
resolution: 160
devices:
  - name: npu
    kind: roofline
    reference: {model: MobileNetV2}
    params:
      peak_gmacs: 1000
      bandwidth_gbs: 10
      bytes_per_element: 1
      efficiency: {conv1x1: 1, convkxk: 1, depthwise: 1, fc: 1, matmul: 1, elementwise: 1}
  - name: pixel6_cpu
    from: mnv4
`
	f, err := Read([]byte(fl), "f.yaml", dir, mustZoo(t))
	if err != nil {
		t.Fatal(err)
	}
	if f.Resolution != 160 || f.Devices[0].RefMS <= 0 || f.Devices[1].Kind != "calibrated" {
		t.Errorf("%+v", f)
	}
	fl = strings.Split(fl, "  - name: pixel6_cpu")[0]
	bad := strings.Replace(fl, "peak_gmacs: 1000", "peak_gflops: 1000", 1)
	if _, err := Read([]byte(bad), "f.yaml", dir, mustZoo(t)); err == nil || !strings.Contains(err.Error(), "peak_gflops") {
		t.Errorf("unknown parameter: %v", err)
	}
	bad = strings.Replace(fl, "bandwidth_gbs: 10", "bandwidth_gbs: -10", 1)
	if _, err := Read([]byte(bad), "f.yaml", dir, mustZoo(t)); err == nil || !strings.Contains(err.Error(), "bandwidth") {
		t.Errorf("negative bandwidth: %v", err)
	}
}

func FuzzReadFleet(f *testing.F) {
	f.Add([]byte("name: x\ndevices:\n  - name: pixel3\n    from: nb201-mobile\n"))
	f.Add([]byte(`{"name": "j", "devices": [{"name": "fpga", "from": "nb201-mobile", "reference": {"target_ms": 4}}]}`))
	f.Add([]byte("name: x\ndevices:\n  - name: a\n    kind: table\n    reference: {target_ms: 1}\n"))
	z := mustZoo(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		fl, err := Read(b, "fuzz.yaml", t.TempDir(), z)
		if err != nil {
			return
		}
		for _, d := range fl.Devices {
			if !(d.RefMS > 0) || !(d.Weight > 0) {
				t.Fatalf("accepted device %+v", d)
			}
		}
	})
}

package arch

import (
	"errors"
	"strings"
	"testing"
)

// TestMakeDivisible uses widths that Model Garden's MobileNetV3 notes list:
// SE widths 72->24, 120->32, 480->120, 672->168, 960->240 (x0.25), and
// expansion widths 80*2.5=200, 80*2.3=184.
func TestMakeDivisible(t *testing.T) {
	cases := []struct {
		v    float64
		div  int
		want int
	}{
		{18, 8, 24}, {30, 8, 32}, {120, 8, 120}, {168, 8, 168}, {240, 8, 240},
		{200, 8, 200}, {184, 8, 184}, {11.2, 8, 16}, {4, 8, 8}, {8, 1, 8}, {3.5, 1, 4},
	}
	for _, c := range cases {
		if got := MakeDivisible(c.v, c.div, 0); got != c.want {
			t.Errorf("MakeDivisible(%g, %d) = %d, want %d", c.v, c.div, got, c.want)
		}
	}
	if got := ScaleFilters(1024, 0.25, 1); got != 256 {
		t.Errorf("ScaleFilters(1024, 0.25, 1) = %d", got)
	}
	if got := ScaleFilters(16, 0.25, 1); got != 8 {
		t.Errorf("ScaleFilters(16, 0.25, 1) = %d (min depth 8)", got)
	}
}

const good = `{
  "format": "fleetnas.network/v1",
  "name": "tiny",
  "resolution": 32,
  "blocks": [
    {"type": "conv", "kernel": 3, "stride": 2, "filters": 16, "activation": "relu"},
    {"type": "ibn", "kernel": 5, "filters": 16, "expansion": 3, "activation": "relu"},
    {"type": "gpool"},
    {"type": "fc", "filters": 10}
  ]
}`

func TestDecodeGood(t *testing.T) {
	n, err := Decode([]byte(good), "tiny.json")
	if err != nil {
		t.Fatal(err)
	}
	g, err := n.Lower(0)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Output(); got != (Shape{1, 1, 10}) {
		t.Errorf("output %v", got)
	}
	// The IBN is residual (stride 1, 16 -> 16).
	var adds int
	for _, l := range g.Layers {
		if l.Op == OpAdd {
			adds++
		}
	}
	if adds != 1 {
		t.Errorf("%d residual adds, want 1", adds)
	}
	// Shapes follow 'same' padding at any resolution: 33 -> 17.
	g, err = n.Lower(33)
	if err != nil {
		t.Fatal(err)
	}
	if s := g.Tensors[g.BlockOut[0]]; s != (Shape{17, 17, 16}) {
		t.Errorf("stem at 33: %v", s)
	}
	out, err := n.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(out, "again.json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(back.Blocks) != 4 || back.Blocks[1].Expansion != 3 {
		t.Errorf("round trip: %+v", back)
	}
}

// TestDecodeErrors: each bad input is rejected with an error that names
// the place (file:line, block index, field).
func TestDecodeErrors(t *testing.T) {
	block := func(b string) string {
		return `{"format": "fleetnas.network/v1", "resolution": 32, "blocks": [
  {"type": "conv", "kernel": 3, "stride": 2, "filters": 16, "activation": "relu"},
  ` + b + `
]}`
	}
	cases := []struct {
		name, in string
		want     []string
	}{
		{"syntax", `{"format": "fleetnas.network/v1", "resolution": 32,, }`, []string{"f.json:1:", "invalid JSON"}},
		{"truncated", `{"format": "fleetnas.network/v1", "resolution": 32, "blocks": [`, []string{"f.json:", "end of input"}},
		{"no format", `{"resolution": 32, "blocks": [{"type":"gpool"}]}`, []string{`"format"`, "missing"}},
		{"wrong format", `{"format": "x/v9", "resolution": 32, "blocks": [{"type":"gpool"}]}`, []string{`"format"`, "not supported"}},
		{"unknown top field", `{"format": "fleetnas.network/v1", "resolution": 32, "colour": 1, "blocks": []}`, []string{"f.json:1:", `unknown field "colour"`}},
		{"duplicate field", `{"format": "fleetnas.network/v1", "resolution": 32, "resolution": 64, "blocks": []}`, []string{"appears twice"}},
		{"no blocks", `{"format": "fleetnas.network/v1", "resolution": 32, "blocks": []}`, []string{`"blocks"`, "at least one"}},
		{"zero resolution", `{"format": "fleetnas.network/v1", "resolution": 0, "blocks": [{"type":"gpool"}]}`, []string{`"resolution"`, "positive"}},
		{"string resolution", `{"format": "fleetnas.network/v1", "resolution": "big", "blocks": [{"type":"gpool"}]}`, []string{`"resolution"`, "expected int"}},
		{"unknown block", block(`{"type": "transformer", "filters": 16}`), []string{"f.json:3:", "block 1", `unknown block type "transformer"`}},
		{"missing type", block(`{"filters": 16}`), []string{"block 1", `"type"`, "missing"}},
		{"unknown field", block(`{"type": "ibn", "kernal": 3}`), []string{"block 1 (ibn)", `"kernal"`, "unknown field"}},
		{"field of another kind", block(`{"type": "conv", "kernel": 3, "filters": 8, "activation": "relu", "expansion": 6}`), []string{"block 1 (conv)", `"expansion"`, "does not apply"}},
		{"bad stride", block(`{"type": "ibn", "kernel": 3, "stride": 3, "filters": 16, "expansion": 6, "activation": "relu"}`), []string{"block 1 (ibn)", `"stride"`, "1 or 2"}},
		{"negative stride", block(`{"type": "ibn", "kernel": 3, "stride": -1, "filters": 16, "expansion": 6, "activation": "relu"}`), []string{"block 1 (ibn)", `"stride"`}},
		{"fractional stride", block(`{"type": "ibn", "kernel": 3, "stride": 1.5, "filters": 16, "expansion": 6, "activation": "relu"}`), []string{"block 1 (ibn)", `"stride"`, "expected int"}},
		{"zero filters", block(`{"type": "ibn", "kernel": 3, "filters": 0, "expansion": 6, "activation": "relu"}`), []string{"block 1 (ibn)", `"filters"`, "required"}},
		{"negative filters", block(`{"type": "conv", "kernel": 3, "filters": -4, "activation": "relu"}`), []string{"block 1 (conv)", `"filters"`, "positive"}},
		{"even kernel", block(`{"type": "ibn", "kernel": 4, "filters": 16, "expansion": 6, "activation": "relu"}`), []string{"block 1 (ibn)", `"kernel"`, "odd"}},
		{"missing kernel", block(`{"type": "ibn", "filters": 16, "expansion": 6, "activation": "relu"}`), []string{"block 1 (ibn)", `"kernel"`, "required"}},
		{"unknown activation", block(`{"type": "ibn", "kernel": 3, "filters": 16, "expansion": 6, "activation": "mish"}`), []string{"block 1 (ibn)", `"activation"`, `unknown activation "mish"`}},
		{"missing activation", block(`{"type": "ibn", "kernel": 3, "filters": 16, "expansion": 6}`), []string{"block 1 (ibn)", `"activation"`, "required"}},
		{"missing expansion", block(`{"type": "ibn", "kernel": 3, "filters": 16, "activation": "relu"}`), []string{"block 1 (ibn)", `"expansion"`, "required"}},
		{"huge expansion", block(`{"type": "ibn", "kernel": 3, "filters": 16, "expansion": 1e9, "activation": "relu"}`), []string{"block 1 (ibn)", `"expansion"`}},
		{"se ratio", block(`{"type": "ibn", "kernel": 3, "filters": 16, "expansion": 6, "se_ratio": 2, "activation": "relu"}`), []string{"block 1 (ibn)", `"se_ratio"`}},
		{"fc on a map", block(`{"type": "fc", "filters": 10}`), []string{"block 1 (fc)", "1x1 input", "16x16x16", "gpool"}},
		{"forced residual", block(`{"type": "ibn", "kernel": 3, "stride": 2, "filters": 16, "expansion": 6, "activation": "relu", "residual": true}`), []string{"block 1 (ibn)", `"residual"`, "stride 1"}},
		{"cell ops", block(`{"type": "nb201_cell", "ops": ["none"]}`), []string{"block 1 (nb201_cell)", `"ops"`, "6 edges"}},
		{"cell op name", block(`{"type": "nb201_cell", "ops": ["none","none","none","none","none","conv_7x7"]}`), []string{"block 1 (nb201_cell)", `"ops"`, `"conv_7x7"`}},
		{"cell width", block(`{"type": "nb201_cell", "filters": 32, "ops": ["none","none","none","none","none","none"]}`), []string{"block 1 (nb201_cell)", `"filters"`, "keeps"}},
		{"uib stride without dw", block(`{"type": "uib", "stride": 2, "filters": 16, "expansion": 4, "activation": "relu", "start_dw": 3}`), []string{"block 1 (uib)", `"middle_dw"`, "absent"}},
		{"groups", block(`{"type": "ibn", "kernel": 3, "filters": 16, "expansion": 3, "groups": 3, "activation": "relu"}`), []string{"block 1 (ibn)", `"groups"`}},
		{"block not object", block(`[1, 2]`), []string{"block 1", "JSON object"}},
		{"trailing data", good + ` {}`, []string{"after the network"}},
	}
	for _, c := range cases {
		_, err := Decode([]byte(c.in), "f.json")
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
}

func TestBlockErrorType(t *testing.T) {
	n := &Network{Format: Format, Resolution: 8, Blocks: []Block{{Type: Conv, Kernel: 3, Filters: 8}}}
	err := n.Validate()
	var be *BlockError
	if !errors.As(err, &be) || be.Index != 0 || be.Field != "activation" {
		t.Errorf("got %v", err)
	}
}

// TestTooSmallInput: a network whose downsampling outruns the input says so.
func TestTooSmallInput(t *testing.T) {
	n := &Network{Format: Format, Resolution: 2, Blocks: []Block{
		{Type: Conv, Kernel: 3, Stride: 2, Filters: 8, Activation: ReLU},
		{Type: Conv, Kernel: 3, Stride: 2, Filters: 8, Activation: ReLU},
	}}
	_, err := n.Lower(0)
	if err == nil || !strings.Contains(err.Error(), "too small") {
		t.Errorf("got %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte(`{"format": "fleetnas.network/v1", "resolution": 16, "blocks": [{"type": "nb201_cell", "ops": ["none","skip_connect","nor_conv_1x1","nor_conv_3x3","avg_pool_3x3","none"]}]}`))
	f.Add([]byte(`{"format": "fleetnas.network/v1", "resolution": 16, "blocks": [{"type": "uib", "stride": 2, "filters": 8, "expansion": 2, "activation": "relu", "start_dw": 3, "start_dw_downsample": true}]}`))
	f.Add([]byte(`{"format": "fleetnas.network/v1", "resolution": 16, "input_channels": 8, "blocks": [{"type": "mhsa", "heads": 2, "key_dim": 4, "value_dim": 4, "kv_stride": 2, "multi_query": true}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		n, err := Decode(in, "fuzz.json")
		if err != nil {
			return
		}
		// Whatever decodes must lower, encode and decode again.
		if _, err := n.Lower(0); err != nil {
			t.Fatalf("decoded but does not lower: %v", err)
		}
		out, err := n.Encode()
		if err != nil {
			t.Fatalf("decoded but does not encode: %v", err)
		}
		if _, err := Decode(out, "re.json"); err != nil {
			t.Fatalf("re-decode: %v\n%s", err, out)
		}
	})
}

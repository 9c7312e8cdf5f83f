package lut

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/data"
)

// note10Resolutions are the input resolutions of the embedded Once-for-All
// Note10 tables.
var note10Resolutions = []int{160, 176, 192, 208, 224}

// Note10Resolutions returns the resolutions Note10 has a table for.
func Note10Resolutions() []int { return slices.Clone(note10Resolutions) }

// Note10 returns the embedded Once-for-All table of a Samsung Note10 CPU
// at one input resolution (160, 176, 192, 208 or 224). It prices
// Once-for-All MobileNetV3 networks as Once-for-All's MBv3LatencyTable
// does; see ReadOFA for the mapping.
func Note10(resolution int) (*Table, error) {
	if !slices.Contains(note10Resolutions, resolution) {
		return nil, fmt.Errorf("lut: no Note10 table at resolution %d; the tables are for %v", resolution, note10Resolutions)
	}
	name := fmt.Sprintf("note10_%d", resolution)
	path := "lut/" + name + ".yaml"
	b, err := data.File(path)
	if err != nil {
		return nil, err
	}
	t, err := ReadOFA(bytes.NewReader(b), path)
	if err != nil {
		return nil, err
	}
	t.Name = name
	t.Source = fmt.Sprintf("Once-for-All Note10 CPU latency table at %d px (github.com/han-cai/files, MIT; data/%s)", resolution, path)
	return t, nil
}

// Pixel1 returns the embedded ProxylessNAS table of a Pixel 1 CPU at 224
// px. It prices networks of the proxyless space as ProxylessNAS's
// ProxylessNASLatencyTable does; see ReadProxyless for the mapping.
func Pixel1() (*Table, error) {
	const path = "lut/proxylessnas_pixel1_mobile.yaml"
	b, err := data.File(path)
	if err != nil {
		return nil, err
	}
	t, err := ReadProxyless(bytes.NewReader(b), path)
	if err != nil {
		return nil, err
	}
	t.Name = "proxylessnas_pixel1"
	t.Source = "ProxylessNAS Pixel 1 CPU latency table at 224 px (github.com/han-cai/files, MIT; data/" + path + ")"
	return t, nil
}

// flavour is the key convention of a YAML table.
type flavour int

const (
	// ofaMBv3 is Once-for-All's MBv3LatencyTable: expand is the expanded
	// width, with se and hs fields; ops Conv, expanded_conv, Conv_1,
	// AvgPool2D, Conv_2, Logits.
	ofaMBv3 flavour = iota
	// proxylessNAS is ProxylessNASLatencyTable: expand is the ratio, no se
	// or hs (ReLU6 everywhere); Logits includes the global pooling.
	proxylessNAS
)

// ReadOFA reads a Once-for-All MobileNetV3 latency table (YAML, one
// mapping per key with count, mean and std; mean in ms is the latency).
// Once-for-All's MBv3LatencyTable walks a network as first conv
// ("Conv"), one "expanded_conv" per MBConv block that is not a zero
// layer, "Conv_1" (final expand), "AvgPool2D", "Conv_2" (feature mix) and
// "Logits"; the keys map to arch blocks as follows:
//
//   - Conv-input:HxWx3-output:H'xW'xC: conv, kernel 3, stride 2, hswish;
//   - expanded_conv-input:..-output:..-expand:E-kernel:K-stride:S-idskip:R-se:X-hs:Y:
//     ibn with expanded width E (no expand conv when E equals the input
//     channels, as Once-for-All's expand-ratio-1 first block has none),
//     kernel K, stride S, residual R, squeeze-excite of width
//     make_divisible(E/4, 8) with a hard-sigmoid gate when X is 1 (arch's
//     se_ratio 0.25), hswish when Y is 1 else relu;
//   - Conv_1 and Conv_2 (input HxWxC, output HxWxD): conv, kernel 1,
//     hswish (Conv_2 has neither batch norm nor bias in Once-for-All;
//     signatures ignore both, see Signature);
//   - AvgPool2D: gpool;
//   - Logits-input:1x1xC-output:N: fc.
//
// name (a file name) prefixes every error, with the line of the key.
func ReadOFA(r io.Reader, name string) (*Table, error) {
	return readYAML(r, name, ofaMBv3)
}

// ReadProxyless reads a ProxylessNAS latency table (YAML, one mapping per
// key with count, mean and var). ProxylessNAS's ProxylessNASLatencyTable
// walks a network as "Conv" (3x3 stride-2 first conv), one
// "expanded_conv" per MBConv that is not a zero layer, "Conv_1" (feature
// mix) and "Logits" (global pooling and classifier together); the keys
// map to arch blocks as follows, every activation ReLU6:
//
//   - Conv: conv, kernel 3, stride 2;
//   - expanded_conv-...-expand:R-kernel:K-stride:S-idskip:I: ibn with
//     expanded width R times the input channels (no expand conv at R = 1),
//     kernel K, stride S, residual I, no squeeze-excite;
//   - Conv_1: conv, kernel 1;
//   - Logits-input:HxWxC-output:N: two entries, gpool on HxWxC carrying
//     the key's latency and fc from C to N carrying 0, so that a network
//     of gpool and fc blocks sums to exactly the key's latency.
func ReadProxyless(r io.Reader, name string) (*Table, error) {
	return readYAML(r, name, proxylessNAS)
}

// yamlKey is one top-level key of a YAML table and its latency.
type yamlKey struct {
	key  string
	line int
	mean float64
}

func readYAML(r io.Reader, name string, fl flavour) (*Table, error) {
	keys, err := readYAMLKeys(r, name)
	if err != nil {
		return nil, err
	}
	t := New(name, "", 0)
	first := map[string]int{}    // signature -> line of the key that set it
	rawFirst := map[string]int{} // raw key -> line
	for _, k := range keys {
		if l, dup := rawFirst[k.key]; dup {
			return nil, fmt.Errorf("%s:%d: key %q appears twice (first on line %d)", name, k.line, k.key, l)
		}
		rawFirst[k.key] = k.line
		sigs, err := keySignatures(k.key, k.mean, fl)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: key %q: %w", name, k.line, k.key, err)
		}
		for _, s := range sigs {
			str := s.sig.String()
			if l, dup := first[str]; dup {
				return nil, fmt.Errorf("%s:%d: key %q is the same op (%s) as the key on line %d", name, k.line, k.key, str, l)
			}
			first[str] = k.line
			if err := t.Set(s.sig, s.ms); err != nil {
				return nil, fmt.Errorf("%s:%d: key %q: %w", name, k.line, k.key, err)
			}
		}
	}
	return t, nil
}

// readYAMLKeys parses the YAML document: a mapping from key strings to
// mappings of count, mean and std (or var). Only mean is required.
func readYAMLKeys(r io.Reader, name string) ([]yamlKey, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, fmt.Errorf("%s: empty file: %w", name, errNoEntries)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: no YAML document: %w", name, errNoEntries)
		}
		return nil, fmt.Errorf("%s: invalid YAML: %w", name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s:%d: a latency table is one YAML document; found another", name, extra.Line)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, fmt.Errorf("%s: not a YAML document", name)
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: want a mapping from op keys to {count, mean, std}, got %s", name, top.Line, kindName(top))
	}
	if len(top.Content) == 0 {
		return nil, fmt.Errorf("%s:%d: %w", name, top.Line, errNoEntries)
	}
	keys := make([]yamlKey, 0, len(top.Content)/2)
	for i := 0; i+1 < len(top.Content); i += 2 {
		kn, vn := top.Content[i], top.Content[i+1]
		if kn.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s:%d: a key must be a string, got %s", name, kn.Line, kindName(kn))
		}
		k := yamlKey{key: kn.Value, line: kn.Line}
		if vn.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%s:%d: key %q: want a mapping with mean (ms), got %s", name, vn.Line, k.key, kindName(vn))
		}
		seen := map[string]bool{}
		hasMean := false
		for j := 0; j+1 < len(vn.Content); j += 2 {
			fk, fv := vn.Content[j], vn.Content[j+1]
			if fk.Kind != yaml.ScalarNode || fv.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("%s:%d: key %q: fields must be name: number", name, fk.Line, k.key)
			}
			if seen[fk.Value] {
				return nil, fmt.Errorf("%s:%d: key %q: field %q appears twice", name, fk.Line, k.key, fk.Value)
			}
			seen[fk.Value] = true
			switch fk.Value {
			case "count", "mean", "std", "var":
			default:
				return nil, fmt.Errorf("%s:%d: key %q: unknown field %q (want count, mean, std or var)", name, fk.Line, k.key, fk.Value)
			}
			v, err := strconv.ParseFloat(fv.Value, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return nil, fmt.Errorf("%s:%d: key %q: %s %q is not a finite number >= 0", name, fv.Line, k.key, fk.Value, fv.Value)
			}
			if fk.Value == "mean" {
				k.mean, hasMean = v, true
			}
		}
		if !hasMean {
			return nil, fmt.Errorf("%s:%d: key %q: no mean latency", name, kn.Line, k.key)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		return fmt.Sprintf("the scalar %q", n.Value)
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		return "an alias (anchors are not supported)"
	}
	return "nothing"
}

// sigMs is a signature and the latency the key assigns it.
type sigMs struct {
	sig Signature
	ms  float64
}

// keyField is one "name:value" part of a key.
type keyField struct{ name, value string }

// keyFields lists the fields each op's key has, in order.
func keyFields(op string, fl flavour) ([]string, bool) {
	switch op {
	case "Conv", "Conv_1", "Logits":
		return []string{"input", "output"}, true
	case "Conv_2", "AvgPool2D":
		return []string{"input", "output"}, fl == ofaMBv3
	case "expanded_conv":
		if fl == ofaMBv3 {
			return []string{"input", "output", "expand", "kernel", "stride", "idskip", "se", "hs"}, true
		}
		return []string{"input", "output", "expand", "kernel", "stride", "idskip"}, true
	}
	return nil, false
}

// keySignatures maps one key to the signatures it prices.
func keySignatures(key string, ms float64, fl flavour) ([]sigMs, error) {
	parts := strings.Split(key, "-")
	op := parts[0]
	want, ok := keyFields(op, fl)
	if !ok {
		ops := "Conv, expanded_conv, Conv_1, AvgPool2D, Conv_2, Logits"
		if fl == proxylessNAS {
			ops = "Conv, expanded_conv, Conv_1, Logits"
		}
		return nil, fmt.Errorf("unknown op %q; one of %s", op, ops)
	}
	if len(parts)-1 != len(want) {
		return nil, fmt.Errorf("%s keys have %d fields (%s), got %d", op, len(want), strings.Join(want, ", "), len(parts)-1)
	}
	v := map[string]string{}
	for i, p := range parts[1:] {
		n, val, ok := strings.Cut(p, ":")
		if !ok || n != want[i] {
			return nil, fmt.Errorf("field %d is %q, want %s:...", i+1, p, want[i])
		}
		v[n] = val
	}
	in, err := parseShape(v["input"])
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	var out arch.Shape
	if op == "Logits" {
		n, err := parseDim(v["output"], 1)
		if err != nil {
			return nil, fmt.Errorf("output: want the number of classes: %w", err)
		}
		out = arch.Shape{H: 1, W: 1, C: n}
	} else if out, err = parseShape(v["output"]); err != nil {
		return nil, fmt.Errorf("output: %w", err)
	}
	act := arch.HSwish
	if fl == proxylessNAS {
		act = arch.ReLU6
	}
	sameHW := func() error {
		if out.H != in.H || out.W != in.W {
			return fmt.Errorf("a 1x1 stride-1 conv keeps %dx%d, but the output is %dx%d", in.H, in.W, out.H, out.W)
		}
		return nil
	}
	switch op {
	case "Conv":
		if out.H != ceilDiv(in.H, 2) || out.W != ceilDiv(in.W, 2) {
			return nil, fmt.Errorf("the first conv has stride 2: %dx%d input gives %dx%d, not %dx%d", in.H, in.W, ceilDiv(in.H, 2), ceilDiv(in.W, 2), out.H, out.W)
		}
		return one(convSig(in, out.C, 3, 2, act), ms), nil
	case "Conv_1", "Conv_2":
		if err := sameHW(); err != nil {
			return nil, err
		}
		return one(convSig(in, out.C, 1, 1, act), ms), nil
	case "AvgPool2D":
		if out != (arch.Shape{H: 1, W: 1, C: in.C}) {
			return nil, fmt.Errorf("global pooling of %s gives 1x1x%d, not %s", in, in.C, out)
		}
		return one(gpoolSig(in), ms), nil
	case "Logits":
		if fl == ofaMBv3 {
			if in.H != 1 || in.W != 1 {
				return nil, fmt.Errorf("Logits follows the global pooling: want a 1x1 input, got %s", in)
			}
			return one(fcSig(in.C, out.C), ms), nil
		}
		// ProxylessNAS prices pooling and classifier as one key: the pool
		// carries the latency, the classifier 0.
		return []sigMs{{gpoolSig(in), ms}, {fcSig(in.C, out.C), 0}}, nil
	}
	// expanded_conv
	nums := map[string]int{}
	for _, f := range want[2:] {
		n, err := parseDim(v[f], 0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		nums[f] = n
	}
	k, s := nums["kernel"], nums["stride"]
	if k < 1 || k > 15 || k%2 == 0 {
		return nil, fmt.Errorf("kernel %d: want an odd size in 1..15", k)
	}
	if s != 1 && s != 2 {
		return nil, fmt.Errorf("stride %d: want 1 or 2", s)
	}
	if out.H != ceilDiv(in.H, s) || out.W != ceilDiv(in.W, s) {
		return nil, fmt.Errorf("stride %d on %dx%d gives %dx%d, not %dx%d", s, in.H, in.W, ceilDiv(in.H, s), ceilDiv(in.W, s), out.H, out.W)
	}
	for _, f := range []string{"idskip", "se", "hs"} {
		if n, ok := nums[f]; ok && n > 1 {
			return nil, fmt.Errorf("%s %d: want 0 or 1", f, n)
		}
	}
	res := nums["idskip"] == 1
	if res && (s != 1 || in.C != out.C) {
		return nil, fmt.Errorf("idskip:1 needs stride 1 and equal input and output channels (%s -> %s)", in, out)
	}
	exp := nums["expand"]
	if fl == proxylessNAS {
		if exp < 1 || exp > maxDim/in.C {
			return nil, fmt.Errorf("expand ratio %d: want 1..%d", exp, maxDim/in.C)
		}
		exp *= in.C
		act = arch.ReLU6
	} else if exp < 1 {
		return nil, errors.New("expand: the expanded width must be at least 1")
	}
	sig := Signature{Op: arch.IBN, In: in, Out: out.C, Kernel: k, Stride: s, Expanded: exp, Groups: 1, Act: act, Residual: res}
	if fl == ofaMBv3 {
		sig.Act = arch.ReLU
		if nums["hs"] == 1 {
			sig.Act = arch.HSwish
		}
		if nums["se"] == 1 {
			// Once-for-All's SEModule: make_divisible(mid // 4, 8), ReLU,
			// hard-sigmoid gate.
			sig.SE = arch.MakeDivisible(float64(exp/4), 8, 0)
		}
	}
	return one(sig, ms), nil
}

func one(s Signature, ms float64) []sigMs { return []sigMs{{s, ms}} }

func ceilDiv(x, s int) int { return (x + s - 1) / s }

// convSig is the signature of an arch conv block.
func convSig(in arch.Shape, out, k, s int, act arch.Activation) Signature {
	return Signature{Op: arch.Conv, In: in, Out: out, Kernel: k, Stride: s, Expanded: in.C, Groups: 1, Act: act}
}

// gpoolSig is the signature of an arch gpool block.
func gpoolSig(in arch.Shape) Signature {
	return Signature{Op: arch.GlobalPool, In: in, Out: in.C, Stride: 1, Expanded: in.C, Groups: 1, Act: arch.Identity}
}

// fcSig is the signature of an arch fc block without activation.
func fcSig(in, out int) Signature {
	return Signature{Op: arch.FC, In: arch.Shape{H: 1, W: 1, C: in}, Out: out, Stride: 1, Expanded: in, Groups: 1, Act: arch.Identity}
}

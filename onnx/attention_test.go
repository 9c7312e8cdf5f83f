package onnx_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/internal/orttest"
	"github.com/fleetnas/fleetnas/onnx"
)

// attentionReference computes the attention blocks of attentionNet in
// NumPy, NHWC, from the weights in the engine's layouts, written from
// MobileNetV4's definition (Keras multi-head attention: heads split the
// projection channels as head·dim + d, logits q·kᵀ/√key_dim, softmax over
// the keys, one shared key/value head with multi_query, keys and values
// downsampled by a strided depthwise + BN) — independently of the
// exporter's NCHW graph.
const attentionReference = `
import json, sys
import numpy as np
d = json.load(open(sys.argv[1]))
W = {k: np.array(v, dtype=np.float64) for k, v in d["weights"].items()}
x = np.array(d["input"], dtype=np.float64).reshape(d["h"], d["w"], d["c"])

def bn(x, name):
    return x / np.sqrt(1 + 1e-3) * W[name + ".bn.gamma"] + W[name + ".bn.beta"]

def conv1x1(x, name):
    return x @ W[name + ".w"].reshape(x.shape[-1], -1)

def dw(x, name, k, s):
    H, Wd, C = x.shape
    oh, ow = -(-H // s), -(-Wd // s)
    pt = max((oh - 1) * s + k - H, 0) // 2
    pl = max((ow - 1) * s + k - Wd, 0) // 2
    w = W[name + ".w"].reshape(k, k, C)
    out = np.zeros((oh, ow, C))
    for oy in range(oh):
        for ox in range(ow):
            for ky in range(k):
                for kx in range(k):
                    iy, ix = oy * s - pt + ky, ox * s - pl + kx
                    if 0 <= iy < H and 0 <= ix < Wd:
                        out[oy, ox] += x[iy, ix] * w[ky, kx]
    return bn(out, name)

for i, b in enumerate(d["blocks"]):
    p = str(i) + "."
    H, Wd, C = x.shape
    h, kd, vd = b["heads"], b["key_dim"], b["value_dim"]
    kvh = 1 if b.get("multi_query") else h
    xn = bn(x, p + "norm")
    kx = vx = xn
    if b.get("kv_stride", 1) > 1:
        kx = dw(xn, p + "key.dw", b.get("kv_kernel", 3), b["kv_stride"])
        vx = dw(xn, p + "value.dw", b.get("kv_kernel", 3), b["kv_stride"])
    q = conv1x1(xn, p + "query").reshape(H * Wd, h, kd).transpose(1, 0, 2)
    k = conv1x1(kx, p + "key").reshape(-1, kvh, kd).transpose(1, 0, 2)
    v = conv1x1(vx, p + "value").reshape(-1, kvh, vd).transpose(1, 0, 2)
    logits = q @ k.transpose(0, 2, 1) / np.sqrt(kd)
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs = e / e.sum(axis=-1, keepdims=True)
    ctx = (probs @ v).transpose(1, 0, 2).reshape(H, Wd, h * vd)
    o = conv1x1(ctx, p + "output")
    if b.get("layer_scale"):
        o = o * W[p + "layer_scale.gamma"]
    x = o + x
print(json.dumps(x.reshape(-1).tolist()))
`

func attentionNet() *arch.Network {
	return &arch.Network{Format: arch.Format, Resolution: 8, InputChannels: 16, Blocks: []arch.Block{
		{Type: arch.MHSA, Heads: 2, KeyDim: 8, ValueDim: 8, MultiQuery: true, KVStride: 2, LayerScale: true},
		{Type: arch.MHSA, Heads: 2, KeyDim: 4, ValueDim: 6},
	}}
}

// TestAttentionAgainstNumPy runs exported attention blocks in ONNX Runtime
// and compares with the NumPy reference (the Go engine has no attention).
func TestAttentionAgainstNumPy(t *testing.T) {
	orttest.Runtime(t)
	py := orttest.Python(t)
	net := attentionNet()
	g, err := net.Lower(0)
	if err != nil {
		t.Fatal(err)
	}
	w := onnx.GraphWeights(g, 3)
	x := randomInput(rand.New(rand.NewPCG(4, 4)), g.Tensors[0])
	got := runORT(t, g, w, x)
	path := filepath.Join(t.TempDir(), "case.json")
	b, err := json.Marshal(map[string]any{"weights": w.Params, "input": x.Data, "h": x.H, "w": x.W, "c": x.C, "blocks": net.Blocks})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", attentionReference, path).Output()
	if err != nil {
		t.Fatalf("numpy reference: %v", err)
	}
	var want []float64
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatalf("numpy reference output: %v", err)
	}
	if len(want) != len(got) {
		t.Fatalf("%d outputs, NumPy %d", len(got), len(want))
	}
	var d, s float64
	for i := range got {
		d = math.Max(d, math.Abs(float64(got[i])-want[i]))
		s = math.Max(s, math.Abs(want[i]))
	}
	t.Logf("max |ORT - NumPy| = %.3g (max |output| %.3g)", d, s)
	if d > 1e-4*math.Max(1, s) {
		t.Errorf("max |ORT - NumPy| = %g over outputs up to %g", d, s)
	}
}

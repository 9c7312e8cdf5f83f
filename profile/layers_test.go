package profile

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/arch"
)

// TestLayerTimes maps the node names of an ONNX Runtime profile to the
// layers of a three-layer network: "layer/Op_index" (as exported),
// "layer_nchwc" and "output_nchwc" (converted by ONNX Runtime), and
// conversions of no layer; each layer's time is its median over runs.
func TestLayerTimes(t *testing.T) {
	net := &arch.Network{Format: arch.Format, Resolution: 8, InputChannels: 8, Blocks: []arch.Block{
		{Type: arch.Conv, Kernel: 3, Filters: 16, Activation: arch.ReLU},
		{Type: arch.Conv, Kernel: 1, Filters: 16, Activation: arch.ReLU},
		{Type: arch.Conv, Kernel: 1, Filters: 8, Activation: arch.ReLU},
	}}
	g, err := net.Lower(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Layers) != 3 {
		t.Fatalf("%d layers", len(g.Layers))
	}
	a, b := g.Layers[0].Name, g.Layers[1].Name
	ev := func(name, op string, ts, dur int) string {
		return fmt.Sprintf(`{"cat":"Node","name":%q,"ts":%d,"dur":%d,"args":{"op_name":%q}}`, name+"_kernel_time", ts, dur, op)
	}
	var evs []string
	// Three runs; layer a takes 10, 30, 20 µs (median 20), b 5 each,
	// the last layer 7, 9, 8 (median 8), conversions 2 each.
	for r, us := range [][3]int{{10, 5, 7}, {30, 5, 9}, {20, 5, 8}} {
		base := 1000 * (r + 1)
		evs = append(evs, fmt.Sprintf(`{"cat":"Session","name":"model_run","ts":%d,"dur":500}`, base),
			ev("ReorderInput", "ReorderInput", base+1, 2),
			ev(a+"/Conv_0", "Conv", base+10, us[0]),
			ev(b+"_nchwc", "Conv", base+50, us[1]),
			ev("output_nchwc", "Conv", base+60, us[2]))
	}
	path := filepath.Join(t.TempDir(), "p.json")
	if err := os.WriteFile(path, []byte("["+strings.Join(evs, ",\n")+"]"), 0o644); err != nil {
		t.Fatal(err)
	}
	layers, other, err := LayerTimes(path, g)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.020, 0.005, 0.008}
	for i, l := range layers {
		if l.Layer != g.Layers[i].Name || math.Abs(l.Ms-want[i]) > 1e-12 {
			t.Errorf("layer %d: %+v, want %s %g ms", i, l, g.Layers[i].Name, want[i])
		}
	}
	if math.Abs(other-0.002) > 1e-12 {
		t.Errorf("conversions %g ms, want 0.002", other)
	}
}

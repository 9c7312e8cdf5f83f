package zoo

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"strconv"
	"testing"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/cost"
	"github.com/fleetnas/fleetnas/data"
)

func mustZoo(t *testing.T) *Zoo {
	t.Helper()
	z, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func costOf(t *testing.T, n *arch.Network, res int) *cost.Report {
	t.Helper()
	r, err := cost.Network(n, res, cost.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestModelGardenBackboneParams checks every backbone count that Model
// Garden's own tests expect (backbone.count_params(), BN statistics
// included), at widths 1.0 and 0.75.
func TestModelGardenBackboneParams(t *testing.T) {
	z := mustZoo(t)
	rows, err := csv.NewReader(bytes.NewReader(data.MustFile("models/model_garden_expected_params.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 30 {
		t.Fatalf("expected-params table has only %d rows", len(rows))
	}
	for _, row := range rows[1:] {
		w, _ := strconv.ParseFloat(row[1], 64)
		want, _ := strconv.ParseInt(row[2], 10, 64)
		n, err := z.Build(row[0], Options{Width: w, Backbone: true})
		if err != nil {
			t.Errorf("%s x%g: %v", row[0], w, err)
			continue
		}
		if got := costOf(t, n, 224).ParamsWithBNStats; got != want {
			t.Errorf("%s x%g: backbone params with BN stats = %d, Model Garden expects %d", row[0], w, got, want)
		}
	}
}

// TestPublishedFigures compares with the figures published for the
// classifiers at 224 with a 1000-class head: exact counts where a library
// publishes one (torchvision), else to the published precision.
func TestPublishedFigures(t *testing.T) {
	z := mustZoo(t)
	cases := []struct {
		model       string
		exactParams int64
		params      float64 // millions, published precision 0.1M
		macs        float64 // millions
		macsTol     float64 // millions
	}{
		{"MobileNetV2", 3504872, 3.5, 300, 1},      // torchvision; Sandler et al. 2018: 300M
		{"MobileNetV3Large", 5483032, 5.4, 217, 1}, // torchvision; TF-Slim README: 217M
		{"MobileNetV1", 0, 4.2, 569, 1},            // Howard et al. 2017: 569M, 4.2M
		{"MobileNetV3EdgeTPU", 0, 4.0, 990, 1},     // Model Garden EdgeTPU README: 990M, 4.0M
		{"MobileNetV3Small", 0, 2.5, 56, 1},        // Howard et al. 2019: 56M, 2.5M
	}
	for _, c := range cases {
		n, err := z.Build(c.model, Options{})
		if err != nil {
			t.Fatal(err)
		}
		r := costOf(t, n, 224)
		if c.exactParams != 0 && r.Params != c.exactParams {
			t.Errorf("%s: params %d, published %d", c.model, r.Params, c.exactParams)
		}
		if math.Abs(float64(r.Params)/1e6-c.params) > 0.1 {
			t.Errorf("%s: params %.3fM, published %.1fM", c.model, float64(r.Params)/1e6, c.params)
		}
		if math.Abs(float64(r.MACs)/1e6-c.macs) > c.macsTol {
			t.Errorf("%s: MACs %.1fM, published %.0fM", c.model, float64(r.MACs)/1e6, c.macs)
		}
	}
}

// TestWidthAndResolution checks the rounding rules on a hand-worked case:
// MobileNetV2 at 0.35 keeps the 1280 last layer (finegrain exemption) and
// rounds 32*0.35 = 11.2 to 16 (make_divisible with round-down protection),
// and MACs scale with the square of the resolution for a fully
// convolutional backbone.
func TestWidthAndResolution(t *testing.T) {
	z := mustZoo(t)
	n, err := z.Build("MobileNetV2", Options{Width: 0.35, Backbone: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Blocks[0].Filters; got != 16 {
		t.Errorf("stem filters at 0.35: %d, want 16", got)
	}
	if got := n.Blocks[len(n.Blocks)-1].Filters; got != 1280 {
		t.Errorf("last layer at 0.35: %d, want 1280 (exempt)", got)
	}
	v1, _ := z.Build("MobileNetV1", Options{Width: 0.25, Backbone: true})
	if got := v1.Blocks[len(v1.Blocks)-1].Filters; got != 256 {
		t.Errorf("MobileNetV1 last layer at 0.25: %d, want 256 (no exemption)", got)
	}
	if got := v1.Blocks[0].Filters; got != 8 {
		t.Errorf("MobileNetV1 stem at 0.25: %d, want 8 (divisor 1, min depth 8)", got)
	}
	full, _ := z.Build("MobileNetV2", Options{Backbone: true})
	a, b := costOf(t, full, 448), costOf(t, full, 224)
	if a.MACs != 4*b.MACs {
		t.Errorf("MACs at 448 (%d) are not 4x those at 224 (%d)", a.MACs, b.MACs)
	}
	if a.Params != b.Params {
		t.Errorf("params depend on resolution: %d vs %d", a.Params, b.Params)
	}
}

func TestClassesAndNames(t *testing.T) {
	z := mustZoo(t)
	n10, err := z.Build("mobilenet_v2", Options{Classes: 10})
	if err != nil {
		t.Fatal(err)
	}
	n1000, _ := z.Build("MobileNetV2", Options{})
	d := costOf(t, n1000, 0).Params - costOf(t, n10, 0).Params
	if want := int64(1280*990 + 990); d != want {
		t.Errorf("1000- vs 10-class head differ by %d params, want %d", d, want)
	}
	if _, err := z.Build("ResNet50", Options{}); err == nil {
		t.Error("unknown model accepted")
	}
	if _, err := z.Build("MobileNetV2", Options{Width: -1}); err == nil {
		t.Error("negative width accepted")
	}
	if _, err := z.Build("MobileNetV2", Options{Width: math.NaN()}); err == nil {
		t.Error("NaN width accepted")
	}
	for _, name := range z.Names() {
		info, err := z.Info(name)
		if err != nil || info.Resolution == 0 {
			t.Errorf("%s: info %+v %v", name, info, err)
		}
		n, err := z.Build(name, Options{})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		// The JSON form round-trips every reference model.
		js, err := n.Encode()
		if err != nil {
			t.Fatal(err)
		}
		back, err := arch.Decode(js, name+".json")
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, js)
		}
		if a, b := costOf(t, n, 0), costOf(t, back, 0); a.Totals != b.Totals {
			t.Errorf("%s: JSON round trip changed the cost: %+v vs %+v", name, a.Totals, b.Totals)
		}
	}
}

// TestOddResolutions: every model lowers at small and odd sizes.
func TestOddResolutions(t *testing.T) {
	z := mustZoo(t)
	for _, name := range z.Names() {
		for _, res := range []int{97, 160, 193} {
			n, err := z.Build(name, Options{Resolution: res})
			if err != nil {
				t.Errorf("%s at %d: %v", name, res, err)
				continue
			}
			if _, err := cost.Network(n, 0, cost.Options{}); err != nil {
				t.Errorf("%s at %d: %v", name, res, err)
			}
		}
	}
}

// TestSlimMobileNetV2Table compares MACs with the 22 width x resolution
// variants that TF-Slim's MobileNet README publishes (truncated to 1M).
// Slim's parameter column is not compared: slim's batch norm has no scale
// and its head has 1001 classes.
func TestSlimMobileNetV2Table(t *testing.T) {
	z := mustZoo(t)
	rows, err := csv.NewReader(bytes.NewReader(data.MustFile("published/published_latencies.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, row := range rows[1:] {
		var w float64
		var res int
		if n, _ := fmt.Sscanf(row[1], "MobileNetV2 %g %d", &w, &res); n != 2 || row[2] != "Pixel1 CPU" {
			continue
		}
		want, _ := strconv.ParseFloat(row[5], 64)
		n, err := z.Build("MobileNetV2", Options{Width: w, Resolution: res})
		if err != nil {
			t.Fatal(err)
		}
		got := float64(costOf(t, n, 0).MACs) / 1e6
		if got < want || got >= want+1 { // slim truncates to whole millions
			t.Errorf("MobileNetV2 %g @%d: %.2fM MACs, slim publishes %.0fM", w, res, got, want)
		}
		seen++
	}
	if seen != 22 {
		t.Errorf("found %d slim MobileNetV2 rows, want 22", seen)
	}
}

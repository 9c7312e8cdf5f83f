package latency

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/space"
	"github.com/fleetnas/fleetnas/zoo"
)

func zooNet(t testing.TB, model string, width float64, resolution int) *Net {
	t.Helper()
	z, err := zoo.New()
	if err != nil {
		t.Fatal(err)
	}
	nw, err := z.Build(model, zoo.Options{Width: width})
	if err != nil {
		t.Fatal(err)
	}
	n, err := FromNetwork(nw, resolution)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func spaceNet(t testing.TB, spaceName, choice string, resolution int) *Net {
	t.Helper()
	sp, err := space.Get(spaceName)
	if err != nil {
		t.Fatal(err)
	}
	c, err := sp.Parse(choice)
	if err != nil {
		t.Fatal(err)
	}
	n, err := FromSpace(sp, c, resolution)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestFingerprintIsStructure: the zoo's Multi-MAX and Multi-AVG and the
// multihw space's members of the same choice strings are one network each
// (the zoo graph has an extra global pool of the 1x1 head output, which
// computes nothing); different models, and one model at another
// resolution, are different networks.
func TestFingerprintIsStructure(t *testing.T) {
	zmax, zavg := zooNet(t, "MobileNetMultiMAX", 1, 224), zooNet(t, "MobileNetMultiAVG", 1, 224)
	smax := spaceNet(t, "multihw", space.MultiMAXChoice, 224)
	savg := spaceNet(t, "multihw", space.MultiAVGChoice, 224)
	if len(zmax.Graph.Layers) == len(smax.Graph.Layers) {
		t.Log("the zoo and space graphs of Multi-MAX have the same layer count; the identity-layer case is not exercised")
	}
	for _, c := range []struct {
		name string
		a, b *Net
		same bool
	}{
		{"zoo MAX vs space MAX", zmax, smax, true},
		{"zoo AVG vs space AVG", zavg, savg, true},
		{"MAX vs AVG", zmax, zavg, false},
		{"MAX at 224 vs 192", zmax, zooNet(t, "MobileNetMultiMAX", 1, 192), false},
		{"MAX x1 vs x1.5", zmax, zooNet(t, "MobileNetMultiMAX", 1.5, 224), false},
		{"MAX vs MobileNetV2", zmax, zooNet(t, "MobileNetV2", 1, 224), false},
	} {
		fa, fb := FingerprintOf(c.a.Graph), FingerprintOf(c.b.Graph)
		if got := SameStructure(c.a.Graph, c.b.Graph); got != c.same {
			t.Errorf("%s: SameStructure %v, want %v", c.name, got, c.same)
		}
		if (fa == fb) != c.same {
			t.Errorf("%s: fingerprints %v and %v, want equal=%v", c.name, fa, fb, c.same)
		}
	}
	if FingerprintOf(nil) != 0 || !SameStructure(nil, nil) || SameStructure(zmax.Graph, nil) {
		t.Error("nil graphs")
	}
	if s := FingerprintOf(zmax.Graph).String(); len(s) != 16 {
		t.Errorf("fingerprint string %q, want 16 hex digits", s)
	}
}

// TestLookupFindsByStructure: a measurement of the zoo's Multi-MAX is
// found for the multihw space's Multi-MAX (another name, another key, one
// layer fewer), and for nothing else. The latencies are arbitrary test
// values.
func TestLookupFindsByStructure(t *testing.T) {
	zmax, v2 := zooNet(t, "MobileNetMultiMAX", 1, 224), zooNet(t, "MobileNetV2", 1, 224)
	l, err := NewLookup([]MeasuredNet{{Name: "max row", Net: zmax, MS: 7.5}, {Name: "v2 row", Net: v2, MS: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 2 || len(l.Nets()) != 2 {
		t.Errorf("Len %d", l.Len())
	}
	smax := spaceNet(t, "multihw", space.MultiMAXChoice, 224)
	if m, ok := l.Find(smax); !ok || m.MS != 7.5 || m.Name != "max row" {
		t.Errorf("space Multi-MAX: %+v %v, want the max row", m, ok)
	}
	renamed := *v2
	renamed.Key = "not MobileNetV2"
	if ms, ok := l.Measurement(&renamed); !ok || ms != 3 {
		t.Errorf("renamed MobileNetV2: %g %v", ms, ok)
	}
	sp, _ := space.Get("multihw")
	for _, c := range space.Sample(sp, 20, 5) {
		n, err := FromSpace(sp, c, 224)
		if err != nil {
			t.Fatal(err)
		}
		if ms, ok := l.Measurement(n); ok && n.Key != space.MultiMAXChoice {
			t.Errorf("random network %s found as measured (%g ms)", n.Key, ms)
		}
	}
	for _, n := range []*Net{zooNet(t, "MobileNetMultiMAX", 1, 192), {Key: "no graph"}, nil} {
		if _, ok := l.Measurement(n); ok {
			t.Errorf("%v found", n)
		}
	}
	var none *Lookup
	if _, ok := none.Measurement(v2); ok || none.Len() != 0 || none.Nets() != nil {
		t.Error("nil lookup holds something")
	}
}

func TestNewLookupRejects(t *testing.T) {
	zmax := zooNet(t, "MobileNetMultiMAX", 1, 224)
	smax := spaceNet(t, "multihw", space.MultiMAXChoice, 224)
	cases := []struct {
		name string
		in   []MeasuredNet
		want string
	}{
		{"nil net", []MeasuredNet{{Name: "a"}}, "(a) has no graph"},
		{"no graph", []MeasuredNet{{Name: "a", Net: &Net{Key: "a"}, MS: 1}}, "(a) has no graph"},
		{"zero", []MeasuredNet{{Name: "a", Net: zmax, MS: 0}}, "(a): latency 0"},
		{"inf", []MeasuredNet{{Name: "a", Net: zmax, MS: math.Inf(1)}}, "(a): latency +Inf"},
		{"nan", []MeasuredNet{{Name: "a", Net: zmax, MS: math.NaN()}}, "(a): latency NaN"},
		{"same structure", []MeasuredNet{{Name: "zoo", Net: zmax, MS: 1}, {Name: "space", Net: smax, MS: 1.1}}, "0 (zoo) and 1 (space) have the same structure"},
	}
	for _, c := range cases {
		if _, err := NewLookup(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// anchoredModel answers with its lookup's measurement where it has one and
// a constant prediction otherwise: the contract of latency.Measured.
type anchoredModel struct {
	known *Lookup
	pred  float64
}

func (m anchoredModel) Latency(n *Net) (float64, error) {
	if v, ok := m.known.Measurement(n); ok {
		return v, nil
	}
	return m.pred, nil
}

func (m anchoredModel) Measurement(n *Net) (float64, bool) { return m.known.Measurement(n) }

type predictOnly struct{}

func (predictOnly) Latency(*Net) (float64, error) { return 0, ErrUnsupported }

func TestOfSaysMeasuredOrPredicted(t *testing.T) {
	v2, max := zooNet(t, "MobileNetV2", 1, 224), zooNet(t, "MobileNetMultiMAX", 1.5, 224)
	l, err := NewLookup([]MeasuredNet{{Name: "v2", Net: v2, MS: 5}})
	if err != nil {
		t.Fatal(err)
	}
	m := anchoredModel{known: l, pred: 9}
	if ms, meas, err := Of(m, v2); ms != 5 || !meas || err != nil {
		t.Errorf("measured network: %g %v %v", ms, meas, err)
	}
	if ms, meas, err := Of(m, max); ms != 9 || meas || err != nil {
		t.Errorf("predicted network: %g %v %v", ms, meas, err)
	}
	if !IsMeasured(m, v2) || IsMeasured(m, max) || IsMeasured(predictOnly{}, v2) {
		t.Error("IsMeasured")
	}
	if _, meas, err := Of(predictOnly{}, v2); meas || !errors.Is(err, ErrUnsupported) {
		t.Errorf("model without measurements: %v %v", meas, err)
	}
}

// TestWithRatiosByHand: ratio errors worked out by hand for a reference
// that is measured, one that is predicted, and a target.
func TestWithRatiosByHand(t *testing.T) {
	a, b, ref := zooNet(t, "MobileNetV1", 1, 224), zooNet(t, "MobileNetMultiAVG", 1, 224), zooNet(t, "MobileNetV2", 1, 224)
	held := []HeldOut{
		{Name: "a", Net: a, MeasuredMS: 10, PredictedMS: 11.5},
		{Name: "b", Net: b, MeasuredMS: 20, PredictedMS: 19},
		{Name: "ref", Net: ref, MeasuredMS: 5, PredictedMS: 6},
	}
	base := Accuracy{Method: "hand", N: 3, MAPE: 12.5}
	near := func(x, y float64) bool { return math.Abs(x-y) < 1e-9 }

	// Measured reference (5 ms), the reference's own row left out:
	// a: 11.5/5 = 2.3 vs 10/5 = 2, +15%; b: 19/5 = 3.8 vs 4, -5%.
	got, err := base.WithRatios(held, ref, 5, 5)
	if err != nil {
		t.Fatal(err)
	}
	if got.RatioN != 2 || !near(got.RatioMAPE, 10) || got.RatioWithin10 != 0.5 || got.MAPE != 12.5 || got.N != 3 {
		t.Errorf("measured reference: %+v", got)
	}
	// Predicted reference (5.5 ms, measured 5): a: (11.5/5.5)/2 - 1 =
	// 1/22; b: 1 - (19/5.5)/4 = 3/22; mean 1/11.
	got, err = base.WithRatios(held, ref, 5.5, 5)
	if err != nil {
		t.Fatal(err)
	}
	if got.RatioN != 2 || !near(got.RatioMAPE, 100.0/11) || got.RatioWithin10 != 0.5 {
		t.Errorf("predicted reference: %+v", got)
	}
	// Target 10 ms: every row counts and the ratio error is the latency
	// error: 15%, 5%, 20%.
	got, err = base.WithRatios(held, nil, 10, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got.RatioN != 3 || !near(got.RatioMAPE, 40.0/3) || !near(got.RatioWithin10, 1.0/3) {
		t.Errorf("target: %+v", got)
	}
	// Old figures are replaced, also by none.
	old := Accuracy{RatioN: 9, RatioMAPE: 1, RatioWithin10: 1}
	if got, err := old.WithRatios(nil, ref, 5, 5); err != nil || got.RatioN != 0 || got.RatioMAPE != 0 || got.RatioWithin10 != 0 {
		t.Errorf("no held-out networks: %+v %v", got, err)
	}
	for _, c := range []struct {
		name         string
		held         []HeldOut
		refMS, measR float64
		want         string
	}{
		{"zero reference", held, 0, 5, "reference latency 0"},
		{"nan measured reference", held, 5, math.NaN(), "reference latency NaN"},
		{"bad measurement", []HeldOut{{Name: "x", Net: a, MeasuredMS: 0, PredictedMS: 1}}, 5, 5, "held-out network 0 (x)"},
		{"bad prediction", []HeldOut{{Name: "x", Net: a, MeasuredMS: 1, PredictedMS: math.Inf(1)}}, 5, 5, "held-out network 0 (x)"},
	} {
		if _, err := base.WithRatios(c.held, ref, c.refMS, c.measR); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// TestAccuracyRatioJSONAndString: the JSON of the existing fields is
// unchanged, the ratio fields appear only when known, and the one-line
// summary carries them.
func TestAccuracyRatioJSONAndString(t *testing.T) {
	keys := func(a Accuracy) []string {
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		var k []string
		for key := range m {
			k = append(k, key)
		}
		slices.Sort(k)
		return k
	}
	old := []string{"kendall", "mape_pct", "median_ape_pct", "method", "n", "rmse_ms", "spearman", "within_10pct", "within_5pct"}
	a := Accuracy{Method: "m", N: 13, MAPE: 9.7, Within10: 0.62, Kendall: 0.95}
	if got := keys(a); !slices.Equal(got, old) {
		t.Errorf("keys without ratio figures: %v, want %v", got, old)
	}
	if got, want := a.String(), "MAPE 9.7%, 62% within ±10%, Kendall 0.95 (m, n=13)"; got != want {
		t.Errorf("String %q, want %q", got, want)
	}
	a.RatioN, a.RatioMAPE, a.RatioWithin10 = 12, 9.6, 0.67
	want := append(slices.Clone(old), "ratio_mape_pct", "ratio_n", "ratio_within_10pct")
	slices.Sort(want)
	if got := keys(a); !slices.Equal(got, want) {
		t.Errorf("keys with ratio figures: %v, want %v", got, want)
	}
	if got, want := a.String(), "MAPE 9.7%, 62% within ±10%, Kendall 0.95; ratio MAPE 9.6%, 67% within ±10% (m, n=13, ratio n=12)"; got != want {
		t.Errorf("String %q, want %q", got, want)
	}
	a.RatioN = 13
	if got := a.String(); strings.Contains(got, "ratio n=") {
		t.Errorf("String %q names the ratio count although it is n", got)
	}
	if got := Exact("table", 5).String(); got != "exact (table)" {
		t.Errorf("exact: %q", got)
	}
}

// BenchmarkLookupMiss is what a device anchored on measurements adds to
// pricing a search-space network it never measured.
func BenchmarkLookupMiss(b *testing.B) {
	l, err := NewLookup([]MeasuredNet{{Name: "v2", Net: zooNet(b, "MobileNetV2", 1, 224), MS: 5}})
	if err != nil {
		b.Fatal(err)
	}
	sp, _ := space.Get("multihw")
	var nets []*Net
	for _, c := range space.Sample(sp, 64, 1) {
		n, err := FromSpace(sp, c, 224)
		if err != nil {
			b.Fatal(err)
		}
		nets = append(nets, n)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.Measurement(nets[i%len(nets)])
	}
}

func BenchmarkFingerprint(b *testing.B) {
	n := spaceNet(b, "multihw", space.MultiMAXChoice, 224)
	for i := 0; i < b.N; i++ {
		FingerprintOf(n.Graph)
	}
}

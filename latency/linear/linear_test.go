package linear

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/space"
)

func fbnet(t testing.TB) space.Space {
	t.Helper()
	sp, err := space.Get("fbnet")
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// TestRecoverKnownModel fits noiseless data drawn from a known model of
// each kind and checks that the fit predicts unseen networks exactly.
// Predictions are compared, not weights: the same function has many
// one-hot parameterisations.
func TestRecoverKnownModel(t *testing.T) {
	sp := fbnet(t)
	ds := sp.Decisions()
	r := rand.New(rand.NewPCG(7, 8))
	// The true model uses one weight per (decision, choice), the first
	// choice included, so it is not in the fit's reference coding.
	main := make([][]float64, len(ds))
	for d := range main {
		main[d] = make([]float64, len(ds[d].Choices))
		for c := range main[d] {
			main[d][c] = r.Float64()
		}
	}
	pair := make([][]float64, len(ds)-1) // pair[d][a*9+b]
	for d := range pair {
		pair[d] = make([]float64, 81)
		for k := range pair[d] {
			pair[d][k] = 0.3 * r.Float64()
		}
	}
	truth := func(c []int, withPairs bool) float64 {
		s := 2.0
		for d, x := range c {
			s += main[d][x]
		}
		if withPairs {
			for d := range pair {
				s += pair[d][c[d]*9+c[d+1]]
			}
		}
		return s
	}
	train := space.Sample(sp, 4000, 1)
	test := space.Sample(sp, 500, 2)
	for _, tc := range []struct {
		name      string
		opt       Options
		withPairs bool
		logTarget bool
	}{
		{"additive", Options{}, false, false},
		{"additive-log", Options{Log: true}, false, true},
		{"additive-huber", Options{Loss: Huber}, false, false},
		{"pairwise", Options{Kind: Pairwise}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := func(c []int) float64 {
				v := truth(c, tc.withPairs)
				if tc.logTarget {
					return math.Exp(v / 4)
				}
				return v
			}
			y := make([]float64, len(train))
			for i, c := range train {
				y[i] = f(c)
			}
			m, err := Fit("fbnet", ds, train, y, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			var worst float64
			for _, c := range test {
				p, err := m.Predict(c)
				if err != nil {
					t.Fatal(err)
				}
				worst = math.Max(worst, math.Abs(p-f(c))/f(c))
			}
			if worst > 1e-9 {
				t.Errorf("worst relative error on unseen networks %g, want < 1e-9", worst)
			}
		})
	}
}

// TestTableDevicesExact fits the additive model to 4,000 networks of each
// HW-NAS-Bench table device and predicts the other 1,000. Those devices'
// latencies are sums of a per-(layer, op) table built independently of
// this package, so an exact prediction checks the one-hot map and the
// solver against outside numbers.
func TestTableDevicesExact(t *testing.T) {
	sp := fbnet(t)
	choices, devs, err := FBNetTables()
	if err != nil {
		t.Fatal(err)
	}
	if len(choices) != 5000 || len(devs) != 4 {
		t.Fatalf("%d networks, %d devices; want 5000 and 4", len(choices), len(devs))
	}
	train, test, err := Split(len(choices), 0.2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(train) != 4000 || len(test) != 1000 {
		t.Fatalf("split %d/%d, want 4000/1000", len(train), len(test))
	}
	for name, lat := range devs {
		trC, trY := pick(choices, lat, train)
		teC, teY := pick(choices, lat, test)
		m, err := Fit("fbnet", sp.Decisions(), trC, trY, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var worst float64
		for i, c := range teC {
			p, _ := m.Predict(c)
			worst = math.Max(worst, math.Abs(p-teY[i])/teY[i])
		}
		if worst > 1e-6 {
			t.Errorf("%s: worst relative error %g on 1000 held-out networks, want < 1e-6", name, worst)
		}
	}
}

func pick(choices [][]int, y []float64, idx []int) ([][]int, []float64) {
	c := make([][]int, len(idx))
	v := make([]float64, len(idx))
	for k, i := range idx {
		c[k], v[k] = choices[i], y[i]
	}
	return c, v
}

// TestPhonesCrossValidated is the calibration on the real phones: 5-fold
// CV of the additive TuNAS model and the robust log-space model. Only
// loose bounds are asserted; the figures are logged (go test -v).
func TestPhonesCrossValidated(t *testing.T) {
	if testing.Short() {
		t.Skip("5-fold CV on 5,000 networks")
	}
	sp := fbnet(t)
	choices, pixel2, s7, err := FBNetPhones()
	if err != nil {
		t.Fatal(err)
	}
	for _, dev := range []struct {
		name string
		y    []float64
	}{{"pixel2", pixel2}, {"samsung_s7", s7}} {
		floor, err := Floor(dev.y, 1)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-10s floor:    MAPE %5.2f%% median %5.2f%% ±5%% %.3f ±10%% %.3f Kendall %.3f", dev.name, floor.MAPE, floor.MedianAPE, floor.Within5, floor.Within10, floor.Kendall)
		var accs []latency.Accuracy
		for _, o := range []struct {
			name string
			opt  Options
		}{{"additive", TuNAS()}, {"robust", Robust()}} {
			a, err := CrossValidate("fbnet", sp.Decisions(), choices, dev.y, o.opt, 5, 1)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%-10s %-9s MAPE %5.2f%% median %5.2f%% ±5%% %.3f ±10%% %.3f Kendall %.3f Spearman %.3f", dev.name, o.name, a.MAPE, a.MedianAPE, a.Within5, a.Within10, a.Kendall, a.Spearman)
			if a.N != 5000 || a.MAPE < floor.MAPE || a.MAPE > 15 || a.Kendall < 0.4 {
				t.Errorf("%s %s: implausible CV figures %+v", dev.name, o.name, a)
			}
			accs = append(accs, a)
		}
		add, rob := accs[0], accs[1]
		if !(rob.MAPE < add.MAPE && rob.MedianAPE < add.MedianAPE && rob.Within10 > add.Within10) {
			t.Errorf("%s: the robust model does not beat the additive one: %v vs %v", dev.name, rob, add)
		}
	}
}

// TestCrossValidateDeterministic checks that the figures do not depend on
// how many folds run at once.
func TestCrossValidateDeterministic(t *testing.T) {
	sp := fbnet(t)
	choices, pixel2, _, err := FBNetPhones()
	if err != nil {
		t.Fatal(err)
	}
	choices, pixel2 = choices[:1500], pixel2[:1500]
	run := func(procs int) latency.Accuracy {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		a, err := CrossValidate("fbnet", sp.Decisions(), choices, pixel2, Robust(), 5, 3)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if a, b := run(1), run(4); a != b {
		t.Errorf("GOMAXPROCS 1 and 4 differ:\n%+v\n%+v", a, b)
	}
}

func TestLatencyChecksTheNetwork(t *testing.T) {
	sp := fbnet(t)
	choices := space.Sample(sp, 300, 5)
	y := make([]float64, len(choices))
	for i := range y {
		y[i] = 10 + float64(i%7)
	}
	m, err := Fit("fbnet", sp.Decisions(), choices, y, TuNAS())
	if err != nil {
		t.Fatal(err)
	}
	n, err := latency.FromSpace(sp, choices[0], 0)
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Predict(choices[0])
	if err != nil {
		t.Fatal(err)
	}
	if got, err := m.Latency(n); err != nil || got != want {
		t.Fatalf("Latency %g, %v; Predict %g", got, err, want)
	}
	bad := []*latency.Net{
		{Space: "nb201", Choice: choices[0]},
		{Key: "mobilenet_v2"},
		{Space: "fbnet", Choice: choices[0][:21]},
		{Space: "fbnet", Choice: append(append([]int(nil), choices[0][:21]...), 9)},
	}
	for i, b := range bad {
		_, err := m.Latency(b)
		if !errors.Is(err, latency.ErrUnsupported) || !strings.Contains(err.Error(), "fbnet") {
			t.Errorf("case %d: error %v, want ErrUnsupported naming fbnet", i, err)
		}
	}
	if _, err := m.Latency(nil); err == nil {
		t.Error("nil network accepted")
	}
	if _, err := m.Predict([]int{1, 2}); err == nil {
		t.Error("short choice vector accepted")
	}
}

func TestFitRejectsBadInput(t *testing.T) {
	sp := fbnet(t)
	ds := sp.Decisions()
	c := space.Sample(sp, 3, 1)
	for name, tc := range map[string]struct {
		choices [][]int
		y       []float64
		opt     Options
	}{
		"length mismatch":   {c, []float64{1, 2}, TuNAS()},
		"none":              {nil, nil, TuNAS()},
		"zero latency":      {c, []float64{1, 0, 2}, TuNAS()},
		"NaN latency":       {c, []float64{1, math.NaN(), 2}, TuNAS()},
		"bad choice":        {[][]int{{1, 2}}, []float64{1}, TuNAS()},
		"unknown kind":      {c, []float64{1, 2, 3}, Options{Kind: "mlp"}},
		"unknown loss":      {c, []float64{1, 2, 3}, Options{Loss: "l1"}},
		"negative ridge":    {c, []float64{1, 2, 3}, Options{Ridge: -1}},
		"pair ridge":        {c, []float64{1, 2, 3}, Options{PairRidge: 1}},
		"singular no ridge": {c, []float64{1, 2, 3}, Options{}},
	} {
		if _, err := Fit("fbnet", ds, tc.choices, tc.y, tc.opt); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Fit("", ds, c, []float64{1, 2, 3}, TuNAS()); err == nil {
		t.Error("empty space name accepted")
	}
}

// fakeSpace is fbnet with one choice renamed, to check that a model does
// not load against decisions it was not fit on.
type fakeSpace struct{ space.Space }

func (f fakeSpace) Decisions() []space.Decision {
	ds := f.Space.Decisions()
	ds[3].Choices[8] = "identity"
	return ds
}

func TestSaveLoad(t *testing.T) {
	sp := fbnet(t)
	choices, pixel2, _, err := FBNetPhones()
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range []Options{TuNAS(), Robust(), {Kind: Pairwise, Log: true, Ridge: 1, PairRidge: 300}} {
		m, err := Fit("fbnet", sp.Decisions(), choices[:2000], pixel2[:2000], opt)
		if err != nil {
			t.Fatal(err)
		}
		m.Accuracy = latency.Accuracy{Method: "test", N: 3, MAPE: 1}
		var buf bytes.Buffer
		if err := m.Save(&buf); err != nil {
			t.Fatal(err)
		}
		saved := buf.String()
		l, err := Load(strings.NewReader(saved), sp)
		if err != nil {
			t.Fatal(err)
		}
		if l.Accuracy != m.Accuracy || l.Options() != m.Options() || l.Measurements() != 2000 {
			t.Errorf("round trip lost metadata: %+v %+v", l.Accuracy, l.Options())
		}
		for _, c := range choices[2000:2100] {
			a, _ := m.Predict(c)
			b, _ := l.Predict(c)
			if a != b {
				t.Fatalf("%v: prediction %g after load, %g before", opt, b, a)
			}
		}
		nb, _ := space.Get("nb201")
		if _, err := Load(strings.NewReader(saved), nb); err == nil || !strings.Contains(err.Error(), "fbnet") {
			t.Errorf("loaded against nb201: %v", err)
		}
		if _, err := Load(strings.NewReader(saved), fakeSpace{sp}); err == nil || !strings.Contains(err.Error(), "decisions") {
			t.Errorf("loaded against changed decisions: %v", err)
		}
	}
	for name, bad := range map[string]string{
		"not json":      "{",
		"format":        `{"format":"x"}`,
		"unknown field": `{"format":"` + FileFormat + `","sapce":"fbnet"}`,
	} {
		if _, err := Load(strings.NewReader(bad), sp); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
	// Right space and fingerprint but the wrong number of weights.
	short := `{"format":"` + FileFormat + `","space":"fbnet","decisions_sha256":"` + Fingerprint("fbnet", sp.Decisions()) + `","options":{"kind":"additive"},"bias":1,"weights":[1,2]}`
	if _, err := Load(strings.NewReader(short), sp); err == nil || !strings.Contains(err.Error(), "weights") {
		t.Errorf("short weights: %v", err)
	}
}

func TestFeatures(t *testing.T) {
	ds := []space.Decision{{Name: "a", Choices: []string{"x", "y", "z"}}, {Name: "b", Choices: []string{"p", "q"}}, {Name: "c", Choices: []string{"only"}}}
	f, err := OneHot(ds)
	if err != nil {
		t.Fatal(err)
	}
	if f.Dim() != 3 {
		t.Errorf("additive dim %d, want 2+1+0", f.Dim())
	}
	g, err := NewFeatures(Pairwise, ds)
	if err != nil {
		t.Fatal(err)
	}
	// 3 main + a×b 2×1 + b×c 1×0.
	if g.Dim() != 5 {
		t.Errorf("pairwise dim %d, want 5", g.Dim())
	}
	want := []string{"a=y", "a=z", "b=q", "a=y&b=q", "a=z&b=q"}
	if got := strings.Join(g.Names(), " "); got != strings.Join(want, " ") {
		t.Errorf("names %s, want %s", got, strings.Join(want, " "))
	}
	act, err := g.Active([]int{2, 1, 0}, nil)
	if err != nil || len(act) != 3 || act[0] != 1 || act[1] != 2 || act[2] != 4 {
		t.Errorf("active %v, %v; want [1 2 4]", act, err)
	}
	if _, err := g.Active([]int{3, 0, 0}, nil); err == nil {
		t.Error("out-of-range choice accepted")
	}
	if _, err := NewFeatures(Additive, nil); err == nil {
		t.Error("no decisions accepted")
	}
	if _, err := NewFeatures(Additive, []space.Decision{{Name: "e"}}); err == nil {
		t.Error("decision without choices accepted")
	}
}

func TestSplit(t *testing.T) {
	tr, te, err := Split(10, 0.3, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr) != 7 || len(te) != 3 {
		t.Fatalf("%v %v", tr, te)
	}
	seen := map[int]bool{}
	for _, i := range append(append([]int(nil), tr...), te...) {
		if seen[i] || i < 0 || i >= 10 {
			t.Fatalf("index %d twice or out of range: %v %v", i, tr, te)
		}
		seen[i] = true
	}
	tr2, te2, _ := Split(10, 0.3, 4)
	if !slices.Equal(tr, tr2) || !slices.Equal(te, te2) {
		t.Error("same seed, different split")
	}
	for _, f := range []float64{0, 1, -0.5, math.NaN(), 0.01} {
		if _, _, err := Split(10, f, 1); err == nil {
			t.Errorf("fraction %g accepted", f)
		}
	}
}

// TestFloorByHand checks the quantisation floor on cases worked out by
// hand.
func TestFloorByHand(t *testing.T) {
	// 10 ms rounded to 1 ms: the true value is within ±5%, uniformly, so
	// the mean error is 2.5% and every prediction is within ±5%.
	a, err := Floor([]float64{10, 10, 10}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(a.MAPE-2.5) > 1e-12 || a.Within5 != 1 || a.Within10 != 1 || math.Abs(a.MedianAPE-2.5) > 1e-9 || a.Kendall != 0 {
		t.Errorf("all-tied floor %+v", a)
	}
	// 5 ms: true value within ±10%: half the mass is within ±5%.
	// 20 ms: within ±2.5%. MAPE (5 + 1.25)/2; Within5 (0.5+1)/2.
	b, err := Floor([]float64{5, 20}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(b.MAPE-3.125) > 1e-12 || math.Abs(b.Within5-0.75) > 1e-12 || b.Within10 != 1 || b.Kendall != 1 {
		t.Errorf("floor %+v", b)
	}
	// The median of the mixture U(0,10%) and U(0,2.5%): CDF at x (below
	// 2.5%) is (x/10 + x/2.5)/2 = x/4, so the median is 2%.
	if math.Abs(b.MedianAPE-2) > 1e-9 {
		t.Errorf("median %g, want 2", b.MedianAPE)
	}
	if _, err := Floor([]float64{1}, 1); err == nil {
		t.Error("one measurement accepted")
	}
	if _, err := Floor([]float64{1, -1}, 1); err == nil {
		t.Error("negative measurement accepted")
	}
	if _, err := Floor([]float64{1, 2}, 0); err == nil {
		t.Error("zero step accepted")
	}
}

package roofline

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/zoo"
)

// truth is the device synthetic measurements come from.
func truth() Params {
	return Params{
		PeakGMACs: 120, BandwidthGBs: 8, BytesPerElement: 1,
		Efficiency:      Efficiency{Conv1x1: 0.7, ConvKxK: 0.5, Depthwise: 0.3, FC: 0.5, MatMul: 0.3, Elementwise: 0.5},
		LayerOverheadMS: 0.02, ElementwiseOverheadMS: 0.01, NetworkOverheadMS: 0.3,
	}
}

// synthetic prices zoo networks on the true device and multiplies each by
// log-normal noise of the given relative size (seeded, so reproducible).
func synthetic(t *testing.T, p Params, noise float64) []Sample {
	t.Helper()
	m := mustModel(t, p)
	rng := rand.New(rand.NewPCG(1, 2))
	var out []Sample
	for _, n := range zooNets(t) {
		y, err := m.Latency(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Sample{Name: n.Key, Net: n, LatencyMS: y * math.Exp(noise*rng.NormFloat64())})
	}
	return out
}

// wrongPrior is the truth with every free knob off by a factor of 2 or
// more, so that recovery has to come from the data.
func wrongPrior() Params {
	p := truth()
	p.PeakGMACs *= 2.5
	p.BandwidthGBs /= 2
	p.Efficiency.Depthwise = 0.1
	p.LayerOverheadMS *= 3
	p.ElementwiseOverheadMS *= 3
	p.NetworkOverheadMS /= 2
	return p
}

var recoverKnobs = []Knob{KnobPeak, KnobBandwidth, KnobDepthwise, KnobOverhead, KnobNetworkOverhead}

func TestFitRecoversParameters(t *testing.T) {
	samples := synthetic(t, truth(), 0.02)
	fit, err := Fit(samples, wrongPrior(), FitOptions{Free: recoverKnobs, PriorSigma: map[Knob]float64{
		KnobPeak: 3, KnobBandwidth: 3, KnobDepthwise: 3, KnobOverhead: 3, KnobNetworkOverhead: 3}})
	if err != nil {
		t.Fatal(err)
	}
	tp := truth()
	want := map[Knob]struct{ v, tol float64 }{
		KnobPeak: {tp.PeakGMACs, 0.10}, KnobBandwidth: {tp.BandwidthGBs, 0.10},
		// Most depthwise layers sit near this device's ridge point, so
		// their efficiency is the least identified knob.
		KnobDepthwise: {tp.Efficiency.Depthwise, 0.25}, KnobOverhead: {tp.LayerOverheadMS, 0.25},
		KnobNetworkOverhead: {tp.NetworkOverheadMS, 0.5},
	}
	for i, k := range fit.Free {
		w := want[k]
		if !near(fit.Values[i], w.v, w.tol) {
			t.Errorf("%s: fitted %.4g, true %.4g (tolerance %.0f%%)", k, fit.Values[i], w.v, 100*w.tol)
		}
	}
	for i, r := range fit.LogResiduals {
		if math.Abs(r) > 0.08 {
			t.Errorf("%s: training residual %.3f with 2%% noise", samples[i].Name, r)
		}
	}
	// Without noise the truth is the exact optimum of the data term.
	exact, err := Fit(synthetic(t, truth(), 0), wrongPrior(), FitOptions{Free: recoverKnobs, Loss: Squares,
		PriorSigma: map[Knob]float64{KnobPeak: 100, KnobBandwidth: 100, KnobDepthwise: 100, KnobOverhead: 100, KnobNetworkOverhead: 100}})
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range exact.Free {
		if w := want[k]; !near(exact.Values[i], w.v, 0.02) {
			t.Errorf("noise-free %s: fitted %.5g, true %.5g", k, exact.Values[i], w.v)
		}
	}
}

func TestCrossValidateSynthetic(t *testing.T) {
	samples := synthetic(t, truth(), 0.03)
	opt := FitOptions{Free: recoverKnobs}
	acc, err := CrossValidate(samples, wrongPrior(), opt, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if acc.N != len(samples) || !strings.HasPrefix(acc.Method, "leave-one-out") {
		t.Errorf("accuracy %+v", acc)
	}
	// 3% noise: held-out errors should be of that size, ranks near perfect.
	if acc.MedianAPE > 5 || acc.MAPE > 6 || acc.Spearman < 0.97 {
		t.Errorf("leave-one-out on synthetic data: %+v", acc)
	}
	// A model that cannot fit (only the network constant free) must do
	// clearly worse: the statistic can fail.
	bad, err := CrossValidate(samples, wrongPrior(), FitOptions{Free: []Knob{KnobNetworkOverhead}}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if bad.MedianAPE < 2*acc.MedianAPE {
		t.Errorf("constant-only fit has median APE %.1f%%, full fit %.1f%%", bad.MedianAPE, acc.MedianAPE)
	}
	k5, err := CrossValidate(samples, wrongPrior(), opt, 5, 7)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(k5.Method, "5-fold") || k5.MedianAPE > 8 {
		t.Errorf("5-fold: %+v", k5)
	}
}

// TestDeterministic: the same cross-validation on one core and on many
// gives bit-identical predictions.
func TestDeterministic(t *testing.T) {
	samples := synthetic(t, truth(), 0.03)[:10]
	opt := FitOptions{Free: recoverKnobs}
	prev := runtime.GOMAXPROCS(1)
	one, err := HeldOut(samples, wrongPrior(), opt, 0, 0)
	runtime.GOMAXPROCS(max(prev, 4))
	if err != nil {
		t.Fatal(err)
	}
	many, err := HeldOut(samples, wrongPrior(), opt, 0, 0)
	runtime.GOMAXPROCS(prev)
	if err != nil {
		t.Fatal(err)
	}
	for i := range one {
		if one[i] != many[i] {
			t.Errorf("sample %d: %v on one core, %v on many", i, one[i], many[i])
		}
	}
}

func TestBadSamples(t *testing.T) {
	good := synthetic(t, truth(), 0)[:4]
	nan := append([]Sample(nil), good...)
	nan[1].LatencyMS = math.NaN()
	neg := append([]Sample(nil), good...)
	neg[2].LatencyMS = -1
	nilNet := append([]Sample(nil), good...)
	nilNet[0].Net = nil
	for _, c := range []struct {
		name    string
		samples []Sample
		prior   Params
		opt     FitOptions
		want    string
	}{
		{"none", nil, truth(), FitOptions{}, "no samples"},
		{"NaN latency", nan, truth(), FitOptions{}, "positive finite"},
		{"negative latency", neg, truth(), FitOptions{}, "positive finite"},
		{"nil net", nilNet, truth(), FitOptions{}, "no network graph"},
		{"bad prior", good, Params{}, FitOptions{}, "prior"},
		{"unknown knob", good, truth(), FitOptions{Free: []Knob{"speed"}}, "unknown knob"},
		{"twice", good, truth(), FitOptions{Free: []Knob{KnobPeak, KnobPeak}}, "twice"},
		{"bad sigma", good, truth(), FitOptions{PriorSigma: map[Knob]float64{KnobPeak: -1}}, "sigma"},
		{"bad loss", good, truth(), FitOptions{Loss: "cauchy"}, "loss"},
		{"zero knob", good, func() Params { p := truth(); p.NetworkOverheadMS = 0; return p }(),
			FitOptions{Free: []Knob{KnobNetworkOverhead}}, "positive prior"},
	} {
		_, err := Fit(c.samples, c.prior, c.opt)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	if _, err := CrossValidate(good[:1], truth(), FitOptions{}, 0, 0); err == nil {
		t.Error("cross-validation on one sample accepted")
	}
	// A sample the device cannot run is an unsupported error, not a fit.
	z, _ := zoo.New()
	hyb, _ := z.Build("MobileNetV4HybridMedium", zoo.Options{})
	p := truth()
	p.Unsupported = append(p.Unsupported, "matmul")
	_, err := Fit(append(good, Sample{Name: "hybrid", Net: mustNet(t, hyb), LatencyMS: 1}), p, FitOptions{})
	if !errors.Is(err, latency.ErrUnsupported) {
		t.Errorf("unsupported sample: %v", err)
	}
}

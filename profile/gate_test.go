package profile

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/fleetnas/fleetnas/internal/orttest"
	"github.com/fleetnas/fleetnas/space"
)

// TestQuietSpeed checks the canary's quiet speed on timings like those of
// this project's VM: a lucky outlier below the quiet cluster, the quiet
// cluster, and long stretches 30-50% slower. The median of the cluster
// (worked by hand: the timings within 4% of 0.205, i.e. <= 0.2132, are
// 0.205 0.209 0.210 0.211 0.212 0.213, median 0.2105) must come out, not the
// outlier and not anything the slow stretches pull up.
func TestQuietSpeed(t *testing.T) {
	levels := []float64{0.30, 0.31, 0.212, 0.205, 0.29, 0.211, 0.213, 0.33, 0.209, 0.217, 0.219, 0.210, 0.32, 0.31}
	if got := quietSpeed(levels); math.Abs(got-0.2105) > 1e-12 {
		t.Errorf("quiet speed %g, want 0.2105", got)
	}
	if got := quietSpeed([]float64{0.4}); got != 0.4 {
		t.Errorf("one timing: %g", got)
	}
	if got := quietSpeed(nil); !math.IsNaN(got) {
		t.Errorf("no timings: %g, want NaN", got)
	}
}

// TestGatedProfileAndValidate runs Profile and Validate with the quiet
// gate on, on the fbnet space (106 blocks at 32 px): the gate's
// bookkeeping must add up whatever the machine is doing, and the waiting
// stays within its budget (WaitShare 1: at most the time spent
// measuring, plus one poll).
func TestGatedProfileAndValidate(t *testing.T) {
	orttest.Runtime(t)
	sp, err := space.Get("fbnet")
	if err != nil {
		t.Fatal(err)
	}
	configs, _, err := Configs(sp, space.Options{}, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{MinRuns: 3, MinTimeMs: 1e-9, Warmup: 1, MaxWait: time.Second}
	tb, rep, err := Profile("gated", "test", configs, Context, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tb.Len() != len(configs) || rep.Slowed > len(configs)+50 || rep.WaitSeconds < 0 ||
		rep.WaitSeconds > rep.Seconds-rep.WaitSeconds+1 || !strings.Contains(tb.Source, "quiet gate 6%") {
		t.Errorf("report %+v; source %q", rep, tb.Source)
	}
	v, err := Validate(tb, sp, space.Options{}, 4, 1, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Rows) != 4 || v.Slowed > 4 || v.Remeasured > 4 || v.WaitSeconds < 0 {
		t.Errorf("validation %d rows, %d slowed, %d measured again, %.1f s waited", len(v.Rows), v.Slowed, v.Remeasured, v.WaitSeconds)
	}
	for _, r := range v.Rows {
		if !(r.Slowdown > 0) || !(r.MedianMs > 0) || !(r.PredictedMs > 0) {
			t.Errorf("row %+v: no gate reading, timing or prediction", r)
		}
	}
}

package profile

import (
	"math"
	"testing"
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

package profile

import (
	"errors"
	"testing"
	"time"

	"github.com/fleetnas/fleetnas/setting"
	"github.com/fleetnas/fleetnas/space"
)

// TestDefaultOptions: the zero Options stand for DefaultOptions, whose
// every defaulted field is set, and a field that is set is kept.
func TestDefaultOptions(t *testing.T) {
	d := DefaultOptions()
	if got := (Options{}).withDefaults(); got != d {
		t.Errorf("zero Options with defaults:\n%+v\nDefaultOptions:\n%+v", got, d)
	}
	if d.Threads == 0 || d.Warmup == 0 || d.MinRuns == 0 || d.MaxRuns < d.MinRuns || d.MinTimeMs == 0 ||
		d.Retries == 0 || d.Quiet == 0 || d.MaxWait == 0 || d.WaitShare == 0 {
		t.Errorf("DefaultOptions leaves a field zero: %+v", d)
	}
	set := Options{Threads: 2, Warmup: -1, MinRuns: 5, MaxRuns: 7, MinTimeMs: 1, Retries: -1, Quiet: -1, MaxWait: time.Second, WaitShare: 3}
	want := set
	want.Warmup, want.Retries = 0, 0 // negative: none
	if got := set.withDefaults(); got != want {
		t.Errorf("set fields changed:\n%+v\nwant\n%+v", got, want)
	}
}

// TestSettingErrors: the arguments of Configs, Profile and Validate that
// callers take from a user are reported under their setting names.
func TestSettingErrors(t *testing.T) {
	sp, err := space.Get("fbnet")
	if err != nil {
		t.Fatal(err)
	}
	check := func(what, name string, err error) {
		t.Helper()
		var se *setting.Error
		if !errors.As(err, &se) || se.Name != name {
			t.Errorf("%s: error %v, want one about %s", what, err, name)
		}
	}
	_, _, err = Configs(sp, space.Options{}, -1, 1)
	check("negative check samples", "check_samples", err)
	_, _, err = Profile("x", "y", nil, "sideways", Options{}, nil)
	check("unknown method", "method", err)
	_, err = Validate(nil, sp, space.Options{}, 3, 1, Options{}, nil)
	check("3 networks", "samples", err)
}

package table

import (
	"errors"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/space"
)

func nbNet(t *testing.T, s string) *latency.Net {
	t.Helper()
	sp, _ := space.Get("nb201")
	c, err := sp.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return &latency.Net{Space: "nb201", Choice: c, Key: s}
}

// TestNB201Rows compares lookups with rows of the shared CSV read by eye:
// arch_idx 0 and 1 (the first two data lines).
func TestNB201Rows(t *testing.T) {
	all, err := NB201All()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		arch string
		want map[string]float64
	}{
		{"|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
			map[string]float64{"pixel3": 3.606, "raspi4": 10.48, "eyeriss": 3.646, "fpga": 2.573, "pixel2": 9, "samsung_s7": 29}},
		{"|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
			map[string]float64{"pixel3": 17.24, "raspi4": 54.78, "eyeriss": 7.578, "fpga": 5.315, "pixel2": 17, "samsung_s7": 62}},
	}
	for _, c := range cases {
		for d, want := range c.want {
			got, err := all[d].Latency(nbNet(t, c.arch))
			if err != nil || got != want {
				t.Errorf("%s on %s: %g %v, want %g", c.arch, d, got, err, want)
			}
		}
	}
	if all["pixel3"].Len() != 15625 {
		t.Errorf("%d networks", all["pixel3"].Len())
	}
}

func TestOtherSpaceIsUnsupported(t *testing.T) {
	tb, err := NB201("pixel3")
	if err != nil {
		t.Fatal(err)
	}
	_, err = tb.Latency(&latency.Net{Space: "fbnet", Choice: make([]int, 22)})
	if !errors.Is(err, latency.ErrUnsupported) || !strings.Contains(err.Error(), "fbnet") {
		t.Errorf("got %v", err)
	}
	if _, err := NB201("iphone"); err == nil {
		t.Error("unknown device accepted")
	}
}

// TestUserCSV: a user's measurements of a large space are stored by key,
// and a network that was not measured is an error.
func TestUserCSV(t *testing.T) {
	sp, _ := space.Get("multihw")
	m, err := latency.ReadMeasurements(strings.NewReader("arch,latency_ms\n\""+space.MultiAVGChoice+"\",12.5\n"), "m.csv", sp)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := New("my-phone", sp, m)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := sp.Parse(space.MultiAVGChoice)
	if v, err := tb.Latency(&latency.Net{Space: "multihw", Choice: c, Key: space.MultiAVGChoice}); err != nil || v != 12.5 {
		t.Errorf("%g %v", v, err)
	}
	c2, _ := sp.Parse(space.MultiMAXChoice)
	if _, err := tb.Latency(&latency.Net{Space: "multihw", Choice: c2, Key: space.MultiMAXChoice}); !errors.Is(err, latency.ErrUnsupported) {
		t.Errorf("unmeasured network: %v", err)
	}
}

func BenchmarkNB201Lookup(b *testing.B) {
	tb, err := NB201("pixel3")
	if err != nil {
		b.Fatal(err)
	}
	n := &latency.Net{Space: "nb201", Choice: []int{3, 3, 4, 1, 3, 1}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n.Choice[i%6] = i % 5
		if _, err := tb.Latency(n); err != nil {
			b.Fatal(err)
		}
	}
}

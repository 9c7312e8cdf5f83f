package space

import (
	"slices"
	"strings"
	"testing"
)

// TestEverySpaceRoundTrips: for every registered space, uniform samples
// round-trip string <-> choice vector and build networks that lower at the
// default resolution; the same seed gives the same samples.
func TestEverySpaceRoundTrips(t *testing.T) {
	for _, name := range Names() {
		s, err := Get(name)
		if err != nil {
			t.Fatal(err)
		}
		if s.Name() != name {
			t.Errorf("space %q calls itself %q", name, s.Name())
		}
		a, b := Sample(s, 20, 7), Sample(s, 20, 7)
		for i := range a {
			if !slices.Equal(a[i], b[i]) {
				t.Fatalf("%s: same seed, different samples", name)
			}
			str, err := s.Format(a[i])
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			back, err := s.Parse(str)
			if err != nil || !slices.Equal(back, a[i]) {
				t.Fatalf("%s: %q parses to %v (%v), want %v", name, str, back, err, a[i])
			}
			n, err := s.Network(a[i], Options{})
			if err != nil {
				t.Fatalf("%s %s: %v", name, str, err)
			}
			if _, err := n.Lower(0); err != nil {
				t.Fatalf("%s %s: %v", name, str, err)
			}
		}
		bad := make([]int, len(s.Decisions()))
		bad[0] = len(s.Decisions()[0].Choices)
		if _, err := s.Network(bad, Options{}); err == nil || !strings.Contains(err.Error(), s.Decisions()[0].Name) {
			t.Errorf("%s: out-of-range choice: %v", name, err)
		}
		if _, err := s.Format(bad[:1]); err == nil {
			t.Errorf("%s: short choice vector accepted", name)
		}
		if _, err := s.Parse(""); err == nil {
			t.Errorf("%s: empty string accepted", name)
		}
	}
	if _, err := Get("darts"); err == nil || !strings.Contains(err.Error(), "multihw") {
		t.Errorf("unknown space: %v", err)
	}
}

// FuzzParse: whatever a space accepts must format back to the same string
// and build a network; nothing may panic.
func FuzzParse(f *testing.F) {
	for _, name := range Names() {
		s, _ := Get(name)
		for _, v := range Sample(s, 3, 1) {
			str, _ := s.Format(v)
			f.Add(name, str)
		}
	}
	f.Add("nb201", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
	f.Fuzz(func(t *testing.T, name, str string) {
		s, err := Get(name)
		if err != nil {
			return
		}
		v, err := s.Parse(str)
		if err != nil {
			return
		}
		canon, err := s.Format(v)
		if err != nil {
			t.Fatalf("%s: parsed %q to %v but cannot format it: %v", name, str, v, err)
		}
		again, err := s.Parse(canon)
		if err != nil || !slices.Equal(again, v) {
			t.Fatalf("%s: canonical %q does not parse back to %v: %v", name, canon, v, err)
		}
		if _, err := s.Network(v, Options{}); err != nil {
			t.Fatalf("%s: %q: %v", name, str, err)
		}
	})
}

// TestOFAMatchesNote10Keys: every network of the ofa space is priced by
// the Once-for-All Note10 table (checked in latency/lut); here, the
// space's layer count: depth 2..4 per stage gives 10..20 searchable layers.
func TestOFADepth(t *testing.T) {
	s, err := Get("ofa")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range [][]int{make([]int, 20)} {
		n, err := s.Network(c, Options{})
		if err != nil {
			t.Fatal(err)
		}
		// stem + fixed block + 10 mandatory layers (choice 0 = skip for the
		// optional ones) + head conv, pool, head conv, fc.
		if got := len(n.Blocks); got != 2+10+4 {
			t.Errorf("%d blocks, want 16", got)
		}
	}
}

// TestChannels: every space builds its networks for the input channels
// asked (a grey-scale deployment), and an RGB network keeps the default.
func TestChannels(t *testing.T) {
	for _, name := range Names() {
		sp, _ := Get(name)
		c := Sample(sp, 1, 4)[0]
		gray, err := sp.Network(c, Options{Channels: 1})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		g, err := gray.Lower(0)
		if err != nil || g.Tensors[0].C != 1 {
			t.Errorf("%s: the grey-scale network takes %d channels (%v)", name, g.Tensors[0].C, err)
		}
		rgb, err := sp.Network(c, Options{Channels: 3})
		if err != nil || rgb.InputChannels != 0 || rgb.InChannels() != 3 {
			t.Errorf("%s: RGB network has input_channels %d (%v)", name, rgb.InputChannels, err)
		}
		if _, err := sp.Network(c, Options{Channels: -1}); err == nil {
			t.Errorf("%s: -1 channels accepted", name)
		}
	}
}

package dataset

import (
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Spec
	}{
		{"fashion-mnist", Spec{Format: "fashion-mnist"}},
		{" Fashion-MNIST ", Spec{Format: "fashion-mnist"}},
		{"fashion-mnist:/data/fm", Spec{"fashion-mnist", "/data/fm"}},
		{"mnist:/d", Spec{"mnist", "/d"}},
		{"idx:rel/dir", Spec{"idx", "rel/dir"}},
		{"cifar10:/c", Spec{"cifar10", "/c"}},
		{"cifar-10:/c", Spec{"cifar10", "/c"}},
		{"folder:/a:b", Spec{"folder", "/a:b"}},
	} {
		got, err := ParseSpec(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseSpec(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
		if again, err := ParseSpec(got.String()); err != nil || again != got {
			t.Errorf("%q does not round-trip: %q", c.in, got.String())
		}
	}
	for _, c := range []struct{ in, want string }{
		{"", "empty"},
		{"mnist", "mnist:DIR"},
		{"cifar10:", "cifar-10-binary.tar.gz"},
		{"folder", "DIR/train/CLASS"},
		{"imagenet:/x", "unknown data format"},
		{"fashion-mnist:", "empty directory"},
	} {
		if _, err := ParseSpec(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseSpec(%q): error %v, want one saying %q", c.in, err, c.want)
		}
	}
}

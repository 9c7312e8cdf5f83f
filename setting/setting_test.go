package setting

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestTranslate(t *testing.T) {
	base := Errorf("proxy_width", "must be in (0, 1], got %v", 1.5)
	nested := fmt.Errorf("opening the accuracy source: %w", Prefix("supernet", base))
	if got, want := nested.Error(), "opening the accuracy source: supernet.proxy_width: must be in (0, 1], got 1.5"; got != want {
		t.Errorf("prefixed: %q, want %q", got, want)
	}
	flags := map[string]string{"supernet.proxy_width": "--proxy-width"}
	tr := Translate(nested, func(s string) string { return flags[s] })
	if got, want := tr.Error(), "opening the accuracy source: --proxy-width: must be in (0, 1], got 1.5"; got != want {
		t.Errorf("translated: %q, want %q", got, want)
	}
	var e *Error
	if !errors.As(tr, &e) || e.Name != "supernet.proxy_width" {
		t.Errorf("the translated error lost its setting: %v", e)
	}
	// A setting the front end does not know stays as it is.
	if got := Translate(base, func(string) string { return "" }); got.Error() != base.Error() {
		t.Errorf("unknown setting: %q", got)
	}
	// Errors without a setting pass through unchanged, and errors.Is
	// still sees what an Error wraps.
	plain := errors.New("disk full")
	if Translate(plain, func(string) string { return "--x" }) != plain || Prefix("p", plain) != plain {
		t.Error("an error naming no setting was changed")
	}
	if !errors.Is(Wrap("data", context.Canceled), context.Canceled) || Wrap("data", nil) != nil {
		t.Error("Wrap")
	}
}

package accuracy

import (
	"context"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/space"
)

// counting is a source that counts its calls and answers 10 + the number
// of calls so far, so a repeated answer shows a memo at work.
type counting struct{ calls int }

func (c *counting) Name() string { return "counting" }
func (c *counting) Accuracy(context.Context, space.Space, *latency.Net) (float64, error) {
	c.calls++
	return float64(10 + c.calls), nil
}

func TestMemo(t *testing.T) {
	ctx := context.Background()
	src := &counting{}
	m := AsStateful(src)
	if AsStateful(m) != m {
		t.Error("a Stateful source was wrapped again")
	}
	sp, a := nbNet(t, "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|")
	_, b := nbNet(t, "|skip_connect~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|")
	if _, ok := m.Remembered(a.Key); ok {
		t.Error("remembered a network never asked about")
	}
	x, _ := m.Accuracy(ctx, sp, a)
	y, _ := m.Accuracy(ctx, sp, b)
	x2, _ := m.Accuracy(ctx, sp, a)
	f, _ := m.Final(ctx, sp, b)
	if x != 11 || y != 12 || x2 != 11 || f != 12 || src.calls != 2 {
		t.Errorf("answers %v %v %v %v after %d calls, want 11 12 11 12 after 2", x, y, x2, f, src.calls)
	}
	if r, ok := m.Remembered(a.Key); !ok || r != 11 {
		t.Errorf("remembered %v %v", r, ok)
	}
	if m.Warmup() != 0 || m.Drifts() || m.Notes() != nil {
		t.Error("a plain source has a warm-up, drifts or notes")
	}
	// A restored memo answers without asking the source again.
	state, err := m.Save("")
	if err != nil {
		t.Fatal(err)
	}
	fresh := &counting{}
	m2 := AsStateful(fresh)
	if err := m2.Restore("", state); err != nil {
		t.Fatal(err)
	}
	if v, _ := m2.Accuracy(ctx, sp, b); v != 12 || fresh.calls != 0 {
		t.Errorf("restored memo answered %v after %d calls", v, fresh.calls)
	}
	for _, bad := range []string{`[{"choice":"x","accuracy":101}]`, `{"x":1}`, `[{"choice":"x","accuracy":-1}]`} {
		if err := AsStateful(fresh).Restore("", []byte(bad)); err == nil || !strings.Contains(err.Error(), "counting") {
			t.Errorf("restored %s: %v", bad, err)
		}
	}
}

// TestPeek: a memo peeks into what it remembers and into a table, never
// into a source that would have to compute.
func TestPeek(t *testing.T) {
	sp, a := nbNet(t, "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
	tab, err := Open("table:cifar100")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := AsStateful(tab).(Peeker).Peek(sp, a); !ok || v != 70.29 {
		t.Errorf("table peek: %v %v, want 70.29 (arch_idx 1 of the CSV)", v, ok)
	}
	src := &counting{}
	m := AsStateful(src)
	if _, ok := m.(Peeker).Peek(sp, a); ok || src.calls != 0 {
		t.Error("peeked into a source that computes")
	}
	m.Accuracy(context.Background(), sp, a)
	if v, ok := m.(Peeker).Peek(sp, a); !ok || v != 11 {
		t.Errorf("memo peek: %v %v", v, ok)
	}
}

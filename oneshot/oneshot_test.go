package oneshot

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/dataset"
	"github.com/fleetnas/fleetnas/internal/idxtest"
	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/setting"
	"github.com/fleetnas/fleetnas/space"
)

func TestSettingsValidate(t *testing.T) {
	if err := DefaultSettings().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Settings{}).Validate(); err != nil {
		t.Errorf("zero settings (the defaults): %v", err)
	}
	for _, c := range []struct {
		s    Settings
		name string
	}{
		{Settings{ProxyWidth: 1.5}, "proxy_width"},
		{Settings{ProxyWidth: -0.5}, "proxy_width"},
		{Settings{Batch: 1}, "batch"},
		{Settings{WeightsLR: -1}, "weights_lr"},
	} {
		var e *setting.Error
		if err := c.s.Validate(); !errors.As(err, &e) || e.Name != c.name {
			t.Errorf("%+v: %v, want an error about %s", c.s, err, c.name)
		}
	}
}

func open(t *testing.T, data string) *Source {
	t.Helper()
	sp, err := space.Get("multihw")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := dataset.Open("idx:" + data)
	if err != nil {
		t.Fatal(err)
	}
	src, err := Open(sp, ds, "idx:"+data, Settings{Batch: 8}, 12, 5)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// net is the deployment network of a multihw choice vector.
func net(t *testing.T, src *Source, choice []int) *latency.Net {
	t.Helper()
	n, err := latency.FromSpace(src.sp, choice, 0)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStepsInOrder: the warm-up takes no proposal, the search one per
// step, and steps come in order; Accuracy answers only after the warm-up.
func TestStepsInOrder(t *testing.T) {
	ctx := context.Background()
	src := open(t, idxtest.Quadrants(t, 20, 96, 16))
	if src.Warmup() != 3 || !src.Drifts() || len(src.Notes()) != 1 {
		t.Fatalf("warm-up %d, drifts %v, notes %v", src.Warmup(), src.Drifts(), src.Notes())
	}
	choice := space.Sample(src.sp, 1, 1)[0]
	n := net(t, src, choice)
	if _, err := src.Accuracy(ctx, src.sp, n); err == nil {
		t.Error("accuracy before any step")
	}
	if _, err := src.Advance(ctx, 1, nil); err == nil || !strings.Contains(err.Error(), "in order") {
		t.Errorf("step 1 first: %v", err)
	}
	if _, err := src.Advance(ctx, 0, choice); err == nil {
		t.Error("a proposal in the warm-up was taken")
	}
	for step := range 3 {
		if changed, err := src.Advance(ctx, step, nil); err != nil || !changed {
			t.Fatalf("warm-up step %d: %v", step, err)
		}
	}
	if _, err := src.Advance(ctx, 3, nil); err == nil {
		t.Error("a step after the warm-up without a proposal was taken")
	}
	if _, err := src.Advance(ctx, 3, choice); err != nil {
		t.Fatal(err)
	}
	acc, err := src.Accuracy(ctx, src.sp, n)
	if err != nil || acc < 0 || acc > 100 || acc*8/100 != float64(int(acc*8/100)) {
		t.Errorf("accuracy %v (%v): not a share of a batch of 8", acc, err)
	}
	if _, ok := src.Remembered(n.Key); ok {
		t.Error("a supernet remembered an accuracy")
	}
}

// TestSaveRestore: a source restored from a checkpoint trains on exactly
// as the saved one does.
func TestSaveRestore(t *testing.T) {
	ctx := context.Background()
	data := idxtest.Quadrants(t, 20, 96, 16)
	dir := t.TempDir()
	a := open(t, data)
	choices := space.Sample(a.sp, 12, 2)
	advance := func(src *Source, from, to int) {
		for step := from; step < to; step++ {
			var c []int
			if step >= src.Warmup() {
				c = choices[step]
			}
			if _, err := src.Advance(ctx, step, c); err != nil {
				t.Fatal(err)
			}
		}
	}
	advance(a, 0, 5)
	state, err := a.Save(dir)
	if err != nil {
		t.Fatal(err)
	}
	a.Saved(dir, state)
	advance(a, 5, 9)
	n := net(t, a, choices[8])
	wantBatch, _ := a.Accuracy(ctx, a.sp, n)
	wantFinal, _ := a.Final(ctx, a.sp, n)

	b := open(t, data)
	if err := b.Restore(dir, state); err != nil {
		t.Fatal(err)
	}
	advance(b, 5, 9)
	gotBatch, _ := b.Accuracy(ctx, b.sp, n)
	gotFinal, _ := b.Final(ctx, b.sp, n)
	if gotBatch != wantBatch || gotFinal != wantFinal {
		t.Errorf("restored source: %v/%v, the saved one went on to %v/%v", gotBatch, gotFinal, wantBatch, wantFinal)
	}
	for i, p := range b.net.Params() {
		q := a.net.Params()[i]
		for k := range p.Data {
			if p.Data[k] != q.Data[k] {
				t.Fatalf("parameter %s differs at %d after the same steps", p.Name, k)
			}
		}
	}
	if err := b.Restore(dir, []byte(`{"step":5,"weights":"../x","weights_sha256":""}`)); err == nil {
		t.Error("a weights file outside the directory was accepted")
	}
}

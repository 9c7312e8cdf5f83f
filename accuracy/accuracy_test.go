package accuracy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/space"
)

func nbNet(t *testing.T, s string) (space.Space, *latency.Net) {
	t.Helper()
	sp, _ := space.Get("nb201")
	c, err := sp.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	n, err := latency.FromSpace(sp, c, 0)
	if err != nil {
		t.Fatal(err)
	}
	return sp, n
}

// TestNB201Rows: arch_idx 1 of the shared CSV, read by eye: 93.66 / 70.29 / 44.03.
func TestNB201Rows(t *testing.T) {
	sp, n := nbNet(t, "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
	for ds, want := range map[string]float64{"cifar10": 93.66, "cifar100": 70.29, "imagenet16_120": 44.03} {
		src, err := Open("table:" + ds)
		if err != nil {
			t.Fatal(err)
		}
		got, err := src.Accuracy(context.Background(), sp, n)
		if err != nil || got != want {
			t.Errorf("%s: %g %v, want %g", ds, got, err, want)
		}
	}
	if _, err := Open("table:mnist"); err == nil {
		t.Error("unknown dataset accepted")
	}
	if _, err := Open("oracle"); err == nil {
		t.Error("unknown source accepted")
	}
}

func TestCommand(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "train.sh")
	os.WriteFile(script, []byte("#!/bin/sh\ntest -f \"$1\" || exit 3\ngrep -q nb201_cell \"$1\" || exit 4\necho training $FLEETNAS_SPACE\necho 71.5\n"), 0o755)
	src, err := Open("command:" + script)
	if err != nil {
		t.Fatal(err)
	}
	sp, n := nbNet(t, "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
	if v, err := src.Accuracy(context.Background(), sp, n); err != nil || v != 71.5 {
		t.Errorf("%g %v", v, err)
	}
	bad := filepath.Join(dir, "bad.sh")
	os.WriteFile(bad, []byte("#!/bin/sh\necho 'loss 0.3'\n"), 0o755)
	src, _ = Open("command:" + bad)
	if _, err := src.Accuracy(context.Background(), sp, n); err == nil || !strings.Contains(err.Error(), "not an accuracy") {
		t.Errorf("bad output: %v", err)
	}
	fail := filepath.Join(dir, "fail.sh")
	os.WriteFile(fail, []byte("#!/bin/sh\necho out of memory >&2\nexit 1\n"), 0o755)
	src, _ = Open("command:" + fail)
	if _, err := src.Accuracy(context.Background(), sp, n); err == nil || !strings.Contains(err.Error(), "out of memory") {
		t.Errorf("failing program: %v", err)
	}
	if _, err := Open("command:/no/such/program"); err == nil {
		t.Error("missing program accepted")
	}
}

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestSearchSurvivesSIGKILL kills a search with SIGKILL mid-run, resumes
// it, and checks that result.json is byte-identical to an unbroken run's.
// The accuracy comes from a slow training "program" so that the run is
// long enough to be killed in the middle.
func TestSearchSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three searches")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "fleetnas")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	train := filepath.Join(dir, "train.sh")
	// A deterministic "accuracy" derived from the network's string.
	os.WriteFile(train, []byte("#!/bin/sh\nsleep 0.02\nprintf '%s' \"$FLEETNAS_CHOICE\" | cksum | awk '{print ($1 % 5000) / 100 + 40}'\n"), 0o755)
	args := func(out string, extra ...string) []string {
		return append([]string{"search", "--space", "nb201", "--fleet", "nb201-mobile", "--accuracy", "command:" + train,
			"--metric", "max", "--algo", "tunas", "--budget", "150", "--seed", "3", "--checkpoint-every", "50ms", "--out", out}, extra...)
	}
	killed := filepath.Join(dir, "killed")
	cmd := exec.Command(bin, args(killed)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for a checkpoint, then kill without warning.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(killed, "checkpoint.json")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no checkpoint after 60 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(killed, "result.json")); err == nil {
		t.Fatal("the search finished before it was killed; the test proves nothing")
	}
	// Without --resume the directory is refused, so no work is lost.
	if out, err := exec.Command(bin, args(killed)...).CombinedOutput(); err == nil || !bytes.Contains(out, []byte("--resume")) {
		t.Fatalf("rerun without --resume: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, args(killed, "--resume")...).CombinedOutput(); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	whole := filepath.Join(dir, "whole")
	if out, err := exec.Command(bin, args(whole)...).CombinedOutput(); err != nil {
		t.Fatalf("unbroken run: %v\n%s", err, out)
	}
	a, err := os.ReadFile(filepath.Join(killed, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(whole, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("resumed result.json differs from the unbroken run's:\n%s\n---\n%s", a, b)
	}
	ha, _ := os.ReadFile(filepath.Join(killed, "history.csv"))
	hb, _ := os.ReadFile(filepath.Join(whole, "history.csv"))
	if !bytes.Equal(ha, hb) {
		t.Error("resumed history.csv differs from the unbroken run's")
	}
	// A corrupt checkpoint is a clear error.
	os.WriteFile(filepath.Join(killed, "checkpoint.json"), []byte("{not json"), 0o644)
	if out, err := exec.Command(bin, args(killed, "--resume")...).CombinedOutput(); err == nil || !bytes.Contains(out, []byte("corrupt")) {
		t.Errorf("corrupt checkpoint: %v\n%s", err, out)
	}
}

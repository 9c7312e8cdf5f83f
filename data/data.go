// Package data embeds the measured facts fleetnas ships with: the reference
// MobileNet block specs (TensorFlow Model Garden, Apache-2.0), NAS-Bench-201
// accuracies and latencies on six devices (NATS-Bench, HW-NAS-Bench, HELP;
// MIT), the FBNet space's lookup tables and phone measurements (HW-NAS-Bench,
// HELP; MIT), the Once-for-All and ProxylessNAS latency tables (MIT) and
// published whole-model latencies (MobileNetV4 paper and others).
// SOURCES.md beside this file gives the origin and meaning of every file.
//
// Only numbers and architecture descriptions are shipped, no code. The
// package exposes read-only byte slices through functions so that no caller
// can modify another's view of the data.
package data

import (
	"embed"
	"fmt"
)

//go:embed models/*.json models/*.csv nb201/*.csv fbnet/*.csv lut/*.yaml published/*.csv
var files embed.FS

// File returns a copy of an embedded file, by path relative to this
// package (for example "nb201/nb201_multidevice.csv").
func File(name string) ([]byte, error) {
	b, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("embedded data %q: %w", name, err)
	}
	return b, nil
}

// MustFile is File for paths that are known to be embedded; a missing file
// is a build defect, so it panics.
func MustFile(name string) []byte {
	b, err := File(name)
	if err != nil {
		panic(err)
	}
	return b
}

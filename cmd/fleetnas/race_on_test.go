//go:build race

package main

// raceEnabled is true under the race detector, which makes training
// ten times slower.
const raceEnabled = true

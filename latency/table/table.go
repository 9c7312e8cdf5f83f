// Package table is the `table` device kind: measured latency per network,
// for tabular benchmarks (NAS-Bench-201 on six devices) and for a user's
// CSV of measurements. It answers only for the networks it holds; any
// other network is an error wrapping latency.ErrUnsupported, never a guess.
//
// Small spaces are stored densely, indexed by the mixed-radix code of the
// choice vector, so that exhaustive benchmarks price a network with one
// array read; large spaces use a map keyed by the canonical string.
package table

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"strconv"

	"github.com/fleetnas/fleetnas/data"
	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/space"
)

// denseLimit is the largest space stored densely (8 bytes per network).
const denseLimit = 1 << 22

// Table holds measured latencies of networks of one space.
type Table struct {
	name  string
	space string
	radix []int
	dense []float64 // NaN where not measured
	byKey map[string]float64
	n     int
}

// New builds a table of measured networks.
func New(name string, sp space.Space, m *latency.Measurements) (*Table, error) {
	if m.Space != sp.Name() {
		return nil, fmt.Errorf("table %s: measurements are of space %s, not %s", name, m.Space, sp.Name())
	}
	t := &Table{name: name, space: sp.Name(), n: len(m.MS)}
	t.radix = space.Radix(sp)
	size := 1.0
	for _, r := range t.radix {
		size *= float64(r)
	}
	if size <= denseLimit {
		t.dense = make([]float64, int(size))
		for i := range t.dense {
			t.dense[i] = math.NaN()
		}
	} else {
		t.byKey = make(map[string]float64, len(m.MS))
	}
	for i, c := range m.Choices {
		// The radix check is the fast path (a space builds its decisions
		// anew on every call, 94k times for the NAS-Bench-201 fleet);
		// space.Check says what is wrong.
		if _, ok := space.Code(t.radix, c); !ok {
			return nil, fmt.Errorf("table %s: measurement %d: %w", name, i, space.Check(sp, c))
		}
		v := m.MS[i]
		if !(v > 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("table %s: measurement %d (%s): latency %g is not positive", name, i, m.Keys[i], v)
		}
		if t.dense != nil {
			k, _ := space.Code(t.radix, c) // checked above
			t.dense[k] = v
		} else {
			t.byKey[m.Keys[i]] = v
		}
	}
	return t, nil
}

// Len is the number of measured networks.
func (t *Table) Len() int { return t.n }

// Space is the space whose networks the table holds.
func (t *Table) Space() string { return t.space }

// Latency returns the measured latency of n.
func (t *Table) Latency(n *latency.Net) (float64, error) {
	if n.Space != t.space {
		what := "a network from outside any search space"
		if n.Space != "" {
			what = "a network of space " + n.Space
		}
		return 0, fmt.Errorf("table %s holds measured %s networks; %s cannot be looked up: %w", t.name, t.space, what, latency.ErrUnsupported)
	}
	if t.dense != nil {
		k, ok := space.Code(t.radix, n.Choice)
		if !ok {
			return 0, fmt.Errorf("table %s: choice vector %v does not fit the space: %w", t.name, n.Choice, latency.ErrUnsupported)
		}
		v := t.dense[k]
		if math.IsNaN(v) {
			return 0, fmt.Errorf("table %s has no measurement of %s: %w", t.name, n.Key, latency.ErrUnsupported)
		}
		return v, nil
	}
	v, ok := t.byKey[n.Key]
	if !ok {
		return 0, fmt.Errorf("table %s has no measurement of %s: %w", t.name, n.Key, latency.ErrUnsupported)
	}
	return v, nil
}

// Measurement implements latency.Measured: every latency a table gives
// is a measurement, so it is the table's answer for the networks it
// holds (found by space and choice vector, the table's key).
func (t *Table) Measurement(n *latency.Net) (float64, bool) {
	v, err := t.Latency(n)
	return v, err == nil
}

// NB201Devices are the devices of the NAS-Bench-201 multi-device table,
// in the CSV's column order: HW-NAS-Bench's Pixel 3, Raspberry Pi 4,
// Eyeriss and FPGA, and HELP's Pixel 2 and Galaxy S7.
var nb201Devices = []string{"pixel3", "raspi4", "eyeriss", "fpga", "pixel2", "samsung_s7"}

// NB201Devices returns the device names of the NAS-Bench-201 table.
func NB201Devices() []string { return append([]string(nil), nb201Devices...) }

// NB201 returns the measured latencies of all 15,625 NAS-Bench-201 cells
// on one device, from the embedded multi-device table.
func NB201(device string) (*Table, error) {
	all, err := NB201All()
	if err != nil {
		return nil, err
	}
	t, ok := all[device]
	if !ok {
		return nil, fmt.Errorf("no NAS-Bench-201 device %q; one of %v", device, nb201Devices)
	}
	return t, nil
}

// NB201All reads the embedded table once and returns every device.
func NB201All() (map[string]*Table, error) {
	const file = "nb201/nb201_multidevice.csv"
	sp, err := space.Get("nb201")
	if err != nil {
		return nil, err
	}
	rows, err := csv.NewReader(bytes.NewReader(data.MustFile(file))).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("embedded %s: %w", file, err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	ms := map[string]*latency.Measurements{}
	for _, d := range nb201Devices {
		if _, ok := col[d+"_ms"]; !ok {
			return nil, fmt.Errorf("embedded %s lacks column %s_ms", file, d)
		}
		ms[d] = &latency.Measurements{Space: "nb201"}
	}
	for li, r := range rows[1:] {
		c, err := sp.Parse(r[col["arch_str"]])
		if err != nil {
			return nil, fmt.Errorf("embedded %s:%d: %w", file, li+2, err)
		}
		for _, d := range nb201Devices {
			v, err := strconv.ParseFloat(r[col[d+"_ms"]], 64)
			if err != nil {
				return nil, fmt.Errorf("embedded %s:%d: %s_ms: %w", file, li+2, d, err)
			}
			m := ms[d]
			m.Choices = append(m.Choices, c)
			m.Keys = append(m.Keys, r[col["arch_str"]])
			m.MS = append(m.MS, v)
		}
	}
	out := map[string]*Table{}
	for _, d := range nb201Devices {
		t, err := New("nb201-"+d, sp, ms[d])
		if err != nil {
			return nil, err
		}
		out[d] = t
	}
	return out, nil
}

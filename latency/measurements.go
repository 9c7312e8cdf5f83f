package latency

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/fleetnas/fleetnas/space"
)

// Measurements are measured whole-network latencies of a space's members.
type Measurements struct {
	Space   string
	Choices [][]int
	Keys    []string // canonical strings
	MS      []float64
}

// ReadMeasurementsFile reads a measurements CSV (see ReadMeasurements).
func ReadMeasurementsFile(path string, sp space.Space) (*Measurements, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadMeasurements(bufio.NewReader(f), path, sp)
}

// ReadMeasurements reads a CSV with header `arch,latency_ms` (more columns
// are allowed and ignored): arch is the space's canonical choice string,
// latency_ms a positive number. Lines starting with # are comments. A
// network listed twice is an error, because two different numbers for one
// network on one device mean the measurement setup is not under control;
// average repeated runs before writing the file. Errors name file:line.
func ReadMeasurements(r io.Reader, name string, sp space.Space) (*Measurements, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: empty file; want a header line `arch,latency_ms`", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	ai, ok1 := col["arch"]
	li, ok2 := col["latency_ms"]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%s:1: header %q lacks the columns arch and latency_ms", name, strings.Join(header, ","))
	}
	m := &Measurements{Space: sp.Name()}
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) <= max(ai, li) {
			return nil, fmt.Errorf("%s:%d: %d fields, want at least %d", name, line, len(rec), max(ai, li)+1)
		}
		c, err := sp.Parse(strings.TrimSpace(rec[ai]))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: column arch: %w", name, line, err)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[li]), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
			return nil, fmt.Errorf("%s:%d: column latency_ms: %q is not a positive number of milliseconds", name, line, rec[li])
		}
		key, err := sp.Format(c)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if prev, dup := seen[key]; dup {
			return nil, fmt.Errorf("%s:%d: network measured twice (also line %d); average repeated runs into one row", name, line, prev)
		}
		seen[key] = line
		m.Choices = append(m.Choices, c)
		m.Keys = append(m.Keys, key)
		m.MS = append(m.MS, v)
	}
	if len(m.MS) == 0 {
		return nil, fmt.Errorf("%s: no measurements after the header", name)
	}
	return m, nil
}

package lut

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The CSV format of users' tables (docs/lut-csv.md):
//
//	# comment lines start with '#'; "# source: TEXT" sets Table.Source
//	signature,latency_ms
//	constant,0.42
//	"conv:in=224x224x3,out=16,k=3,s=2,exp=3,g=1,se=0,act=hswish,res=0",1.25
//
// The header comes first; then at most one constant row (default 0) and
// one row per signature, in canonical form and quoted, since signatures
// contain commas. Latencies are in ms, finite, and >= 0 (the constant may
// be negative: a fitted intercept can be).
const (
	csvHeader    = "signature,latency_ms"
	csvConstant  = "constant"
	sourcePrefix = "# source:"
	// maxLine bounds one line, so that a file without newlines cannot make
	// the reader hold unbounded memory per line.
	maxLine = 1 << 20
)

// ReadCSV reads a table in fleetnas's CSV format. name is used in every
// error (as name:line) and as the table's Name.
func ReadCSV(r io.Reader, name string) (*Table, error) {
	t := New(name, "", 0)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	lineNo := 0
	header := false
	constLine := 0
	first := map[string]int{}
	for sc.Scan() {
		lineNo++
		line := strings.TrimSuffix(sc.Text(), "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" {
			continue
		}
		if strings.HasPrefix(trimmed, "#") {
			if src, ok := strings.CutPrefix(trimmed, sourcePrefix); ok {
				t.Source = strings.TrimSpace(src)
			}
			continue
		}
		if !header {
			if trimmed != csvHeader {
				return nil, fmt.Errorf("%s:%d: header %q, want %q", name, lineNo, trimmed, csvHeader)
			}
			header = true
			continue
		}
		rec, err := csvRecord(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, lineNo, err)
		}
		if len(rec) != 2 {
			hint := ""
			if len(rec) > 2 && strings.Contains(rec[0], ":in=") {
				hint = ` (a signature contains commas, so it must be quoted: "op:in=...",1.0)`
			}
			return nil, fmt.Errorf("%s:%d: %d fields, want 2 (signature,latency_ms)%s", name, lineNo, len(rec), hint)
		}
		ms, err := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
		if err != nil || math.IsNaN(ms) || math.IsInf(ms, 0) {
			return nil, fmt.Errorf("%s:%d: latency %q is not a finite number (ms)", name, lineNo, rec[1])
		}
		if rec[0] == csvConstant {
			if constLine != 0 {
				return nil, fmt.Errorf("%s:%d: a second constant row (first on line %d)", name, lineNo, constLine)
			}
			constLine = lineNo
			t.Constant = ms
			continue
		}
		sig, err := ParseSignature(rec[0])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, lineNo, err)
		}
		if ms < 0 {
			return nil, fmt.Errorf("%s:%d: latency %g ms of %s is negative", name, lineNo, ms, rec[0])
		}
		if l, dup := first[rec[0]]; dup {
			return nil, fmt.Errorf("%s:%d: duplicate signature %s (first on line %d)", name, lineNo, rec[0], l)
		}
		first[rec[0]] = lineNo
		if err := t.Set(sig, ms); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, lineNo, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s:%d: line longer than %d bytes", name, lineNo+1, maxLine)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if !header {
		return nil, fmt.Errorf("%s: empty file: want the header %q", name, csvHeader)
	}
	if t.Len() == 0 {
		return nil, fmt.Errorf("%s: %w: a table needs at least one signature row", name, errNoEntries)
	}
	return t, nil
}

// csvRecord parses one line as exactly one CSV record.
func csvRecord(line string) ([]string, error) {
	cr := csv.NewReader(strings.NewReader(line))
	cr.FieldsPerRecord = -1
	rec, err := cr.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("bad CSV: %v", pe.Err)
		}
		return nil, fmt.Errorf("bad CSV: %v", err)
	}
	if _, err := cr.Read(); !errors.Is(err, io.EOF) {
		return nil, errors.New("bad CSV: a quoted field runs past the end of the line")
	}
	return rec, nil
}

// ReadCSVFile reads a CSV table from a file; the table is named after the
// file (without directory and .csv extension).
func ReadCSVFile(path string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := ReadCSV(f, path)
	if err != nil {
		return nil, err
	}
	t.Name = strings.TrimSuffix(filepath.Base(path), ".csv")
	return t, nil
}

// WriteCSV writes the table in the format ReadCSV reads: a comment naming
// the table, the source, the header, the constant and the entries sorted
// by signature, latencies in the shortest form that reads back exactly.
func (t *Table) WriteCSV(w io.Writer) error {
	if math.IsNaN(t.Constant) || math.IsInf(t.Constant, 0) {
		return fmt.Errorf("lut %s: constant %g is not finite", t.Name, t.Constant)
	}
	bw := bufio.NewWriter(w)
	oneLine := strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")
	fmt.Fprintf(bw, "# fleetnas per-op latency table %s (format: docs/lut-csv.md)\n", oneLine.Replace(t.Name))
	if t.Source != "" {
		fmt.Fprintf(bw, "%s %s\n", sourcePrefix, oneLine.Replace(t.Source))
	}
	bw.WriteString(csvHeader + "\n")
	cw := csv.NewWriter(bw)
	if err := cw.Write([]string{csvConstant, strconv.FormatFloat(t.Constant, 'g', -1, 64)}); err != nil {
		return err
	}
	for _, e := range t.Entries() {
		if err := cw.Write([]string{e.Signature.String(), strconv.FormatFloat(e.Ms, 'g', -1, 64)}); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

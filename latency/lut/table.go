package lut

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/fleetnas/fleetnas/latency"
)

// Table is a per-op latency lookup table. A network's latency is Constant
// plus the entry of every block's signature; a block without an entry
// makes the network unsupported (a *MissingError), never a guess.
//
// A Table is safe for concurrent Latency calls once built; Set must not
// run concurrently with anything else.
type Table struct {
	// Name identifies the table in errors and listings (e.g. "note10_224").
	Name string
	// Source says where the numbers come from.
	Source string
	// Constant is added once per network (ms): work outside the blocks, or
	// the part of a table's baseline that no single block carries. It may
	// be negative (a fitted intercept, or FBNet's identity-skip baselines).
	Constant float64

	entries map[string]entry
}

// A Table is a latency.Model; the assertion keeps it one.
var _ latency.Model = (*Table)(nil)

// entry keeps the parsed signature beside the latency so that the nearest
// entries of a miss can be found without re-parsing keys.
type entry struct {
	sig Signature
	ms  float64
}

// New returns an empty table.
func New(name, source string, constant float64) *Table {
	return &Table{Name: name, Source: source, Constant: constant, entries: map[string]entry{}}
}

// Set records the latency of one signature, replacing any previous entry.
// The signature must be valid (as ParseSignature would accept its string)
// and the latency a finite number >= 0.
func (t *Table) Set(s Signature, ms float64) error {
	if err := s.validate(); err != nil {
		return fmt.Errorf("lut %s: signature %s: %w", t.Name, s, err)
	}
	if math.IsNaN(ms) || math.IsInf(ms, 0) || ms < 0 {
		return fmt.Errorf("lut %s: %s: latency %g ms is not a finite number >= 0", t.Name, s, ms)
	}
	if t.entries == nil {
		t.entries = map[string]entry{}
	}
	t.entries[s.String()] = entry{sig: s, ms: ms}
	return nil
}

// Lookup returns the entry of a signature.
func (t *Table) Lookup(s Signature) (float64, bool) {
	e, ok := t.entries[s.String()]
	return e.ms, ok
}

// Len returns the number of entries.
func (t *Table) Len() int { return len(t.entries) }

// Entry is one row of a table.
type Entry struct {
	Signature Signature
	Ms        float64
}

// Entries returns a copy of the entries sorted by signature string, the
// order WriteCSV uses, so that saved tables diff cleanly.
func (t *Table) Entries() []Entry {
	keys := make([]string, 0, len(t.entries))
	for k := range t.entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Entry, len(keys))
	for i, k := range keys {
		e := t.entries[k]
		out[i] = Entry{Signature: e.sig, Ms: e.ms}
	}
	return out
}

// Latency implements latency.Model: Constant plus the entry of every
// block of the network's graph. A missing entry returns a *MissingError,
// which wraps latency.ErrUnsupported.
func (t *Table) Latency(n *latency.Net) (float64, error) {
	if n == nil || n.Graph == nil {
		return 0, fmt.Errorf("lut %s: no network graph to price", t.Name)
	}
	bs, err := blockSignatures(n.Graph)
	if err != nil {
		return 0, err
	}
	sum := t.Constant
	for _, b := range bs {
		key := b.sig.String()
		e, ok := t.entries[key]
		if !ok {
			return 0, &MissingError{Table: t.Name, Network: n.Key, Block: b.block, Signature: key, Nearest: t.nearest(b.sig, 3)}
		}
		sum += e.ms
	}
	return sum, nil
}

// Near is an entry close to a missing signature.
type Near struct {
	Signature string
	Ms        float64
}

// MissingError reports a block whose signature the table does not hold,
// with the closest entries it does hold, so that a user can tell a
// resolution or width mismatch from an op the device was never measured on.
type MissingError struct {
	Table     string
	Network   string // the network's key or name, when known
	Block     int    // index of the block in the network
	Signature string
	Nearest   []Near
}

// Error names the table, the block, the signature and the nearest entries.
func (e *MissingError) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "lut %s: no entry for block %d", e.Table, e.Block)
	if e.Network != "" {
		fmt.Fprintf(&sb, " of %q", e.Network)
	}
	fmt.Fprintf(&sb, ": %s", e.Signature)
	if len(e.Nearest) == 0 {
		sb.WriteString(" (the table is empty)")
		return sb.String()
	}
	sb.WriteString("; nearest entries: ")
	for i, n := range e.Nearest {
		if i > 0 {
			sb.WriteString("; ")
		}
		fmt.Fprintf(&sb, "%s (%.4g ms)", n.Signature, n.Ms)
	}
	return sb.String()
}

// Unwrap makes errors.Is(err, latency.ErrUnsupported) hold.
func (e *MissingError) Unwrap() error { return latency.ErrUnsupported }

// nearest returns up to k entries closest to s by distance, ties broken by
// signature string so that the message is deterministic.
func (t *Table) nearest(s Signature, k int) []Near {
	type cand struct {
		key string
		d   float64
		ms  float64
	}
	cs := make([]cand, 0, len(t.entries))
	for key, e := range t.entries {
		cs = append(cs, cand{key, distance(s, e.sig), e.ms})
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].d != cs[j].d {
			return cs[i].d < cs[j].d
		}
		return cs[i].key < cs[j].key
	})
	if len(cs) > k {
		cs = cs[:k]
	}
	out := make([]Near, len(cs))
	for i, c := range cs {
		out[i] = Near{Signature: c.key, Ms: c.ms}
	}
	return out
}

// errNoEntries is returned by readers for a table with nothing in it.
var errNoEntries = errors.New("no entries")

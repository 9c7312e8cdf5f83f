package accuracy

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/space"
)

// Stateful is an accuracy source as the search loop drives it: a source
// that may learn as the search goes (a weight-sharing supernet trains its
// shared weights on the networks the controller proposes) and whose state
// is checkpointed with the search's.
//
// The loop calls, for every step s = 0, 1, ... of a search, in order:
//
//   - Advance(ctx, s, nil) while s < Warmup(): the source's own warm-up,
//     in which it trains on networks it draws itself, no network is
//     proposed and nothing is scored;
//   - afterwards Advance(ctx, s, choice) with the proposal of step s, then
//     Accuracy for the proposal's network, which is its accuracy at step s.
//
// After the last step, Final gives the accuracy of the network chosen for
// deployment. Between steps (never inside one), the loop may call Save to
// checkpoint the source, and after the checkpoint is safely written,
// Saved; a resumed search calls Restore with what Save returned before
// its first step. A Stateful is not safe for concurrent use; one search
// loop owns it.
type Stateful interface {
	Source
	// Warmup is the number of leading steps the source spends on its
	// own warm-up (0 for a source that does not train).
	Warmup() int
	// Advance moves the source to step (see the type's doc). It reports
	// whether the source's state changed: a source that changed cannot
	// be checkpointed until the step is over.
	Advance(ctx context.Context, step int, choice []int) (changed bool, err error)
	// Remembered returns the accuracy at this step of the network with
	// canonical string key when the source knows it without computing
	// anything (a memo of earlier answers), so that the loop need not
	// build the network to ask.
	Remembered(key string) (float64, bool)
	// Final is the accuracy in percent of the network chosen for
	// deployment, measured as carefully as the source can (a supernet
	// scores it on its whole validation split rather than one batch).
	Final(ctx context.Context, sp space.Space, n *latency.Net) (float64, error)
	// Drifts reports whether a network's accuracy changes as the search
	// goes (a supernet's does, as its weights train), so that rewards a
	// controller remembers go stale.
	Drifts() bool
	// Notes say, for reports, what the source's accuracies are when that
	// is not plain (e.g. a proxy's on one validation batch); nil if
	// nothing needs saying.
	Notes() []string
	// Save checkpoints the source: it writes what does not fit in the
	// search's checkpoint to new files in dir and returns the state to
	// keep there (nil when there is none).
	Save(dir string) (json.RawMessage, error)
	// Saved is told that the search's checkpoint holding state is
	// written, so that files of earlier states can go.
	Saved(dir string, state json.RawMessage)
	// Restore continues from a state Save returned, with its files in
	// dir.
	Restore(dir string, state json.RawMessage) error
}

// AsStateful returns src itself when it is Stateful, and otherwise src
// behind a memo: a network's accuracy is asked of src once and
// remembered, so a network proposed twice costs one training run, and
// the memo is the state that checkpoints save and resumed searches
// restore (a resumed search never retrains a network it has scored).
func AsStateful(src Source) Stateful {
	if s, ok := src.(Stateful); ok {
		return s
	}
	return &memo{src: src, acc: map[string]float64{}}
}

// Peeker is implemented by sources that can give some accuracies at no
// cost: a benchmark table looks them up, a memo remembers them. Reports
// use it to place reference networks without training them.
type Peeker interface {
	// Peek returns the accuracy of n when it costs nothing to know.
	Peek(sp space.Space, n *latency.Net) (float64, bool)
}

// FinalBasis is implemented by sources whose Final accuracy is measured on
// another basis than Accuracy's (a supernet scores the chosen network on
// its whole validation split, the proposals on one batch each), so that
// reports do not compare the two as like with like.
type FinalBasis interface {
	// FinalBasis says in a few words what Final measures, against what
	// Accuracy does.
	FinalBasis() string
}

// memo is a Source that does not learn, as a Stateful.
type memo struct {
	src Source
	acc map[string]float64
}

func (m *memo) Name() string { return m.src.Name() }

func (m *memo) Accuracy(ctx context.Context, sp space.Space, n *latency.Net) (float64, error) {
	if a, ok := m.acc[n.Key]; ok {
		return a, nil
	}
	a, err := m.src.Accuracy(ctx, sp, n)
	if err != nil {
		return 0, err
	}
	m.acc[n.Key] = a
	return a, nil
}

func (m *memo) Remembered(key string) (float64, bool) {
	a, ok := m.acc[key]
	return a, ok
}

// Peek answers from the memo, or from a source that can peek itself.
func (m *memo) Peek(sp space.Space, n *latency.Net) (float64, bool) {
	if a, ok := m.acc[n.Key]; ok {
		return a, true
	}
	if p, ok := m.src.(Peeker); ok {
		return p.Peek(sp, n)
	}
	return 0, false
}

func (m *memo) Warmup() int { return 0 }

func (m *memo) Advance(context.Context, int, []int) (bool, error) { return false, nil }

func (m *memo) Final(ctx context.Context, sp space.Space, n *latency.Net) (float64, error) {
	return m.Accuracy(ctx, sp, n)
}

func (m *memo) Drifts() bool { return false }

func (m *memo) Notes() []string { return nil }

// memoEntry is one remembered accuracy in a checkpoint.
type memoEntry struct {
	Key      string  `json:"choice"`
	Accuracy float64 `json:"accuracy"`
}

// Save returns the remembered accuracies, sorted by network so that equal
// memos give equal checkpoints.
func (m *memo) Save(string) (json.RawMessage, error) {
	es := make([]memoEntry, 0, len(m.acc))
	for k, a := range m.acc {
		es = append(es, memoEntry{Key: k, Accuracy: a})
	}
	sort.Slice(es, func(i, j int) bool { return es[i].Key < es[j].Key })
	return json.Marshal(es)
}

func (m *memo) Saved(string, json.RawMessage) {}

func (m *memo) Restore(_ string, state json.RawMessage) error {
	var es []memoEntry
	if err := json.Unmarshal(state, &es); err != nil {
		return fmt.Errorf("accuracy %s: remembered accuracies: %w", m.Name(), err)
	}
	acc := make(map[string]float64, len(es))
	for i, e := range es {
		if math.IsNaN(e.Accuracy) || e.Accuracy < 0 || e.Accuracy > 100 {
			return fmt.Errorf("accuracy %s: remembered accuracy %d (%s) is %v, not a percentage", m.Name(), i, e.Key, e.Accuracy)
		}
		acc[e.Key] = e.Accuracy
	}
	m.acc = acc
	return nil
}

// Proxy is what a source trains instead of the deployment network: a
// narrower network (Width multiplies every filter count) at the data's
// own resolution, channels and classes. Reports show it next to the
// deployment target, since the two differ.
type Proxy struct {
	Width      float64 `json:"width"`
	Resolution int     `json:"resolution"`
	Channels   int     `json:"channels"`
	Classes    int     `json:"classes"`
}

// Proxied is implemented by sources that score proxies of the networks
// they are asked about (a supernet trained at a proxy width).
type Proxied interface {
	Proxy() Proxy
}

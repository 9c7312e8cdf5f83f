package ort

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// NodeTime is one node's kernel time in one run, from ONNX Runtime's
// profiler (Options.ProfilePrefix).
type NodeTime struct {
	// Node is the node's name after graph optimisation: fused and
	// layout-converted nodes get new names (fleetnas's exporter names
	// nodes "layer/Op_index", and fusions keep the first node's name in
	// theirs).
	Node string
	// Op is the operator that ran (Conv, FusedConv, ReorderInput, ...).
	Op string
	// Run counts the model runs from 0, in the order they happened.
	Run int
	// Us is the kernel time in microseconds.
	Us float64
}

// traceEvent is the part of a Chrome trace event that ReadProfile needs.
type traceEvent struct {
	Cat  string  `json:"cat"`
	Name string  `json:"name"`
	Ts   float64 `json:"ts"`
	Dur  float64 `json:"dur"`
	Args struct {
		OpName string `json:"op_name"`
	} `json:"args"`
}

// ReadProfile reads the node times of a profile ONNX Runtime wrote and
// assigns each to the run (a "model_run" session event) it happened in;
// runs are numbered in time order.
func ReadProfile(path string) ([]NodeTime, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var evs []traceEvent
	if err := json.Unmarshal(b, &evs); err != nil {
		return nil, fmt.Errorf("%s: not an ONNX Runtime profile (a JSON array of trace events): %w", path, err)
	}
	type span struct{ from, to float64 }
	var runs []span
	for _, e := range evs {
		if e.Cat == "Session" && e.Name == "model_run" {
			runs = append(runs, span{e.Ts, e.Ts + e.Dur})
		}
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].from < runs[j].from })
	var out []NodeTime
	for _, e := range evs {
		if e.Cat != "Node" || !strings.HasSuffix(e.Name, "_kernel_time") {
			continue
		}
		r := sort.Search(len(runs), func(i int) bool { return runs[i].to >= e.Ts })
		if r == len(runs) || e.Ts < runs[r].from {
			return nil, fmt.Errorf("%s: node %s at %.0f µs lies outside every model run", path, e.Name, e.Ts)
		}
		out = append(out, NodeTime{Node: strings.TrimSuffix(e.Name, "_kernel_time"), Op: e.Args.OpName, Run: r, Us: e.Dur})
	}
	return out, nil
}

// ProfileFile returns the file a closed session wrote with profiling on.
func (s *Session) ProfileFile() string { return s.profile }

// newestProfile returns the newest PREFIX_*.json file.
func newestProfile(prefix string) (string, error) {
	files, err := filepath.Glob(prefix + "_*.json")
	if err != nil {
		return "", err
	}
	best, bestT := "", int64(0)
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			continue
		}
		if t := st.ModTime().UnixNano(); best == "" || t > bestT {
			best, bestT = f, t
		}
	}
	if best == "" {
		return "", fmt.Errorf("ort: ONNX Runtime wrote no profile %s_*.json", prefix)
	}
	return best, nil
}

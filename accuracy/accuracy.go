// Package accuracy provides the accuracy of a network to the search, behind
// one interface: measured benchmark tables (NAS-Bench-201 on CIFAR-10,
// CIFAR-100 and ImageNet16-120), a user's training program, and (with the
// training engine) the one-shot supernet.
//
// Accuracies are in percent (0..100), as benchmarks publish them.
package accuracy

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fleetnas/fleetnas/data"
	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/space"
)

// Source gives the accuracy of networks.
type Source interface {
	// Name is the spec the source was opened with (e.g. table:cifar100).
	Name() string
	// Accuracy in percent of a network of a space.
	Accuracy(ctx context.Context, sp space.Space, n *latency.Net) (float64, error)
}

// Open returns the source a spec names: table:cifar10, table:cifar100,
// table:imagenet16_120 (NAS-Bench-201), or command:PROGRAM [ARGS...].
func Open(spec string) (Source, error) {
	kind, arg, _ := strings.Cut(spec, ":")
	switch kind {
	case "table":
		return NB201(arg)
	case "command":
		return NewCommand(arg, 0)
	}
	return nil, fmt.Errorf("unknown accuracy source %q: one of table:cifar10, table:cifar100, table:imagenet16_120, command:PROGRAM", spec)
}

// nb201Datasets maps table names to columns of the NAS-Bench-201 CSV.
var nb201Datasets = []string{"cifar10", "cifar100", "imagenet16_120"}

// Table is a benchmark's measured accuracy of every network of a space,
// stored densely by the choice vector's mixed-radix code.
type Table struct {
	name  string
	space string
	radix []int
	acc   []float64
}

// NB201 opens NAS-Bench-201's test accuracy on one dataset (200-epoch
// schedule, mean over seeds; NATS-Bench).
func NB201(dataset string) (*Table, error) {
	col := -1
	for i, d := range nb201Datasets {
		if d == dataset {
			col = i
		}
	}
	if col < 0 {
		return nil, fmt.Errorf("unknown NAS-Bench-201 dataset %q: one of %s", dataset, strings.Join(nb201Datasets, ", "))
	}
	sp, err := space.Get("nb201")
	if err != nil {
		return nil, err
	}
	const file = "nb201/nb201_multidevice.csv"
	rows, err := csv.NewReader(bytes.NewReader(data.MustFile(file))).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("embedded %s: %w", file, err)
	}
	header := map[string]int{}
	for i, h := range rows[0] {
		header[h] = i
	}
	ci, ok := header["acc_"+dataset]
	if !ok {
		return nil, fmt.Errorf("embedded %s lacks column acc_%s", file, dataset)
	}
	t := &Table{name: "table:" + dataset, space: "nb201", radix: space.Radix(sp)}
	size := 1
	for _, r := range t.radix {
		size *= r
	}
	t.acc = make([]float64, size)
	for i := range t.acc {
		t.acc[i] = math.NaN()
	}
	for li, r := range rows[1:] {
		c, err := sp.Parse(r[header["arch_str"]])
		if err != nil {
			return nil, fmt.Errorf("embedded %s:%d: %w", file, li+2, err)
		}
		v, err := strconv.ParseFloat(r[ci], 64)
		if err != nil {
			return nil, fmt.Errorf("embedded %s:%d: %w", file, li+2, err)
		}
		k, _ := space.Code(t.radix, c) // Parse returned a valid vector
		t.acc[k] = v
	}
	return t, nil
}

// Name is the source's spec.
func (t *Table) Name() string { return t.name }

// Space is the space whose networks the table holds.
func (t *Table) Space() string { return t.space }

// Accuracy looks a network up.
func (t *Table) Accuracy(_ context.Context, sp space.Space, n *latency.Net) (float64, error) {
	if n.Space != t.space {
		return 0, fmt.Errorf("accuracy %s holds %s networks, not %q ones", t.name, t.space, n.Space)
	}
	k, ok := space.Code(t.radix, n.Choice)
	if !ok {
		return 0, fmt.Errorf("accuracy %s: choice vector %v does not fit the space", t.name, n.Choice)
	}
	v := t.acc[k]
	if math.IsNaN(v) {
		return 0, fmt.Errorf("accuracy %s has no entry for %s", t.name, n.Key)
	}
	return v, nil
}

// Peek is Accuracy: a table lookup costs nothing.
func (t *Table) Peek(sp space.Space, n *latency.Net) (float64, bool) {
	a, err := t.Accuracy(context.Background(), sp, n)
	return a, err == nil
}

// Command runs a user's trainer: the program gets the path of the
// network's JSON file (docs/network-json.md) as its last argument and the
// environment variables FLEETNAS_SPACE and FLEETNAS_CHOICE, and must print
// the accuracy in percent as the last line of its standard output.
type Command struct {
	argv    []string
	timeout time.Duration
}

// NewCommand parses "PROGRAM [ARGS...]" (split on white space, no quoting)
// with a per-network timeout (0: none).
func NewCommand(cmdline string, timeout time.Duration) (*Command, error) {
	argv := strings.Fields(cmdline)
	if len(argv) == 0 {
		return nil, errors.New("command: accuracy source needs a program, e.g. command:./train.sh")
	}
	if _, err := exec.LookPath(argv[0]); err != nil {
		return nil, fmt.Errorf("command: accuracy program %q: %w", argv[0], err)
	}
	return &Command{argv: argv, timeout: timeout}, nil
}

// Name is the source's spec.
func (c *Command) Name() string { return "command:" + strings.Join(c.argv, " ") }

// Accuracy writes the network to a temporary file and runs the program.
func (c *Command) Accuracy(ctx context.Context, sp space.Space, n *latency.Net) (float64, error) {
	dir, err := os.MkdirTemp("", "fleetnas-net-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	js, err := n.Graph.Network.Encode()
	if err != nil {
		return 0, err
	}
	path := filepath.Join(dir, "network.json")
	if err := os.WriteFile(path, js, 0o644); err != nil {
		return 0, err
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, c.argv[0], append(c.argv[1:], path)...)
	cmd.Env = append(os.Environ(), "FLEETNAS_SPACE="+n.Space, "FLEETNAS_CHOICE="+n.Key)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("accuracy program %s on %s: %v; stderr: %s", c.argv[0], n.Key, err, tail(stderr.String(), 400))
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	v, err := strconv.ParseFloat(last, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 100 {
		return 0, fmt.Errorf("accuracy program %s on %s: last line of its output %q is not an accuracy in percent (0..100)", c.argv[0], n.Key, tail(last, 80))
	}
	return v, nil
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

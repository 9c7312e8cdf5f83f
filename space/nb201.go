package space

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/data"
)

// Indexer is implemented by spaces whose members are numbered by a
// benchmark file (nb201: NAS-Bench-201's arch_idx). A caller holding a
// Space asserts s.(Indexer) to join its choice vectors with the benchmark's
// rows without going through strings.
type Indexer interface {
	// Index returns the benchmark's index of a choice vector.
	Index(choice []int) (int, error)
	// FromIndex returns the choice vector of a benchmark index.
	FromIndex(i int) ([]int, error)
}

// nb201Edges names the six cell edges in NAS-Bench-201 order, which is
// also the order of the ops in the arch string and in arch.Block.Ops.
var nb201Edges = [6][2]int{{0, 1}, {0, 2}, {1, 2}, {0, 3}, {1, 3}, {2, 3}}

// nb201Size is the number of cells: 5 ops on each of 6 edges.
const nb201Size = 5 * 5 * 5 * 5 * 5 * 5

// nb201CSV is the embedded benchmark whose arch_idx column defines the
// NAS-Bench-201 numbering.
const nb201CSV = "nb201/nb201_multidevice.csv"

// nb201 is the NAS-Bench-201 cell space. The benchmark's index table is
// built from the embedded CSV on first use, because most uses of a space
// (formatting, lowering) never need it and parsing 15,625 rows is not free.
type nb201 struct {
	once    sync.Once
	byIndex []uint16 // arch_idx -> cell code (see nb201Code)
	byCode  []uint16 // cell code -> arch_idx
	err     error
}

// newNB201 returns the NAS-Bench-201 space; each call has its own index
// table so that no state is shared between users.
func newNB201() Space { return &nb201{} }

// Name is the space's identifier.
func (*nb201) Name() string { return "nb201" }

// Description says what the space is and where it comes from.
func (*nb201) Description() string {
	return "NAS-Bench-201 cell space: 6 edges x 5 ops = 15,625 cells in a fixed 3-stage ResNet-like skeleton (Dong & Yang, ICLR 2020)"
}

// Decisions lists the six edges in NAS-Bench-201 order, each with
// arch.CellOps in the benchmark's op order.
func (*nb201) Decisions() []Decision {
	ds := make([]Decision, len(nb201Edges))
	for i, e := range nb201Edges {
		ds[i] = Decision{Name: fmt.Sprintf("edge_%d_%d", e[0], e[1]), Choices: arch.CellOps()}
	}
	return ds
}

// DefaultResolution is CIFAR's 32 pixels.
func (*nb201) DefaultResolution() int { return 32 }

// DefaultClasses is CIFAR-10's 10; the benchmark also has CIFAR-100 (100)
// and ImageNet16-120 (120 classes at 16 pixels).
func (*nb201) DefaultClasses() int { return 10 }

// Network builds the NAS-Bench-201 skeleton around the cell: a 3x3 conv to
// 16 channels with BN and no activation, 5 cells at 16 channels, a residual
// reduction to 32, 5 cells, a reduction to 64, 5 cells, global pooling and
// the classifier, after the skeleton's final BN + ReLU (xautodl's lastact).
func (s *nb201) Network(choice []int, opt Options) (*arch.Network, error) {
	name, err := s.Format(choice)
	if err != nil {
		return nil, err
	}
	res, classes, err := defaultedOptions(s, opt)
	if err != nil {
		return nil, err
	}
	ops := arch.CellOps()
	cell := make([]string, len(choice))
	for i, c := range choice {
		cell[i] = ops[c]
	}
	var blocks []arch.Block
	blocks = append(blocks, arch.Block{Type: arch.Conv, Kernel: 3, Filters: 16, Activation: arch.Identity})
	for stage, c := range []int{16, 32, 64} {
		if stage > 0 {
			blocks = append(blocks, arch.Block{Type: arch.ResBasic, Stride: 2, Filters: c})
		}
		for range 5 {
			// Each block gets its own slice so that editing one cell of
			// the returned network does not change the others.
			blocks = append(blocks, arch.Block{Type: arch.Cell, Ops: append([]string(nil), cell...)})
		}
	}
	blocks = append(blocks,
		arch.Block{Type: arch.BatchNorm, Activation: arch.ReLU},
		arch.Block{Type: arch.GlobalPool},
		arch.Block{Type: arch.FC, Filters: classes},
	)
	return validated(&arch.Network{
		Format:     arch.Format,
		Name:       "nb201:" + name,
		Resolution: res,
		Blocks:     blocks,
	}, opt)
}

// Format returns the standard NAS-Bench-201 arch string, for example
// |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|
// (node 1's inputs, then node 2's, then node 3's; "~i" is the source node).
func (s *nb201) Format(choice []int) (string, error) {
	if err := Check(s, choice); err != nil {
		return "", err
	}
	ops := arch.CellOps()
	var sb strings.Builder
	for e, ed := range nb201Edges {
		if ed[0] == 0 {
			// The first input of a node opens a new "|...|" group.
			if e > 0 {
				sb.WriteString("+")
			}
			sb.WriteString("|")
		}
		fmt.Fprintf(&sb, "%s~%d|", ops[choice[e]], ed[0])
	}
	return sb.String(), nil
}

// Parse reads a NAS-Bench-201 arch string. It is strict: three node
// groups joined by "+", node j listing exactly its inputs 0..j-1 in order,
// every op one of arch.CellOps, no spaces; anything else is an error that
// quotes the input, so that a typo never silently names another cell.
func (s *nb201) Parse(str string) ([]int, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("nb201: %q: %s (want e.g. |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|)",
			str, fmt.Sprintf(format, args...))
	}
	groups := strings.Split(str, "+")
	if len(groups) != 3 {
		return nil, bad("want 3 node groups joined by '+', got %d", len(groups))
	}
	ops := arch.CellOps()
	choice := make([]int, 0, len(nb201Edges))
	for g, grp := range groups {
		node := g + 1
		if len(grp) < 2 || grp[0] != '|' || grp[len(grp)-1] != '|' {
			return nil, bad("node %d: group %q must start and end with '|'", node, grp)
		}
		edges := strings.Split(grp[1:len(grp)-1], "|")
		if len(edges) != node {
			return nil, bad("node %d: want %d input(s) (from nodes 0..%d), got %d", node, node, node-1, len(edges))
		}
		for src, tok := range edges {
			op, from, ok := strings.Cut(tok, "~")
			if !ok {
				return nil, bad("node %d: edge %q is not op~node", node, tok)
			}
			i := slices.Index(ops, op)
			if i < 0 {
				return nil, bad("node %d: unknown op %q; one of %s", node, op, strings.Join(ops, ", "))
			}
			// Only the canonical decimal spelling is accepted ("01" or
			// "+1" would parse as a number but never appear in the benchmark).
			if from != strconv.Itoa(src) {
				return nil, bad("node %d: input %d must come from node %d, got ~%s", node, src+1, src, from)
			}
			choice = append(choice, i)
		}
	}
	return choice, nil
}

// nb201Code numbers a valid choice vector 0..15624 (base 5, first edge
// most significant). It is only a dense key for the index tables; the
// benchmark's own numbering is not this order.
func nb201Code(choice []int) int {
	c := 0
	for _, x := range choice {
		c = c*5 + x
	}
	return c
}

// Index returns the cell's NAS-Bench-201 arch_idx (as in the embedded
// benchmark CSV). That numbering is the order of the benchmark file, not
// any order of the choices, so it is looked up in a table.
func (s *nb201) Index(choice []int) (int, error) {
	if err := Check(s, choice); err != nil {
		return 0, err
	}
	if err := s.loadIndex(); err != nil {
		return 0, err
	}
	return int(s.byCode[nb201Code(choice)]), nil
}

// FromIndex returns the choice vector of a NAS-Bench-201 arch_idx.
func (s *nb201) FromIndex(i int) ([]int, error) {
	if i < 0 || i >= nb201Size {
		return nil, fmt.Errorf("nb201: index %d out of range 0..%d", i, nb201Size-1)
	}
	if err := s.loadIndex(); err != nil {
		return nil, err
	}
	code := int(s.byIndex[i])
	choice := make([]int, len(nb201Edges))
	for e := len(choice) - 1; e >= 0; e-- {
		choice[e] = code % 5
		code /= 5
	}
	return choice, nil
}

func (s *nb201) loadIndex() error {
	s.once.Do(func() { s.byIndex, s.byCode, s.err = s.buildIndex(data.MustFile(nb201CSV)) })
	return s.err
}

// buildIndex reads the arch_idx and arch_str columns and checks that they
// are a bijection onto the 15,625 cells; a defective table is reported
// rather than trusted, since every benchmark join would silently go wrong.
func (s *nb201) buildIndex(b []byte) (byIndex, byCode []uint16, err error) {
	r := csv.NewReader(bytes.NewReader(b))
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("nb201: %s: %w", nb201CSV, err)
	}
	colIdx, colStr := slices.Index(head, "arch_idx"), slices.Index(head, "arch_str")
	if colIdx < 0 || colStr < 0 {
		return nil, nil, fmt.Errorf("nb201: %s: header lacks arch_idx or arch_str: %q", nb201CSV, head)
	}
	const unset = 0xffff
	byIndex = make([]uint16, nb201Size)
	byCode = make([]uint16, nb201Size)
	for i := range byIndex {
		byIndex[i], byCode[i] = unset, unset
	}
	rows := 0
	for {
		rec, err := r.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, nil, fmt.Errorf("nb201: %s: %w", nb201CSV, err)
		}
		rows++
		line, _ := r.FieldPos(0)
		idx, err := strconv.Atoi(rec[colIdx])
		if err != nil || idx < 0 || idx >= nb201Size {
			return nil, nil, fmt.Errorf("nb201: %s line %d: bad arch_idx %q", nb201CSV, line, rec[colIdx])
		}
		choice, err := s.Parse(rec[colStr])
		if err != nil {
			return nil, nil, fmt.Errorf("nb201: %s line %d: %w", nb201CSV, line, err)
		}
		code := nb201Code(choice)
		if byIndex[idx] != unset || byCode[code] != unset {
			return nil, nil, fmt.Errorf("nb201: %s line %d: arch_idx %d or cell %s appears twice", nb201CSV, line, idx, rec[colStr])
		}
		byIndex[idx], byCode[code] = uint16(code), uint16(idx)
	}
	if rows != nb201Size {
		return nil, nil, fmt.Errorf("nb201: %s has %d cells, want %d", nb201CSV, rows, nb201Size)
	}
	return byIndex, byCode, nil
}

package profile

import (
	"fmt"
	"sort"
	"strings"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/latency/lut"
	"github.com/fleetnas/fleetnas/setting"
	"github.com/fleetnas/fleetnas/space"
)

// Config is one block configuration: its lut signature and the graph of
// that block alone, with the block's input as the graph's input.
type Config struct {
	Signature lut.Signature
	Graph     *arch.Graph
}

// Coverage says how a space's configurations were found.
type Coverage struct {
	// Networks is the number of networks lowered by the enumeration.
	Networks int
	// Sampled is the number of uniformly sampled networks checked after
	// it, and Missed the configurations only they contained (0 when the
	// enumeration covers the space, as it should).
	Sampled, Missed int
}

// Configs returns every distinct block configuration that networks of sp
// have at resolution res (0: the space's default), sorted by signature.
//
// A space is a product of decisions too large to enumerate (multihw has
// ~10^23 networks), but a block's configuration depends on few of them:
// its own op and the widths of its stage and the stage before (its input).
// So, starting from the all-first-choices network, every decision is
// varied over all its choices jointly with every choice of the two width
// decisions (names ending in "/width") that precede it, which produces
// every (input width, width, op) combination of the MobileNet-style
// spaces. Then samples uniformly drawn networks are lowered as a check;
// any configuration only they contain is added too and counted in
// Coverage.Missed, so that a space whose blocks depend on other decisions
// shows up rather than leaving holes in the table (DefaultCheckSamples is
// the usual number). A negative samples is an error about the setting
// "check_samples".
//
// The networks are built at target (zero fields take the space's default
// resolution and classes and 3 channels): a table prices networks of the
// deployment target it was profiled for, and no other.
func Configs(sp space.Space, target space.Options, samples int, seed uint64) ([]Config, Coverage, error) {
	if samples < 0 {
		return nil, Coverage{}, setting.Errorf("check_samples", "must not be negative, got %d", samples)
	}
	if target.Resolution == 0 {
		target.Resolution = sp.DefaultResolution()
	}
	ds := sp.Decisions()
	var widths []int
	for i, d := range ds {
		if strings.HasSuffix(d.Name, "/width") {
			widths = append(widths, i)
		}
	}
	found := map[string]Config{}
	var cov Coverage
	add := func(choice []int) (int, error) {
		n, err := sp.Network(choice, target)
		if err != nil {
			return 0, err
		}
		cov.Networks++
		return addBlocks(n, found)
	}
	for d := range ds {
		// The width decisions before d, nearest first: its own stage's and
		// the previous stage's (a width decision itself counts as its own).
		var ws []int
		for i := len(widths) - 1; i >= 0 && len(ws) < 2; i-- {
			if widths[i] <= d && widths[i] != d {
				ws = append(ws, widths[i])
			}
		}
		vary := append([]int{d}, ws...)
		choice := make([]int, len(ds))
		var rec func(k int) error
		rec = func(k int) error {
			if k == len(vary) {
				_, err := add(choice)
				return err
			}
			for c := range ds[vary[k]].Choices {
				choice[vary[k]] = c
				if err := rec(k + 1); err != nil {
					return err
				}
			}
			choice[vary[k]] = 0
			return nil
		}
		if err := rec(0); err != nil {
			return nil, cov, err
		}
	}
	for _, c := range space.Sample(sp, samples, seed) {
		n, err := sp.Network(c, target)
		if err != nil {
			return nil, cov, err
		}
		added, err := addBlocks(n, found)
		if err != nil {
			return nil, cov, err
		}
		cov.Sampled++
		cov.Missed += added
	}
	out := make([]Config, 0, len(found))
	for _, c := range found {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Signature.String() < out[j].Signature.String() })
	return out, cov, nil
}

// addBlocks adds the configurations of n's blocks that are not in found
// yet and returns how many it added.
func addBlocks(n *arch.Network, found map[string]Config) (int, error) {
	g, err := n.Lower(0)
	if err != nil {
		return 0, err
	}
	sigs, err := lut.Signatures(g)
	if err != nil {
		return 0, err
	}
	// Signatures skips blocks without layers; map signatures back to
	// blocks through their order (arch gives every block a layer today).
	if len(sigs) != len(n.Blocks) {
		return 0, fmt.Errorf("%s: %d signatures for %d blocks", n.Name, len(sigs), len(n.Blocks))
	}
	added := 0
	for i, s := range sigs {
		key := s.String()
		if _, ok := found[key]; ok {
			continue
		}
		single, err := SingleBlock(g, i)
		if err != nil {
			return 0, err
		}
		found[key] = Config{Signature: s, Graph: single}
		added++
	}
	return added, nil
}

// SingleBlock returns the graph of block i of g alone: the block's
// layers with the block's input as the graph's input. It is cut out of g
// rather than lowered from a one-block network, because a network's
// input may have at most 64 channels and blocks deep in a network have
// more. The carrier network holds the block only, and the signature of
// the cut graph is checked against the block's in g.
func SingleBlock(g *arch.Graph, i int) (*arch.Graph, error) {
	n := g.Network
	if i < 0 || i >= len(n.Blocks) || len(g.BlockOut) != len(n.Blocks) {
		return nil, fmt.Errorf("block %d of a %d-block graph", i, len(n.Blocks))
	}
	inID := 0
	if i > 0 {
		inID = g.BlockOut[i-1]
	}
	in := g.Tensors[inID]
	single := &arch.Network{Format: arch.Format, Resolution: in.H, InputChannels: in.C, Divisor: n.Divisor,
		Blocks: []arch.Block{n.Clone().Blocks[i]}}
	sg := &arch.Graph{Network: single, Resolution: in.H, Tensors: []arch.Shape{in}}
	ids := map[int]int{inID: 0}
	for _, l := range g.Layers {
		if l.Block != i {
			continue
		}
		l.Block = 0
		l.Name = "0" + strings.TrimPrefix(l.Name, fmt.Sprint(i))
		l.Inputs = append([]int(nil), l.Inputs...)
		for k, t := range l.Inputs {
			id, ok := ids[t]
			if !ok {
				return nil, fmt.Errorf("%s: block %d layer %s reads tensor %d from outside the block", n.Name, i, l.Name, t)
			}
			l.Inputs[k] = id
		}
		sg.Tensors = append(sg.Tensors, l.Out)
		ids[l.Output] = len(sg.Tensors) - 1
		l.Output = len(sg.Tensors) - 1
		sg.Layers = append(sg.Layers, l)
	}
	if len(sg.Layers) == 0 {
		return nil, fmt.Errorf("%s: block %d has no layers", n.Name, i)
	}
	out, ok := ids[g.BlockOut[i]]
	if !ok || out != len(sg.Tensors)-1 {
		return nil, fmt.Errorf("%s: block %d does not end with its output tensor", n.Name, i)
	}
	sg.BlockOut = []int{out}
	got, err := lut.Signatures(sg)
	if err != nil {
		return nil, err
	}
	want, err := lut.Signatures(g)
	if err != nil {
		return nil, err
	}
	if len(got) != 1 || got[0] != want[i] {
		return nil, fmt.Errorf("%s: block %d alone has signature %v, in the network %s", n.Name, i, got, want[i])
	}
	single.Name = got[0].String()
	return sg, nil
}

package profile

import (
	"slices"
	"strings"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/ort"
)

// LayerTime is one layer's time inside a whole network.
type LayerTime struct {
	Layer string `json:"layer"`
	Block int    `json:"block"`
	// Ms is the median over runs of the layer's node times.
	Ms float64 `json:"ms"`
}

// LayerTimes reads a profile ONNX Runtime wrote while running g
// (Options.ProfilePrefix, Timing.ProfileFile) and returns the time of
// each of g's layers, in g's order, and of the nodes that belong to no
// layer (the layout conversions ONNX Runtime inserts). Node times leave
// out the runtime's work between nodes, so they add up to less than a
// run.
//
// fleetnas names nodes "layer/Op_index" and tensors after the layer that
// writes them; ONNX Runtime names the nodes it converts to NCHWc after
// their output, "layer_nchwc" ("output_nchwc" for the last layer).
func LayerTimes(path string, g *arch.Graph) (layers []LayerTime, otherMs float64, err error) {
	nodes, err := ort.ReadProfile(path)
	if err != nil {
		return nil, 0, err
	}
	index := map[string]int{}
	for i, l := range g.Layers {
		index[l.Name] = i
	}
	last := -1
	for i, l := range g.Layers {
		if l.Output == len(g.Tensors)-1 {
			last = i
		}
	}
	layerOf := func(node string) int {
		if l, _, ok := strings.Cut(node, "/"); ok {
			if i, ok := index[l]; ok {
				return i
			}
		}
		if t, ok := strings.CutSuffix(node, "_nchwc"); ok {
			if i, ok := index[t]; ok {
				return i
			}
			if t == "output" {
				return last
			}
		}
		return -1
	}
	runs := 0
	for _, n := range nodes {
		runs = max(runs, n.Run+1)
	}
	// per[layer+1][run]: layer -1 collects the nodes of no layer.
	per := make([][]float64, len(g.Layers)+1)
	for i := range per {
		per[i] = make([]float64, runs)
	}
	for _, n := range nodes {
		per[layerOf(n.Node)+1][n.Run] += n.Us / 1000
	}
	median := func(x []float64) float64 {
		if len(x) == 0 {
			return 0
		}
		s := slices.Clone(x)
		slices.Sort(s)
		return ort.Quantile(s, 0.5)
	}
	for i, l := range g.Layers {
		layers = append(layers, LayerTime{Layer: l.Name, Block: l.Block, Ms: median(per[i+1])})
	}
	return layers, median(per[0]), nil
}

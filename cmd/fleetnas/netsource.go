package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/space"
	"github.com/fleetnas/fleetnas/train"
	"github.com/fleetnas/fleetnas/zoo"
	"github.com/spf13/cobra"
)

// netFlags are the flags that say which network a command works on.
type netFlags struct {
	model      string
	width      float64
	backbone   bool
	archFile   string
	spaceName  string
	choice     string
	resolution int
	classes    int
	channels   int
}

func (f *netFlags) register(cmd *cobra.Command, backbone bool) {
	fs := cmd.Flags()
	fs.StringVar(&f.model, "model", "", "reference model name (see `fleetnas models`)")
	fs.Float64Var(&f.width, "width", 1, "width multiplier of --model")
	if backbone {
		fs.BoolVar(&f.backbone, "backbone", false, "drop the classifier head of --model (Model Garden's backbone)")
	}
	fs.StringVar(&f.archFile, "arch", "", "network JSON file (see docs/network-json.md) or a training checkpoint (its network)")
	fs.StringVar(&f.spaceName, "space", "", "search space name (see `fleetnas space`)")
	fs.StringVar(&f.choice, "choice", "", "canonical choice string of --space")
	fs.IntVar(&f.resolution, "resolution", 0, "input resolution in pixels (default: the network's own)")
	fs.IntVar(&f.classes, "classes", 0, "classifier classes (default: 1000 for zoo models, the space's default otherwise)")
	fs.IntVar(&f.channels, "channels", 0, "input channels of --model or --space networks (default 3)")
}

// readNetwork reads a network file: the JSON form of a network, or a
// training checkpoint, whose network it takes.
func readNetwork(path string) (*arch.Network, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var probe struct {
		Format string `json:"format"`
	}
	if json.Unmarshal(b, &probe) == nil && probe.Format == train.CheckpointFormat {
		return train.CheckpointNetwork(path)
	}
	return arch.Decode(b, path)
}

// build returns the network the flags name, and the resolution to cost it at.
func (f *netFlags) build(cmd *cobra.Command) (*arch.Network, error) {
	n := 0
	for _, s := range []string{f.model, f.archFile, f.spaceName} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("give exactly one of --model NAME, --arch FILE, or --space NAME --choice STRING")
	}
	if f.resolution < 0 {
		return nil, fmt.Errorf("--resolution must be positive, got %d", f.resolution)
	}
	if f.classes < 0 {
		return nil, fmt.Errorf("--classes must be positive, got %d", f.classes)
	}
	if f.channels < 0 || f.channels > arch.MaxInputChannels {
		return nil, fmt.Errorf("--channels must be in 1..%d, got %d", arch.MaxInputChannels, f.channels)
	}
	if f.archFile != "" && changed(cmd, "channels") {
		return nil, errors.New("--channels does not apply to --arch (edit input_channels in the file)")
	}
	if f.model == "" && (changed(cmd, "width") || changed(cmd, "backbone")) {
		return nil, errors.New("--width and --backbone apply to --model only")
	}
	if f.width <= 0 || f.width > 8 || f.width != f.width {
		return nil, fmt.Errorf("--width must be in (0, 8], got %g", f.width)
	}
	if f.spaceName == "" && f.choice != "" {
		return nil, errors.New("--choice needs --space")
	}
	switch {
	case f.model != "":
		z, err := zoo.New()
		if err != nil {
			return nil, err
		}
		if f.backbone && changed(cmd, "classes") {
			return nil, errors.New("--classes does not apply with --backbone")
		}
		n, err := z.Build(f.model, zoo.Options{Width: f.width, Resolution: f.resolution, Classes: f.classes, Backbone: f.backbone})
		if err != nil {
			return nil, err
		}
		if f.channels != 0 && f.channels != 3 {
			n.InputChannels = f.channels
			if err := n.Validate(); err != nil {
				return nil, fmt.Errorf("%s with %d input channels: %w", f.model, f.channels, err)
			}
		}
		return n, nil
	case f.archFile != "":
		if changed(cmd, "classes") {
			return nil, errors.New("--classes does not apply to --arch (edit the fc block of the file)")
		}
		nw, err := readNetwork(f.archFile)
		if err != nil {
			return nil, err
		}
		if f.resolution != 0 {
			nw.Resolution = f.resolution
			if err := nw.Validate(); err != nil {
				return nil, fmt.Errorf("%s at resolution %d: %w", f.archFile, f.resolution, err)
			}
		}
		return nw, nil
	default:
		sp, err := space.Get(f.spaceName)
		if err != nil {
			return nil, err
		}
		if f.choice == "" {
			return nil, fmt.Errorf("--space %s needs --choice STRING (try `fleetnas space %s --sample 1`)", f.spaceName, f.spaceName)
		}
		c, err := sp.Parse(strings.TrimSpace(f.choice))
		if err != nil {
			return nil, err
		}
		return sp.Network(c, space.Options{Resolution: f.resolution, Classes: f.classes, Channels: f.channels})
	}
}

// changed reports whether the user gave flag name (cmd may not have it).
func changed(cmd *cobra.Command, name string) bool {
	fl := cmd.Flags().Lookup(name)
	return fl != nil && fl.Changed
}

// latencyNet is the network the flags name as device models read it: a
// member of a space keeps its space, choice and key (tables look it up by
// them), with the resolution, classes and channels the flags give.
func (f *netFlags) latencyNet(cmd *cobra.Command) (*latency.Net, error) {
	nw, err := f.build(cmd)
	if err != nil {
		return nil, err
	}
	g, err := nw.Lower(0)
	if err != nil {
		return nil, err
	}
	n := &latency.Net{Key: nw.Name, Graph: g}
	if f.spaceName != "" {
		sp, err := space.Get(f.spaceName)
		if err != nil {
			return nil, err
		}
		c, err := sp.Parse(strings.TrimSpace(f.choice))
		if err != nil {
			return nil, err
		}
		if n.Key, err = sp.Format(c); err != nil {
			return nil, err
		}
		n.Space, n.Choice = sp.Name(), c
	}
	return n, nil
}

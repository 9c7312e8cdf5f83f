package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/space"
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
}

func (f *netFlags) register(cmd *cobra.Command, backbone bool) {
	fs := cmd.Flags()
	fs.StringVar(&f.model, "model", "", "reference model name (see `fleetnas models`)")
	fs.Float64Var(&f.width, "width", 1, "width multiplier of --model")
	if backbone {
		fs.BoolVar(&f.backbone, "backbone", false, "drop the classifier head of --model (Model Garden's backbone)")
	}
	fs.StringVar(&f.archFile, "arch", "", "network JSON file (see docs/network-json.md)")
	fs.StringVar(&f.spaceName, "space", "", "search space name (see `fleetnas space`)")
	fs.StringVar(&f.choice, "choice", "", "canonical choice string of --space")
	fs.IntVar(&f.resolution, "resolution", 0, "input resolution in pixels (default: the network's own)")
	fs.IntVar(&f.classes, "classes", 0, "classifier classes (default: 1000 for zoo models, the space's default otherwise)")
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
	changed := func(name string) bool { return cmd.Flags().Changed(name) }
	if f.model == "" && (changed("width") || changed("backbone")) {
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
		if f.backbone && changed("classes") {
			return nil, errors.New("--classes does not apply with --backbone")
		}
		return z.Build(f.model, zoo.Options{Width: f.width, Resolution: f.resolution, Classes: f.classes, Backbone: f.backbone})
	case f.archFile != "":
		if changed("classes") {
			return nil, errors.New("--classes does not apply to --arch (edit the fc block of the file)")
		}
		nw, err := arch.ReadFile(f.archFile)
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
		return sp.Network(c, space.Options{Resolution: f.resolution, Classes: f.classes})
	}
}

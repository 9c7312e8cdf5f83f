package main

import (
	"fmt"
	"strings"

	"github.com/fleetnas/fleetnas/cost"
	"github.com/fleetnas/fleetnas/space"
	"github.com/spf13/cobra"
)

type spaceSample struct {
	Choice string `json:"choice"`
	Vector []int  `json:"vector"`
	MACs   int64  `json:"macs"`
	Params int64  `json:"params"`
}

type spaceInfo struct {
	Name              string           `json:"name"`
	Description       string           `json:"description"`
	Log10Size         float64          `json:"log10_size"`
	DefaultResolution int              `json:"default_resolution"`
	DefaultClasses    int              `json:"default_classes"`
	Decisions         []space.Decision `json:"decisions,omitempty"`
	Samples           []spaceSample    `json:"samples,omitempty"`
}

func describe(sp space.Space) spaceInfo {
	return spaceInfo{Name: sp.Name(), Description: sp.Description(), Log10Size: space.Log10Size(sp),
		DefaultResolution: sp.DefaultResolution(), DefaultClasses: sp.DefaultClasses()}
}

func newSpaceCmd() *cobra.Command {
	var asJSON, stringsOnly bool
	var sample int
	var seed uint64
	cmd := &cobra.Command{
		Use:   "space [NAME]",
		Short: "List search spaces, show one's decisions, or sample networks from it",
		Long: `Without NAME, list the built-in search spaces. With NAME, show its
decisions and choices and its size; with --sample N, draw N networks
uniformly (the same --seed gives the same networks on any machine) and
print their canonical choice strings with MACs and parameters at the
space's default resolution.

Examples:
  fleetnas space
  fleetnas space multihw
  fleetnas space nb201 --sample 5 --seed 1
  fleetnas space fbnet --sample 3 --strings`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if len(args) == 0 {
				if sample != 0 || stringsOnly {
					return fmt.Errorf("--sample and --strings need a space NAME")
				}
				var infos []spaceInfo
				for _, name := range space.Names() {
					sp, err := space.Get(name)
					if err != nil {
						return err
					}
					infos = append(infos, describe(sp))
				}
				if asJSON {
					return writeJSON(out, infos)
				}
				tw := newTable(out)
				fmt.Fprintln(tw, "SPACE\tLOG10 SIZE\tRES\tCLASSES\tDESCRIPTION")
				for _, i := range infos {
					fmt.Fprintf(tw, "%s\t%.1f\t%d\t%d\t%s\n", i.Name, i.Log10Size, i.DefaultResolution, i.DefaultClasses, i.Description)
				}
				return tw.Flush()
			}
			sp, err := space.Get(args[0])
			if err != nil {
				return err
			}
			if sample < 0 {
				return fmt.Errorf("--sample must be positive, got %d", sample)
			}
			if stringsOnly && sample == 0 {
				return fmt.Errorf("--strings needs --sample N")
			}
			info := describe(sp)
			info.Decisions = sp.Decisions()
			for _, v := range space.Sample(sp, sample, seed) {
				s, err := sp.Format(v)
				if err != nil {
					return err
				}
				n, err := sp.Network(v, space.Options{})
				if err != nil {
					return fmt.Errorf("%s: %w", s, err)
				}
				r, err := cost.Network(n, 0, cost.Options{})
				if err != nil {
					return fmt.Errorf("%s: %w", s, err)
				}
				info.Samples = append(info.Samples, spaceSample{s, v, r.MACs, r.Params})
			}
			if stringsOnly {
				for _, s := range info.Samples {
					fmt.Fprintln(out, s.Choice)
				}
				return nil
			}
			if asJSON {
				return writeJSON(out, info)
			}
			fmt.Fprintf(out, "%s: %s\n", info.Name, info.Description)
			fmt.Fprintf(out, "size: 10^%.2f choice vectors; default input %dx%d, %d classes\n\n",
				info.Log10Size, info.DefaultResolution, info.DefaultResolution, info.DefaultClasses)
			if sample == 0 {
				tw := newTable(out)
				fmt.Fprintln(tw, "#\tDECISION\tCHOICES")
				for i, d := range info.Decisions {
					fmt.Fprintf(tw, "%d\t%s\t%s\n", i, d.Name, strings.Join(d.Choices, " "))
				}
				return tw.Flush()
			}
			tw := newTable(out)
			fmt.Fprintln(tw, "MACS\tPARAMS\tCHOICE")
			for _, s := range info.Samples {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", human(s.MACs), human(s.Params), s.Choice)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&sample, "sample", 0, "draw N networks uniformly at random")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed for --sample")
	cmd.Flags().BoolVar(&stringsOnly, "strings", false, "with --sample, print only the choice strings, one per line")
	return cmd
}

package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/fleetnas/fleetnas/cost"
	"github.com/fleetnas/fleetnas/metric"
	"github.com/fleetnas/fleetnas/price"
	"github.com/fleetnas/fleetnas/space"
	"github.com/spf13/cobra"
)

type spaceSample struct {
	Choice string   `json:"choice"`
	Vector []int    `json:"vector"`
	MACs   int64    `json:"macs"`
	Params int64    `json:"params"`
	Metric *float64 `json:"metric,omitempty"`
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
	var fleetName, metricName string
	var near, tolerance float64
	var maxDraws int
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
  fleetnas space fbnet --sample 3 --strings
  fleetnas space multihw --sample 5 --fleet mnv4 --metric avg --near 0.8

With --near X, the draws are filtered: only networks whose fleet metric
(on --fleet, at its resolution) is within --tolerance of X (relative) are
kept, the first N of them in draw order. Those are the random baselines
of a search: networks as fast as the one it found, drawn blindly.`,
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
			draws := space.Sample(sp, sample, seed)
			var pricer *price.Pricer
			if near != 0 {
				if sample == 0 || fleetName == "" {
					return fmt.Errorf("--near needs --sample N and --fleet")
				}
				if !(near > 0) || !(tolerance > 0) || maxDraws < sample {
					return fmt.Errorf("--near and --tolerance must be positive and --max-draws at least --sample, got %v, %v and %d", near, tolerance, maxDraws)
				}
				m, err := metric.Parse(metricName)
				if err != nil {
					return fmt.Errorf("--metric: %w", err)
				}
				if pricer, err = price.Open(price.Settings{Space: sp.Name(), Fleet: fleetName, Metric: m}); err != nil {
					return err
				}
				draws = space.Sample(sp, maxDraws, seed)
			}
			for _, v := range draws {
				if len(info.Samples) == sample {
					break
				}
				s, err := sp.Format(v)
				if err != nil {
					return err
				}
				var m *float64
				if pricer != nil {
					r, err := pricer.Price(v)
					if err != nil {
						return fmt.Errorf("%s: %w", s, err)
					}
					if math.Abs(r.Metric/near-1) > tolerance {
						continue
					}
					m = &r.Metric
				}
				n, err := sp.Network(v, space.Options{})
				if err != nil {
					return fmt.Errorf("%s: %w", s, err)
				}
				r, err := cost.Network(n, 0, cost.Options{})
				if err != nil {
					return fmt.Errorf("%s: %w", s, err)
				}
				info.Samples = append(info.Samples, spaceSample{s, v, r.MACs, r.Params, m})
			}
			if len(info.Samples) < sample {
				return fmt.Errorf("only %d of %d random networks drawn have a %s metric within %g of %g on %s", len(info.Samples), maxDraws, metricName, tolerance, near, fleetName)
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
			if pricer != nil {
				fmt.Fprintf(tw, "MACS\tPARAMS\t%s\tCHOICE\n", strings.ToUpper(metricName))
				for _, s := range info.Samples {
					fmt.Fprintf(tw, "%s\t%s\t%.3f\t%s\n", human(s.MACs), human(s.Params), *s.Metric, s.Choice)
				}
				return tw.Flush()
			}
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
	cmd.Flags().StringVar(&fleetName, "fleet", "", "with --near: the fleet that prices the draws")
	cmd.Flags().StringVar(&metricName, "metric", "avg", "with --near: avg, max or device:NAME")
	bindSetting(cmd.Flags(), "fleet", "fleet")
	bindSetting(cmd.Flags(), "metric", "metric")
	cmd.Flags().Float64Var(&near, "near", 0, "keep only draws whose fleet metric is within --tolerance of this value")
	cmd.Flags().Float64Var(&tolerance, "tolerance", 0.05, "relative tolerance of --near")
	cmd.Flags().IntVar(&maxDraws, "max-draws", 100000, "with --near: give up after this many draws")
	return cmd
}

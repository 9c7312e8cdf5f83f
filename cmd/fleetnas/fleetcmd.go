package main

import (
	"fmt"
	"strings"

	"github.com/fleetnas/fleetnas/fleet"
	"github.com/fleetnas/fleetnas/zoo"
	"github.com/spf13/cobra"
)

// loadFleet opens a built-in fleet by name or a fleet file by path.
func loadFleet(nameOrFile string, z *zoo.Zoo) (*fleet.Fleet, error) {
	if nameOrFile == "" {
		return nil, fmt.Errorf("--fleet is required: a built-in fleet (%s) or a fleet file", strings.Join(fleet.Names(), ", "))
	}
	return fleet.Open(nameOrFile, z)
}

func newFleetCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "fleet [NAME|FILE]",
		Short: "List the built-in fleets, or show a fleet's devices, references and error figures",
		Long: `Without an argument, list the built-in fleets. With a fleet name or a fleet
file (JSON or YAML, see docs/fleets.md), show each device: its latency
model kind, weight, reference and reference latency, where its numbers
come from, and the model's error on measurements it did not see.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if len(args) == 0 {
				type row struct {
					Name        string `json:"name"`
					Description string `json:"description"`
				}
				var rows []row
				for _, n := range fleet.Names() {
					rows = append(rows, row{n, fleet.Describe(n)})
				}
				if asJSON {
					return writeJSON(out, rows)
				}
				tw := newTable(out)
				fmt.Fprintln(tw, "FLEET\tDESCRIPTION")
				for _, r := range rows {
					fmt.Fprintf(tw, "%s\t%s\n", r.Name, r.Description)
				}
				return tw.Flush()
			}
			z, err := zoo.New()
			if err != nil {
				return err
			}
			f, err := loadFleet(args[0], z)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(out, f)
			}
			fmt.Fprintf(out, "%s: %s\n", f.Name, f.Description)
			if f.Resolution != 0 {
				fmt.Fprintf(out, "deployment resolution: %d\n", f.Resolution)
			}
			fmt.Fprintln(out)
			tw := newTable(out)
			fmt.Fprintln(tw, "DEVICE\tKIND\tWEIGHT\tREFERENCE\tREF MS\tMODEL ERROR\tSOURCE")
			for _, d := range f.Devices {
				fmt.Fprintf(tw, "%s\t%s\t%g\t%s\t%.4g\t%s\t%s\n", d.Name, d.Kind, d.Weight, d.Ref, d.RefMS, d.Accuracy, d.Source)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newLatencyCmd() *cobra.Command {
	var nf netFlags
	var fleetName string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "latency --fleet F (--model NAME [--width W] | --arch FILE | --space S --choice STRING)",
		Short: "Predict a network's latency on every device of a fleet, with AVG and MAX",
		Long: `Price a network on every device of a fleet: per-device latency, the
device model's error figure, the ratio to the device's reference; then
the fleet's AVG (weighted mean ratio) and MAX (worst ratio).

Networks of a search space are priced at the fleet's deployment resolution
unless --resolution says otherwise; zoo models and files at their own.

Examples:
  fleetnas latency --fleet nb201-mobile --space nb201 --choice '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|'
  fleetnas latency --fleet my_fleet.yaml --model MobileNetMultiAVG --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			z, err := zoo.New()
			if err != nil {
				return err
			}
			f, err := loadFleet(fleetName, z)
			if err != nil {
				return err
			}
			if nf.spaceName != "" && nf.resolution == 0 && f.Resolution != 0 {
				nf.resolution = f.Resolution
			}
			n, err := nf.latencyNet(cmd)
			if err != nil {
				return err
			}
			r, err := f.Evaluate(n)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, r)
			}
			fmt.Fprintf(out, "%s on fleet %s (input %dx%d)\n\n", n.Key, f.Name, n.Graph.Resolution, n.Graph.Resolution)
			tw := newTable(out)
			fmt.Fprintln(tw, "DEVICE\tLATENCY MS\tREF MS\tRATIO\tWEIGHT\tMODEL ERROR")
			for _, d := range r.Devices {
				fmt.Fprintf(tw, "%s\t%.4g\t%.4g\t%.3f\t%g\t%s\n", d.Name, d.LatencyMS, d.RefMS, d.Ratio, d.Weight, d.Accuracy)
			}
			fmt.Fprintf(tw, "\nAVG\t\t\t%.3f\n", r.Avg)
			fmt.Fprintf(tw, "MAX\t\t\t%.3f\n", r.Max)
			return tw.Flush()
		},
	}
	nf.register(cmd, false)
	cmd.Flags().StringVar(&fleetName, "fleet", "", "built-in fleet name or fleet file")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

package main

import (
	"fmt"

	"github.com/fleetnas/fleetnas/cost"
	"github.com/spf13/cobra"
)

var dtypes = map[string]int{"float32": 4, "float16": 2, "int8": 1}

func newCostCmd() *cobra.Command {
	var nf netFlags
	var asJSON, layers bool
	var dtype string
	cmd := &cobra.Command{
		Use:   "cost (--model NAME [--width W] [--backbone] | --arch FILE | --space S --choice STRING)",
		Short: "Count MACs, parameters, bytes and peak memory of a network",
		Long: `Count what a network costs at one input resolution: multiply-accumulates,
trainable parameters, parameters including batch-norm moving statistics,
weight bytes (BN folded), activation bytes read and written, and peak
activation memory; per layer with --layers.

Examples:
  fleetnas cost --model MobileNetV2 --width 0.75 --resolution 160
  fleetnas cost --model MobileNetMultiAVG --backbone --json
  fleetnas cost --arch my_net.json --layers
  fleetnas cost --space nb201 --choice '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bpe, ok := dtypes[dtype]
			if !ok {
				return fmt.Errorf("--dtype %q: one of float32, float16, int8", dtype)
			}
			n, err := nf.build(cmd)
			if err != nil {
				return err
			}
			r, err := cost.Network(n, nf.resolution, cost.Options{BytesPerElement: bpe})
			if err != nil {
				return err
			}
			if !layers {
				r.Layers = nil
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, r)
			}
			tw := newTable(out)
			if layers {
				fmt.Fprintln(tw, "LAYER\tOP\tINPUT\tOUTPUT\tK\tS\tMACS\tPARAMS\tREAD\tWRITTEN\tLIVE")
				for _, l := range r.Layers {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", l.Name, l.Op, l.In, l.Out,
						blank(l.Kernel), blank(l.Stride), l.MACs, l.Params, l.ReadBytes, l.WriteBytes, l.LiveBytes)
				}
				fmt.Fprintln(tw)
			}
			fmt.Fprintf(tw, "network\t%s\n", r.Name)
			fmt.Fprintf(tw, "input -> output\t%s -> %s\n", r.Input, r.Output)
			fmt.Fprintf(tw, "MACs\t%d\t(%s)\n", r.MACs, human(r.MACs))
			fmt.Fprintf(tw, "parameters\t%d\t(%s)\n", r.Params, human(r.Params))
			fmt.Fprintf(tw, "parameters + BN statistics\t%d\n", r.ParamsWithBNStats)
			fmt.Fprintf(tw, "weight bytes (%s)\t%d\t(%s)\n", dtype, r.WeightBytes, humanBytes(r.WeightBytes))
			fmt.Fprintf(tw, "activation bytes read\t%d\t(%s)\n", r.ReadBytes, humanBytes(r.ReadBytes))
			fmt.Fprintf(tw, "activation bytes written\t%d\t(%s)\n", r.WriteBytes, humanBytes(r.WriteBytes))
			fmt.Fprintf(tw, "peak activation memory\t%d\t(%s)\n", r.PeakActivationBytes, humanBytes(r.PeakActivationBytes))
			return tw.Flush()
		},
	}
	nf.register(cmd, true)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&layers, "layers", false, "also print every layer")
	cmd.Flags().StringVar(&dtype, "dtype", "float32", "element type for byte counts: float32, float16 or int8")
	return cmd
}

func blank(v int) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprint(v)
}

package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func newArchCmd() *cobra.Command {
	var nf netFlags
	var out string
	cmd := &cobra.Command{
		Use:   "arch (--model NAME [--width W] [--backbone] | --arch FILE | --space S --choice STRING)",
		Short: "Print a network's JSON form, to save, edit and cost",
		Long: `Print the network's JSON form (docs/network-json.md): one block per line,
ready to edit by hand and to pass back with --arch.

Examples:
  fleetnas arch --model MobileNetMultiMAX -o multimax.json
  fleetnas arch --space multihw --choice "$(fleetnas space multihw --sample 1 --seed 7 --strings)"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, err := nf.build(cmd)
			if err != nil {
				return err
			}
			if nf.resolution != 0 {
				n.Resolution = nf.resolution
			}
			js, err := n.Encode()
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(js)
				return err
			}
			if err := os.WriteFile(out, js, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s (%d blocks)\n", out, len(n.Blocks))
			return nil
		},
	}
	nf.register(cmd, true)
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of stdout")
	return cmd
}

package main

import (
	"fmt"
	"os"

	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/latency/calibrate"
	"github.com/fleetnas/fleetnas/latency/roofline"
	"github.com/fleetnas/fleetnas/space"
	"github.com/spf13/cobra"
)

func newCalibrateCmd() *cobra.Command {
	var o calibrate.Options
	var spaceName, measurements, save, priorFile string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "calibrate --space S --measurements CSV [--kind linear|lut|roofline]",
		Short: "Fit a latency model of a new device from measured networks, with cross-validated error",
		Long: `Fit a model of a device from your measurements of a search space's
networks (a CSV with header arch,latency_ms; arch is the space's choice
string, quoted if it contains commas) and report its cross-validated
error: MAPE, median APE, RMSE, Spearman, Kendall, and the share of networks
within ±5% and ±10%. --save writes the fitted device for a fleet file:

  linear    per-decision one-hot model (robust log-space fit by default,
            --linear additive for TuNAS's least squares); fleet entry:
            {kind: linear, space: S, model_file: FILE}
  lut       one latency per block signature (non-negative, plus a
            constant); fleet entry: {kind: lut, table: FILE}
  roofline  roofline parameters fitted by robust least squares on log
            latency; fleet entry: {kind: calibrated, params_file: FILE}

Example:
  fleetnas calibrate --space fbnet --measurements pixel2.csv --kind linear --folds 5 --save pixel2.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if spaceName == "" || measurements == "" {
				return fmt.Errorf("--space and --measurements are required")
			}
			sp, err := space.Get(spaceName)
			if err != nil {
				return err
			}
			if priorFile != "" {
				if o.Kind != "roofline" {
					return fmt.Errorf("--prior applies to --kind roofline only")
				}
				fh, err := os.Open(priorFile)
				if err != nil {
					return err
				}
				d, err := roofline.ReadJSON(fh)
				fh.Close()
				if err != nil {
					return fmt.Errorf("%s: %w", priorFile, err)
				}
				p := d.Model.Params()
				o.Prior = &p
			}
			m, err := latency.ReadMeasurementsFile(measurements, sp)
			if err != nil {
				return err
			}
			r, err := calibrate.Run(sp, m, o)
			if err != nil {
				return err
			}
			if save != "" {
				fh, err := os.Create(save)
				if err != nil {
					return err
				}
				if err := r.Save(fh); err != nil {
					fh.Close()
					return err
				}
				if err := fh.Close(); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", save)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, struct {
					Kind     string           `json:"kind"`
					Space    string           `json:"space"`
					N        int              `json:"n"`
					Accuracy latency.Accuracy `json:"accuracy"`
					Saved    string           `json:"saved,omitempty"`
				}{r.Kind, r.Space, r.N, r.Accuracy, save})
			}
			a := r.Accuracy
			tw := newTable(out)
			fmt.Fprintf(tw, "model\t%s on %s\n", r.Kind, r.Space)
			fmt.Fprintf(tw, "validation\t%s\n", a.Method)
			fmt.Fprintf(tw, "MAPE\t%.2f%%\n", a.MAPE)
			fmt.Fprintf(tw, "median APE\t%.2f%%\n", a.MedianAPE)
			fmt.Fprintf(tw, "RMSE\t%.3f ms\n", a.RMSE)
			fmt.Fprintf(tw, "Spearman\t%.3f\n", a.Spearman)
			fmt.Fprintf(tw, "Kendall\t%.3f\n", a.Kendall)
			fmt.Fprintf(tw, "within ±5%%\t%.1f%%\n", 100*a.Within5)
			fmt.Fprintf(tw, "within ±10%%\t%.1f%%\n", 100*a.Within10)
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&spaceName, "space", "", "search space of the measured networks")
	f.StringVar(&measurements, "measurements", "", "CSV with header arch,latency_ms")
	f.StringVar(&o.Kind, "kind", "linear", "model kind: linear, lut or roofline")
	f.IntVar(&o.Folds, "folds", 5, "cross-validation folds (1 = leave-one-out)")
	f.Uint64Var(&o.Seed, "seed", 1, "seed of the fold assignment")
	f.IntVar(&o.Resolution, "resolution", 0, "input resolution the networks were measured at (default: the space's)")
	f.StringVar(&o.Linear, "linear", "robust", "linear model: robust or additive")
	f.StringVar(&priorFile, "prior", "", "roofline device file to start the fit from (default: a generic mobile CPU)")
	f.StringVar(&o.Name, "name", "device", "device name stored in the saved file")
	f.StringVar(&save, "save", "", "write the fitted device to this file")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

package main

import (
	"fmt"

	"github.com/fleetnas/fleetnas/cost"
	"github.com/fleetnas/fleetnas/zoo"
	"github.com/spf13/cobra"
)

type modelRow struct {
	Name              string `json:"name"`
	Resolution        int    `json:"resolution"`
	MACs              int64  `json:"macs"`
	Params            int64  `json:"params"`
	ParamsWithBNStats int64  `json:"params_with_bn_stats"`
	BackboneParamsBN  int64  `json:"backbone_params_with_bn_stats"`
	WeightBytes       int64  `json:"weight_bytes"`
	PeakActivation    int64  `json:"peak_activation_bytes"`
}

func newModelsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "models",
		Short: "List the reference models with their MACs and parameters",
		Long: `List the reference zoo: MobileNet V1, V2, V3-Large/Small, EdgeTPU, the
multi-hardware Multi-AVG/MAX and their segmentation variants, and
MobileNetV4 Conv-S/M/L and Hybrid-M/L (TensorFlow Model Garden's tables).

Each model is costed at its native resolution with a 1000-class head:
MACs, trainable parameters, parameters including batch-norm moving
statistics (what Keras counts), the backbone's count (what Model Garden's
tests check), float32 weight bytes and peak activation memory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			z, err := zoo.New()
			if err != nil {
				return err
			}
			var rows []modelRow
			for _, name := range z.Names() {
				full, err := z.Build(name, zoo.Options{})
				if err != nil {
					return err
				}
				r, err := cost.Network(full, 0, cost.Options{})
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				bb, err := z.Build(name, zoo.Options{Backbone: true})
				if err != nil {
					return err
				}
				rb, err := cost.Network(bb, 0, cost.Options{})
				if err != nil {
					return fmt.Errorf("%s backbone: %w", name, err)
				}
				rows = append(rows, modelRow{name, r.Resolution, r.MACs, r.Params, r.ParamsWithBNStats,
					rb.ParamsWithBNStats, r.WeightBytes, r.PeakActivationBytes})
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, rows)
			}
			tw := newTable(out)
			fmt.Fprintln(tw, "MODEL\tRES\tMACS\tPARAMS\tPARAMS+BN STATS\tBACKBONE+BN STATS\tWEIGHTS (fp32)\tPEAK ACT (fp32)")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%d\t%s\t%s\n", r.Name, r.Resolution, human(r.MACs), human(r.Params),
					r.ParamsWithBNStats, r.BackboneParamsBN, humanBytes(r.WeightBytes), humanBytes(r.PeakActivation))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}

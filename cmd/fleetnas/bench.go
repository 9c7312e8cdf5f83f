package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fleetnas/fleetnas/bench"
	"github.com/fleetnas/fleetnas/job"
	"github.com/spf13/cobra"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmark search algorithms against exact optima on tabular data",
	}
	cmd.AddCommand(newBenchSearchCmd(), newBenchMultiHWCmd())
	return cmd
}

func parseInts(s, flag string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%s: %q is not a positive integer", flag, p)
		}
		out = append(out, v)
	}
	return out, nil
}

func newBenchSearchCmd() *cobra.Command {
	var s job.Settings
	var algos, budgets string
	var seeds int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "search",
		Short: "Regret, optimum hit rate and Pareto hypervolume of algorithms x budgets x seeds",
		Long: `Price every network of a tabular space exhaustively (the exact optimum of
the reward and the true Pareto front of accuracy vs the metric), then run
each algorithm at each budget for each seed and report the median and
spread of regret (best attainable reward minus the chosen network's), the
share of seeds that chose an optimal network, and the hypervolume of the
front each run found relative to the true one. Trials run on all cores;
results do not depend on how many.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bs, err := parseInts(budgets, "--budgets")
			if err != nil {
				return err
			}
			if seeds <= 0 {
				return fmt.Errorf("--seeds must be positive, got %d", seeds)
			}
			start := time.Now()
			e, err := bench.Enumerate(cmd.Context(), s)
			if err != nil {
				return err
			}
			sums, trials, err := e.BenchSearch(cmd.Context(), strings.Split(algos, ","), bs, seeds)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, map[string]any{"settings": e.Settings, "optimum": e.Optimum, "optimal_networks": e.Best,
					"networks": len(e.Records), "summary": sums, "trials": trials})
			}
			fmt.Fprintf(out, "%s x %s, accuracy %s, metric %s, target %g, beta %g, reward %s\n", s.Space, s.Fleet, s.Accuracy, s.Metric, s.Target, s.Beta, s.Reward)
			fmt.Fprintf(out, "exact optimum over %d networks: reward %.5f (%s)\n\n", len(e.Records), e.Optimum, strings.Join(e.Best, " "))
			tw := newTable(out)
			fmt.Fprintln(tw, "ALGO\tBUDGET\tSEEDS\tMEDIAN REGRET\tREGRET P25-P75\tHIT OPTIMUM\tMEDIAN REL. HV")
			for _, r := range sums {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%.5f\t%.5f-%.5f\t%.0f%%\t%.4f\n", r.Algo, r.Budget, r.Seeds, r.MedianRegret, r.Regret25, r.Regret75, 100*r.HitShare, r.MedianRelHV)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(out, "\n%d trials in %s\n", len(trials), time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	searchFlags(cmd, &s)
	metricFlag(cmd, &s)
	cmd.Flags().StringVar(&algos, "algos", "tunas,evolution,random", "comma-separated algorithms")
	cmd.Flags().StringVar(&budgets, "budgets", "100,300,1000", "comma-separated budgets")
	cmd.Flags().IntVar(&seeds, "seeds", 20, "seeds per algorithm and budget")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newBenchMultiHWCmd() *cobra.Command {
	var s job.Settings
	var holdout string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "multihw",
		Short: "The paper's experiment: single-device searches vs AVG and MAX searches, priced on every device",
		Long: `Run one search per device of the fleet (metric device:D), one with AVG and
one with MAX, and price every found network on every device: accuracy,
per-device ratio, AVG and MAX side by side. --holdout D1,D2 leaves devices
out of every search and scores the found networks on them (any device of
the fleet, including one a fleet file adds). With --algo exhaustive each
search finds its exact optimum.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s.Holdout = splitHoldout(holdout)
			devices, held, rows, err := bench.MultiHW(cmd.Context(), s)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, map[string]any{"settings": s, "devices": devices, "held_out": held, "rows": rows})
			}
			fmt.Fprintf(out, "%s x %s, accuracy %s, target %g, beta %g, reward %s, algo %s\n\n", s.Space, s.Fleet, s.Accuracy, s.Target, s.Beta, s.Reward, s.Algo)
			tw := newTable(out)
			fmt.Fprint(tw, "OBJECTIVE\tACC")
			for i, d := range devices {
				if held[i] {
					d += "*"
				}
				fmt.Fprintf(tw, "\t%s", d)
			}
			fmt.Fprintln(tw, "\tAVG\tMAX\tCHOSEN")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%.2f", r.Objective, r.Accuracy)
				for _, x := range r.Ratio {
					fmt.Fprintf(tw, "\t%.3f", x)
				}
				fmt.Fprintf(tw, "\t%.3f\t%.3f\t%s\n", r.Avg, r.Max, r.Chosen)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(s.Holdout) > 0 {
				fmt.Fprintln(out, "\n* held out: priced, never searched on; AVG and MAX are over the searched devices")
			}
			return nil
		},
	}
	searchFlags(cmd, &s)
	holdoutFlag(cmd, &holdout)
	cmd.Flags().StringVar(&s.Algo, "algo", "exhaustive", "algorithm of every search")
	cmd.Flags().IntVar(&s.Budget, "budget", s.Budget, "evaluations per search (ignored by exhaustive)")
	cmd.Flags().Uint64Var(&s.Seed, "seed", s.Seed, "random seed")
	for flag, name := range map[string]string{"algo": "algo", "budget": "budget", "seed": "seed"} {
		bindSetting(cmd.Flags(), flag, name)
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fleetnas/fleetnas/atomicfile"
	"github.com/fleetnas/fleetnas/dataset"
	"github.com/fleetnas/fleetnas/job"
	"github.com/fleetnas/fleetnas/space"
	"github.com/fleetnas/fleetnas/train"
	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

// barProgress shows a progress bar on a terminal.
type barProgress struct {
	w    io.Writer
	bar  *progressbar.ProgressBar
	desc func(v float64) string
}

func (p *barProgress) Start(total, done int) {
	p.bar = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(p.desc(0)),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish())
	_ = p.bar.Set(done)
}

func (p *barProgress) Set(done int, best float64) {
	p.bar.Describe(p.desc(best))
	_ = p.bar.Set(done)
}

func (p *barProgress) Finish() { _ = p.bar.Finish() }

// progressFor returns a search's bar when w is a terminal and nil (quiet)
// otherwise.
func progressFor(w io.Writer) job.Progress {
	if b := newBar(w, func(best float64) string { return fmt.Sprintf("search (best reward %.4f)", best) }); b != nil {
		return b
	}
	return nil
}

// newBar returns a bar on a terminal, nil when w is piped or a file.
func newBar(w io.Writer, desc func(float64) string) *barProgress {
	if f, ok := w.(*os.File); ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		return &barProgress{w: w, desc: desc}
	}
	return nil
}

func newSearchCmd() *cobra.Command {
	var s job.Settings
	var out, holdout string
	var resume, asJSON bool
	var trainEpochs int
	var every time.Duration
	cmd := &cobra.Command{
		Use:   "search",
		Short: "Search a space for the most accurate network under a fleet's latency metric",
		Long: `Search a space for the network that maximises the reward
  abs:  accuracy + beta*|M/T - 1|          (TuNAS)
  mnas: accuracy * (M/T)^beta              (MnasNet soft)
  hard: accuracy, or accuracy*T/M over the target
where M is the fleet metric (avg, max, or one device's ratio) and accuracy
is a fraction. With the defaults this searches NAS-Bench-201 on six real
devices with regularized evolution for the network whose worst-device latency (relative to
the ResNet cell) is on target.

Writes DIR/result.json (the chosen network and its numbers), history.csv
(every evaluation), pareto.csv and report.html (plots). Checkpoints every
few seconds; after a kill, the same command with --resume continues to the
same result as an unbroken run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if holdout != "" {
				s.Holdout = strings.Split(holdout, ",")
			}
			supernet := s.Accuracy == job.SupernetAccuracy
			if trainEpochs < 0 || (trainEpochs > 0 && !supernet) {
				return fmt.Errorf("--train-epochs must be positive and needs --accuracy supernet, got %d", trainEpochs)
			}
			if supernet && !cmd.Flags().Changed("algo") {
				s.Algo = "tunas"
			}
			if out == "" {
				name := fmt.Sprintf("%s-%s-%s-%s-seed%d", s.Space, filepath.Base(s.Fleet), strings.ReplaceAll(s.Metric, ":", "_"), s.Algo, s.Seed)
				if supernet {
					name += "-supernet"
				}
				out = filepath.Join("fleetnas-out", name)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			o, err := job.Run(ctx, s, job.Options{Dir: out, Resume: resume, CheckpointEvery: every, Progress: progressFor(cmd.ErrOrStderr())})
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				b, err := os.ReadFile(filepath.Join(out, "result.json"))
				if err != nil {
					return err
				}
				_, err = w.Write(b)
				return err
			}
			c := o.Chosen
			fmt.Fprintf(w, "chosen (%s): %s\n", s.Algo, c.Key)
			fmt.Fprintf(w, "  accuracy %.2f%%  AVG %.3f  MAX %.3f  reward %.4f\n", c.Accuracy, c.Avg, c.Max, c.Reward)
			for i, d := range o.Job.Devices() {
				fmt.Fprintf(w, "  %-16s %8.3f ms  ratio %.3f\n", d, c.LatencyMS[i], c.Ratio[i])
			}
			fmt.Fprintf(w, "%d evaluations (%d unique) in %s\n", len(o.History), len(uniqueKeys(o.History)), o.Elapsed.Round(time.Millisecond))
			fmt.Fprintf(w, "results: %s\nreport:  %s\n", filepath.Join(out, "result.json"), filepath.Join(out, "report.html"))
			if supernet && trainEpochs == 0 {
				fmt.Fprintf(w, "accuracy above is the shared weights' on the validation split; train the network stand-alone with\n  fleetnas train --space %s --choice '%s' --data %s --epochs 10\n", s.Space, c.Key, s.Data)
			}
			if trainEpochs > 0 {
				return trainChosen(ctx, cmd, o, s, trainEpochs, out)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&s.Space, "space", "nb201", "search space")
	f.StringVar(&s.Fleet, "fleet", "nb201-mobile", "built-in fleet or fleet file")
	f.StringVar(&s.Accuracy, "accuracy", "table:cifar100", "accuracy source: table:cifar10|cifar100|imagenet16_120, command:PROGRAM, or supernet (train a weight-sharing supernet on --data, TuNAS-style)")
	f.StringVar(&s.Metric, "metric", "max", "metric: avg, max or device:NAME")
	f.Float64Var(&s.Target, "target", 0.85, "target T of the metric (a ratio to the fleet's references)")
	f.Float64Var(&s.Beta, "beta", -0.5, "weight of the latency term (negative)")
	f.StringVar(&s.Reward, "reward", "abs", "reward: abs (TuNAS), mnas (MnasNet soft) or hard")
	f.StringVar(&s.Algo, "algo", "evolution", "algorithm: tunas, evolution, random or exhaustive (evolution is the best at small budgets on NAS-Bench-201: fleetnas bench search; tunas with --accuracy supernet)")
	f.IntVar(&s.Budget, "budget", 1000, "number of evaluations (with --accuracy supernet: training steps, the first quarter warmup)")
	f.StringVar(&s.Data, "data", "", "supernet: data set to train on (fashion-mnist, cifar10:DIR, ...; see fleetnas train --help)")
	f.Float64Var(&s.ProxyWidth, "proxy-width", job.DefaultProxyWidth, "supernet: filter multiplier of the training networks (latency is always of the full network)")
	f.IntVar(&s.Batch, "batch", job.DefaultBatch, "supernet: batch size")
	f.Float64Var(&s.WeightsLR, "weights-lr", job.DefaultWeightsLR, "supernet: peak learning rate of the shared weights (cosine decay)")
	f.Uint64Var(&s.Seed, "seed", 1, "random seed (same seed, same result)")
	f.IntVar(&s.Resolution, "resolution", 0, "deployment resolution (default: the fleet's)")
	f.Float64Var(&s.LearningRate, "lr", 0, "tunas: Adam learning rate (default: the controller's)")
	f.Float64Var(&s.EntropyBonus, "entropy-bonus", 0, "tunas: entropy bonus weight")
	f.IntVar(&s.Population, "population", 0, "evolution: population size (default: the controller's)")
	f.IntVar(&s.Sample, "sample", 0, "evolution: tournament size (default: the controller's)")
	f.StringVar(&holdout, "holdout", "", "comma-separated devices to price but leave out of the metric")
	f.StringVar(&out, "out", "", "output directory (default fleetnas-out/<settings>)")
	f.BoolVar(&resume, "resume", false, "continue the search checkpointed in --out")
	f.DurationVar(&every, "checkpoint-every", 5*time.Second, "time between checkpoints")
	f.BoolVar(&asJSON, "json", false, "print result.json")
	f.IntVar(&trainEpochs, "train-epochs", 0, "supernet: then train the chosen network stand-alone on --data for this many epochs (in DIR/standalone; resumes like fleetnas train)")
	return cmd
}

func uniqueKeys(h []*job.Record) map[string]bool {
	u := map[string]bool{}
	for _, r := range h {
		u[r.Key] = true
	}
	return u
}

// trainChosen trains a supernet search's chosen network stand-alone on the
// search's data (as fleetnas train does, with its defaults and lr 0.1),
// then writes DIR/standalone.json with its test accuracy.
func trainChosen(ctx context.Context, cmd *cobra.Command, o *job.Outcome, s job.Settings, epochs int, out string) error {
	w := cmd.OutOrStdout()
	ds, err := dataset.Open(s.Data)
	if err != nil {
		return err
	}
	n, err := o.Job.Space().Network(o.Chosen.Choice, space.Options{Resolution: ds.H, Classes: len(ds.Classes)})
	if err != nil {
		return err
	}
	n.InputChannels = ds.C
	cfg := train.Config{Epochs: epochs, Batch: 128, LR: 0.1, Optimizer: "sgd", WeightDecay: 4e-5, LabelSmoothing: 0.1,
		WarmupEpochs: min(1, float64(epochs)/4), Seed: s.Seed, Pad: 2, Flip: true}
	m, err := train.Build(n, ds.H, cfg.Seed)
	if err != nil {
		return err
	}
	dir := filepath.Join(out, "standalone")
	fmt.Fprintf(w, "training the chosen network stand-alone on %s for %d epochs in %s\n", ds.Name, epochs, dir)
	fmt.Fprintln(w, epochHeader)
	hooks := train.Hooks{Epoch: func(e train.EpochLog) { printEpoch(w, e) }}
	logs, err := train.Run(ctx, m, ds, cfg, dir, hooks)
	if err != nil {
		return err
	}
	acc := logs[len(logs)-1].TestAcc
	res := map[string]any{"choice": o.Chosen.Key, "data": s.Data, "config": cfg, "test_accuracy": acc,
		"supernet_validation_accuracy": o.Chosen.Accuracy, "checkpoint": filepath.Join(dir, "checkpoint.json")}
	b, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(out, "standalone.json"), append(b, '\n')); err != nil {
		return err
	}
	fmt.Fprintf(w, "stand-alone test accuracy %.2f%%: %s\n", acc, filepath.Join(out, "standalone.json"))
	return nil
}

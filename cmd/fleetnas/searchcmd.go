package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fleetnas/fleetnas/job"
	"github.com/fleetnas/fleetnas/metric"
	"github.com/fleetnas/fleetnas/results"
	"github.com/fleetnas/fleetnas/standalone"
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

// metricValue is a flag holding a metric.Metric in its text form.
type metricValue struct{ m *metric.Metric }

func (v metricValue) String() string { return v.m.String() }
func (v metricValue) Type() string   { return "metric" }
func (v metricValue) Set(s string) error {
	m, err := metric.Parse(s)
	if err != nil {
		return err
	}
	*v.m = m
	return nil
}

// searchFlags registers the flags of the settings every search command
// shares, their defaults from job.DefaultSettings, each bound to its
// setting so that errors name the flag.
func searchFlags(cmd *cobra.Command, s *job.Settings) {
	*s = job.DefaultSettings()
	f := cmd.Flags()
	f.StringVar(&s.Space, "space", s.Space, "search space")
	f.StringVar(&s.Fleet, "fleet", s.Fleet, "built-in fleet or fleet file")
	f.StringVar(&s.Accuracy, "accuracy", s.Accuracy, "accuracy source: table:cifar10|cifar100|imagenet16_120, command:PROGRAM, or supernet (train a weight-sharing supernet on --data, TuNAS-style)")
	f.Float64Var(&s.Target, "target", s.Target, "target T of the metric (a ratio to the fleet's references)")
	f.Float64Var(&s.Beta, "beta", s.Beta, "weight of the latency term (negative)")
	f.StringVar(&s.Reward, "reward", s.Reward, "reward: abs (TuNAS), mnas (MnasNet soft) or hard")
	f.IntVar(&s.Resolution, "resolution", 0, "deployment resolution (default: the fleet's)")
	f.Float64Var(&s.LearningRate, "lr", 0, "tunas: Adam learning rate (default: the controller's)")
	f.Float64Var(&s.EntropyBonus, "entropy-bonus", 0, "tunas: entropy bonus weight")
	f.IntVar(&s.Population, "population", 0, "evolution: population size (default: the controller's)")
	f.IntVar(&s.Sample, "sample", 0, "evolution: tournament size (default: the controller's)")
	for flag, name := range map[string]string{"space": "space", "fleet": "fleet", "accuracy": "accuracy",
		"target": "target", "beta": "beta", "reward": "reward", "resolution": "resolution", "lr": "learning_rate",
		"entropy-bonus": "entropy_bonus", "population": "population", "sample": "sample"} {
		bindSetting(f, flag, name)
	}
}

// metricFlag registers --metric.
func metricFlag(cmd *cobra.Command, s *job.Settings) {
	cmd.Flags().Var(metricValue{&s.Metric}, "metric", "metric: avg, max or device:NAME")
	bindSetting(cmd.Flags(), "metric", "metric")
}

// holdoutFlag registers --holdout; its value is split into s.Holdout by
// splitHoldout.
func holdoutFlag(cmd *cobra.Command, v *string) {
	cmd.Flags().StringVar(v, "holdout", "", "comma-separated devices to price but leave out of the metric")
	bindSetting(cmd.Flags(), "holdout", "holdout")
}

func splitHoldout(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// resumeHint adds to a job error what the user can do about it, in the
// command line's words.
func resumeHint(err error) error {
	var exists *job.ExistsError
	var stopped *job.InterruptedError
	switch {
	case errors.As(err, &exists):
		return fmt.Errorf("%w; pass --resume to continue it, or choose another --out", err)
	case errors.As(err, &stopped) && stopped.Saved:
		return fmt.Errorf("%w; continue with --resume", err)
	}
	return err
}

func newSearchCmd() *cobra.Command {
	var s job.Settings
	var out, holdout string
	var resume, asJSON, requireFeasible bool
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
same result as an unbroken run. With --data and --train-epochs N, the
chosen network is then trained stand-alone on the data (DIR/standalone.json).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s.Holdout = splitHoldout(holdout)
			if trainEpochs < 0 {
				return fmt.Errorf("--train-epochs must not be negative, got %d", trainEpochs)
			}
			if trainEpochs > 0 && s.Data == "" {
				return errors.New("--train-epochs needs --data: the images to train the chosen network on")
			}
			s = s.Defaults()
			if out == "" {
				out = filepath.Join("fleetnas-out", s.DirName())
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			o, err := job.Run(ctx, s, job.Options{Dir: out, Resume: resume, CheckpointEvery: every, Progress: progressFor(cmd.ErrOrStderr())})
			if err != nil {
				return resumeHint(err)
			}
			if err := results.Write(out, o); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				b, err := os.ReadFile(filepath.Join(out, "result.json"))
				if err != nil {
					return err
				}
				if _, err = w.Write(b); err != nil {
					return err
				}
				if f := results.Feasibility(o); requireFeasible && !f.Met {
					return fmt.Errorf("--require-feasible: %s", f)
				}
				return nil
			}
			c := o.Chosen
			fmt.Fprintf(w, "chosen (%s): %s\n", s.Algo, c.Key)
			fmt.Fprintf(w, "  accuracy %.2f%%  AVG %.3f  MAX %.3f  reward %.4f\n", c.Accuracy, c.Avg, c.Max, c.Reward)
			for i, d := range o.Job.Pricer().Devices() {
				fmt.Fprintf(w, "  %-16s %8.3f ms  ratio %.3f\n", d, c.LatencyMS[i], c.Ratio[i])
			}
			feasible := results.Feasibility(o)
			fmt.Fprintf(w, "  %s\n", feasible)
			fmt.Fprintf(w, "  deployment: %s\n", results.DeploymentOf(o))
			fmt.Fprintf(w, "%d evaluations (%d unique) in %s\n", len(o.History), len(uniqueKeys(o.History)), o.Elapsed.Round(time.Millisecond))
			fmt.Fprintf(w, "results: %s\nreport:  %s\n", filepath.Join(out, "result.json"), filepath.Join(out, "report.html"))
			if notes := o.Job.Source().Notes(); len(notes) > 0 && trainEpochs == 0 {
				for _, n := range notes {
					fmt.Fprintln(w, n)
				}
				if s.Data != "" {
					fmt.Fprintf(w, "  fleetnas train --space %s --choice '%s' --data %s --epochs %d\n", s.Space, c.Key, s.Data, train.DefaultConfig().Epochs)
				}
			}
			if trainEpochs > 0 {
				if err := trainChosen(ctx, cmd, o, trainEpochs, out); err != nil {
					return err
				}
			}
			if requireFeasible && !feasible.Met {
				return fmt.Errorf("--require-feasible: %s", feasible)
			}
			return nil
		},
	}
	searchFlags(cmd, &s)
	metricFlag(cmd, &s)
	holdoutFlag(cmd, &holdout)
	f := cmd.Flags()
	f.StringVar(&s.Algo, "algo", "", "algorithm: tunas, evolution, random or exhaustive (default evolution, the best at small budgets on NAS-Bench-201: fleetnas bench search; with --accuracy supernet tunas)")
	f.IntVar(&s.Budget, "budget", s.Budget, "number of evaluations (default 1000; exhaustive: the whole space; with --accuracy supernet: training steps, the first quarter warmup)")
	f.StringVar(&s.Data, "data", "", "images to train on: the supernet's, and with --train-epochs the chosen network's (fashion-mnist, cifar10:DIR, ...; see fleetnas train --help)")
	f.Float64Var(&s.ProxyWidth, "proxy-width", s.ProxyWidth, "supernet: filter multiplier of the training networks (latency is always of the full network)")
	f.IntVar(&s.Batch, "batch", s.Batch, "supernet: batch size")
	f.Float64Var(&s.WeightsLR, "weights-lr", s.WeightsLR, "supernet: peak learning rate of the shared weights (cosine decay)")
	f.Uint64Var(&s.Seed, "seed", s.Seed, "random seed (same seed, same result)")
	f.StringVar(&out, "out", "", "output directory (default fleetnas-out/<settings>)")
	f.BoolVar(&resume, "resume", false, "continue the search checkpointed in --out")
	f.DurationVar(&every, "checkpoint-every", job.DefaultCheckpointEvery, "time between checkpoints")
	f.BoolVar(&asJSON, "json", false, "print result.json")
	f.BoolVar(&requireFeasible, "require-feasible", false, "exit with an error when the chosen network misses the target (MAX <= T, AVG <= T, or the device's ratio <= T); the results are written either way")
	f.IntVar(&trainEpochs, "train-epochs", 0, "then train the chosen network stand-alone on --data for this many epochs (in DIR/standalone; resumes like fleetnas train)")
	for flag, name := range map[string]string{"algo": "algo", "budget": "budget", "data": "data", "proxy-width": "proxy_width",
		"batch": "batch", "weights-lr": "weights_lr", "seed": "seed", "resume": "resume", "train-epochs": "train.epochs"} {
		bindSetting(f, flag, name)
	}
	return cmd
}

func uniqueKeys(h []*job.Record) map[string]bool {
	u := map[string]bool{}
	for _, r := range h {
		u[r.Key] = true
	}
	return u
}

// trainChosen trains the search's chosen network stand-alone on its data
// (package standalone) and prints the epochs as fleetnas train does.
func trainChosen(ctx context.Context, cmd *cobra.Command, o *job.Outcome, epochs int, out string) error {
	w := cmd.OutOrStdout()
	s := o.Job.Settings()
	cfg := standalone.Config(epochs, s.Seed)
	fmt.Fprintf(w, "training the chosen network stand-alone on %s for %d epochs in %s\n", s.Data, epochs, filepath.Join(out, standalone.Dir))
	fmt.Fprintln(w, epochHeader)
	hooks := train.Hooks{Epoch: func(e train.EpochLog) { printEpoch(w, e) }}
	net, err := o.Job.Pricer().Arch(o.Chosen.Choice)
	if err != nil {
		return err
	}
	res, err := standalone.Train(ctx, net, o.Chosen.Key, o.Chosen.Accuracy, s.Data, cfg, out, hooks)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "stand-alone test accuracy %.2f%%: %s\n", res.TestAccuracy, filepath.Join(out, standalone.File))
	fmt.Fprintf(w, "model: %s (input %v, output %v)\n", res.Model, res.Input, res.Output)
	// Measure the model here when a device of the fleet was profiled here.
	here, err := standalone.MeasureHere(res.Checkpoint, o.Job.Pricer().Fleet(), o.Chosen.LatencyMS)
	switch {
	case errors.Is(err, standalone.ErrNoLocalDevice):
	case err != nil:
		fmt.Fprintf(w, "the model was not measured on this machine: %v\n", err)
	default:
		for _, h := range here {
			slowed := ""
			if h.Slowed {
				slowed = " (the machine was busy: likely too high)"
			}
			fmt.Fprintf(w, "measured here for %s: %.3f ms, predicted %.3f ms (%+.1f%%; %s)%s\n", h.Device, h.MeasuredMS, h.PredictedMS, 100*h.Error, h.Conditions, slowed)
		}
		if err := res.AddHere(out, here); err != nil {
			return err
		}
	}
	// The report shows the stand-alone accuracy too.
	return results.Write(out, o)
}

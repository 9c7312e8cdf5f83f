package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/fleetnas/fleetnas/dataset"
	"github.com/fleetnas/fleetnas/train"
	"github.com/spf13/cobra"
)

func newTrainCmd() *cobra.Command {
	var nf netFlags
	def := train.DefaultConfig()
	cfg := def
	var dataSpec, out string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "train (--model NAME [--width W] | --arch FILE | --space S --choice C) --data SPEC --epochs E",
		Short: "Train a network stand-alone on a dataset with the built-in CPU engine",
		Long: `Train a network from scratch: per-epoch loss, train and test accuracy and
images/s, a checkpoint after every epoch in --out (training resumes from
it when rerun with the same settings), and the final test accuracy.

The classifier is sized to the dataset's classes and the input to its
channels; --resolution resizes the images (default: the dataset's own).

` + dataset.SpecHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Before loading the data, which takes a while.
			if err := cfg.Validate(); err != nil {
				return err
			}
			ds, err := dataset.Open(dataSpec)
			if err != nil {
				return err
			}
			if nf.classes == 0 {
				nf.classes = len(ds.Classes)
			}
			if nf.resolution == 0 {
				nf.resolution = ds.H
			}
			n, err := nf.build(cmd)
			if err != nil {
				return err
			}
			if nf.archFile == "" {
				n.InputChannels = ds.C
				n.Resolution = nf.resolution
			}
			m, err := train.Build(n, nf.resolution, cfg.Seed)
			if err != nil {
				return err
			}
			if got := m.Graph.Output().C; got != len(ds.Classes) {
				return fmt.Errorf("the network outputs %d classes, the dataset has %d", got, len(ds.Classes))
			}
			if got := m.Graph.Tensors[0].C; got != ds.C && got != 3 {
				return fmt.Errorf("the network takes %d input channels, the dataset has %d (1 or 3 are converted)", got, ds.C)
			}
			if out == "" {
				out = filepath.Join("fleetnas-out", "train-"+filepath.Base(dataSpec))
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			w := cmd.OutOrStdout()
			if !asJSON {
				fmt.Fprintf(w, "training %s on %s (%d train, %d test images) for %d epochs, checkpoints in %s\n",
					n.Name, ds.Name, ds.Train.Len(), ds.Test.Len(), cfg.Epochs, out)
				fmt.Fprintln(w, epochHeader)
			}
			bar := newBar(cmd.ErrOrStderr(), func(epoch float64) string { return fmt.Sprintf("epoch %.0f", epoch) })
			hooks := train.Hooks{Epoch: func(e train.EpochLog) {
				if bar != nil {
					bar.Finish()
				}
				if !asJSON {
					printEpoch(w, e)
				}
			}}
			if bar != nil {
				// A bar per epoch on a terminal; nothing when piped.
				hooks.Step = func(epoch, done, total int) {
					if done == 1 {
						bar.Start(total, 0)
					}
					bar.Set(done, float64(epoch))
				}
			}
			logs, err := train.Run(ctx, m, ds, cfg, out, hooks)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(w, map[string]any{"network": n.Name, "data": ds.Name, "config": cfg, "epochs": logs,
					"test_accuracy": logs[len(logs)-1].TestAcc, "checkpoint": filepath.Join(out, "checkpoint.json")})
			}
			fmt.Fprintf(w, "test accuracy %.2f%%; checkpoint %s\n", logs[len(logs)-1].TestAcc, filepath.Join(out, "checkpoint.json"))
			return nil
		},
	}
	nf.register(cmd, false)
	f := cmd.Flags()
	f.StringVar(&dataSpec, "data", "fashion-mnist", "dataset spec")
	// Defaults from train.DefaultConfig, which names their sources; each
	// flag is bound to its train.Config setting so that errors name the flag.
	sgd := fmt.Sprintf("momentum %g", train.SGDMomentum)
	if train.SGDNesterov {
		sgd += ", Nesterov"
	}
	f.IntVar(&cfg.Epochs, "epochs", def.Epochs, "epochs")
	f.IntVar(&cfg.Batch, "batch", def.Batch, "batch size")
	f.Float64Var(&cfg.LR, "lr", def.LR, "peak learning rate (cosine schedule after warmup)")
	f.StringVar(&cfg.Optimizer, "optimizer", def.Optimizer, "sgd ("+sgd+"), rmsprop (TF semantics) or adam")
	f.Float64Var(&cfg.WeightDecay, "wd", def.WeightDecay, "L2 weight decay")
	f.Float64Var(&cfg.LabelSmoothing, "label-smoothing", def.LabelSmoothing, "label smoothing")
	f.Float64Var(&cfg.WarmupEpochs, "warmup", def.WarmupEpochs, "warmup epochs")
	f.Uint64Var(&cfg.Seed, "seed", def.Seed, "seed (weights, shuffling, augmentation)")
	f.IntVar(&cfg.Pad, "crop-pad", def.Pad, "random-crop padding in pixels (0: none)")
	f.BoolVar(&cfg.Flip, "flip", def.Flip, "random horizontal flips")
	for flag, name := range map[string]string{"epochs": "epochs", "batch": "batch", "lr": "lr", "optimizer": "optimizer",
		"wd": "weight_decay", "label-smoothing": "label_smoothing", "warmup": "warmup_epochs", "seed": "seed",
		"crop-pad": "crop_pad", "flip": "flip"} {
		bindSetting(f, flag, name)
	}
	f.StringVar(&out, "out", "", "directory for the checkpoint (default fleetnas-out/train-DATA)")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newEvalCmd() *cobra.Command {
	var ck, dataSpec string
	cmd := &cobra.Command{
		Use:   "eval --checkpoint FILE --data SPEC",
		Short: "Evaluate a trained checkpoint's test accuracy",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ck == "" {
				return fmt.Errorf("--checkpoint is required")
			}
			m, _, err := train.Load(ck)
			if err != nil {
				return err
			}
			ds, err := dataset.Open(dataSpec)
			if err != nil {
				return err
			}
			acc, err := m.Evaluate(ds.Test, 256)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "test accuracy %.2f%% on %d images\n", acc, ds.Test.Len())
			return nil
		},
	}
	cmd.Flags().StringVar(&ck, "checkpoint", "", "checkpoint.json written by fleetnas train")
	cmd.Flags().StringVar(&dataSpec, "data", "fashion-mnist", "dataset spec")
	return cmd
}

// epochHeader heads the per-epoch table of printEpoch.
const epochHeader = "epoch  loss     train acc  test acc  images/s  seconds"

// printEpoch writes one epoch's row of the training table.
func printEpoch(w io.Writer, e train.EpochLog) {
	fmt.Fprintf(w, "%5d  %.4f  %8.2f%%  %7.2f%%  %8.0f  %7.1f\n", e.Epoch, e.Loss, e.TrainAcc, e.TestAcc, e.ImagesPerSec, e.Seconds)
}

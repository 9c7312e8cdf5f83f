// Package standalone trains the network a search chose from scratch, on
// its own (not as part of a supernet), on the user's data, and records its
// test accuracy next to the search's results in standalone.json: the
// accuracy a search's proxy (a supernet's shared weights, a benchmark
// table) stands in for.
package standalone

import (
	"context"
	"encoding/json"
	"path/filepath"

	"github.com/fleetnas/fleetnas/atomicfile"
	"github.com/fleetnas/fleetnas/dataset"
	"github.com/fleetnas/fleetnas/setting"
	"github.com/fleetnas/fleetnas/space"
	"github.com/fleetnas/fleetnas/train"
)

// Format is standalone.json's format version.
const Format = "fleetnas.standalone/v1"

// File is the name of the result file in a search's directory, and Dir
// the name of the directory that holds the training checkpoint.
const (
	File = "standalone.json"
	Dir  = "standalone"
)

// DefaultLR is the peak learning rate of stand-alone training: 0.1, the
// rate of the Fashion-MNIST recipe that reaches 92.2% (docs/training.md),
// which trains multihw networks of this size; train.DefaultConfig's 0.05
// is the conservative default of any network.
const DefaultLR = 0.1

// Config returns the training settings for epochs epochs: fleetnas train's
// defaults (train.DefaultConfig) with DefaultLR, a warmup of one epoch or
// a quarter of the run if shorter, and the search's seed.
func Config(epochs int, seed uint64) train.Config {
	cfg := train.DefaultConfig()
	cfg.Epochs, cfg.LR, cfg.Seed = epochs, DefaultLR, seed
	cfg.WarmupEpochs = min(1, float64(epochs)/4)
	return cfg
}

// Result is standalone.json.
type Result struct {
	Format string `json:"format"`
	// Choice is the network's canonical string in its space.
	Choice string `json:"choice"`
	// Data is the data set spec it trained on.
	Data   string       `json:"data"`
	Config train.Config `json:"config"`
	// TestAccuracy is the trained network's top-1 accuracy (%) on the
	// data's test split.
	TestAccuracy float64 `json:"test_accuracy"`
	// SearchAccuracy is the accuracy the search gave it.
	SearchAccuracy float64 `json:"search_accuracy"`
	// Checkpoint is the trained weights' file (fleetnas eval, export).
	Checkpoint string `json:"checkpoint"`
}

// Train trains the network of choice of sp on data with cfg, in
// searchDir/Dir (resuming there as fleetnas train does), and writes
// searchDir/File. The network is built at the data's resolution with the
// data's classes and input channels.
func Train(ctx context.Context, sp space.Space, choice []int, searchAccuracy float64, data string, cfg train.Config, searchDir string, hooks train.Hooks) (*Result, error) {
	if data == "" {
		return nil, setting.Errorf("data", "stand-alone training needs the images to train on (e.g. fashion-mnist)")
	}
	if err := cfg.Validate(); err != nil {
		return nil, setting.Prefix("train", err)
	}
	ds, err := dataset.Open(data)
	if err != nil {
		return nil, setting.Wrap("data", err)
	}
	key, err := sp.Format(choice)
	if err != nil {
		return nil, err
	}
	n, err := sp.Network(choice, space.Options{Resolution: ds.H, Classes: len(ds.Classes)})
	if err != nil {
		return nil, err
	}
	n.InputChannels = ds.C
	m, err := train.Build(n, ds.H, cfg.Seed)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(searchDir, Dir)
	logs, err := train.Run(ctx, m, ds, cfg, dir, hooks)
	if err != nil {
		return nil, err
	}
	res := &Result{Format: Format, Choice: key, Data: data, Config: cfg, TestAccuracy: logs[len(logs)-1].TestAcc,
		SearchAccuracy: searchAccuracy, Checkpoint: filepath.Join(dir, "checkpoint.json")}
	b, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(filepath.Join(searchDir, File), append(b, '\n')); err != nil {
		return nil, err
	}
	return res, nil
}

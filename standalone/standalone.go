// Package standalone turns the network a search chose into the model a
// user ships: it trains the deployment network (the one the search
// priced: its resolution, input channels and classes) from scratch on the
// user's data, records its test accuracy next to the search's results in
// standalone.json (the accuracy a search's proxy, a supernet's shared
// weights or a benchmark table, stands in for), and exports the trained
// network as model.onnx.
package standalone

import (
	"context"
	"encoding/json"
	"path/filepath"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/atomicfile"
	"github.com/fleetnas/fleetnas/dataset"
	"github.com/fleetnas/fleetnas/onnx"
	"github.com/fleetnas/fleetnas/setting"
	"github.com/fleetnas/fleetnas/train"
)

// Format is standalone.json's format version.
const Format = "fleetnas.standalone/v1"

// File is the name of the result file in a search's directory, Dir the
// name of the directory that holds the training checkpoint, and Model
// the exported network.
const (
	File  = "standalone.json"
	Dir   = "standalone"
	Model = "model.onnx"
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
	// Model is the exported ONNX model (the deployment network with the
	// trained weights); Input and Output are its tensor shapes.
	Model  string  `json:"model"`
	Input  []int64 `json:"input"`
	Output []int64 `json:"output"`
	// Here holds the model measured on this machine, for the devices of
	// the fleet profiled here (MeasureHere).
	Here []Here `json:"measured_here,omitempty"`
}

// Train trains net, a search's deployment network named key in its
// space, on data with cfg, in searchDir/Dir (resuming there as fleetnas
// train does), exports it to searchDir/Model and writes searchDir/File.
// The data's images are resized to the network's input; its classes must
// be the network's.
func Train(ctx context.Context, net *arch.Network, key string, searchAccuracy float64, data string, cfg train.Config, searchDir string, hooks train.Hooks) (*Result, error) {
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
	m, err := train.Build(net, 0, cfg.Seed)
	if err != nil {
		return nil, err
	}
	if got := m.Graph.Output().C; got != len(ds.Classes) {
		return nil, setting.Errorf("classes", "the network has %d, the data (%s) %d", got, data, len(ds.Classes))
	}
	dir := filepath.Join(searchDir, Dir)
	logs, err := train.Run(ctx, m, ds, cfg, dir, hooks)
	if err != nil {
		return nil, err
	}
	ckpt := filepath.Join(dir, "checkpoint.json")
	in, out, err := export(ckpt, filepath.Join(searchDir, Model))
	if err != nil {
		return nil, err
	}
	res := &Result{Format: Format, Choice: key, Data: data, Config: cfg, TestAccuracy: logs[len(logs)-1].TestAcc,
		SearchAccuracy: searchAccuracy, Checkpoint: ckpt, Model: filepath.Join(searchDir, Model), Input: in, Output: out}
	b, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(filepath.Join(searchDir, File), append(b, '\n')); err != nil {
		return nil, err
	}
	return res, nil
}

// export writes the checkpoint's network with its trained weights (batch
// norm folded, as deployed models are) as an ONNX model.
func export(checkpoint, path string) (in, out []int64, err error) {
	net, w, err := onnx.LoadCheckpoint(checkpoint)
	if err != nil {
		return nil, nil, err
	}
	g, err := net.Lower(0)
	if err != nil {
		return nil, nil, err
	}
	b, err := onnx.Marshal(g, w)
	if err != nil {
		return nil, nil, err
	}
	if err := atomicfile.Write(path, b); err != nil {
		return nil, nil, err
	}
	in, out = onnx.Shapes(g)
	return in, out, nil
}

// Package oneshot is TuNAS's one-shot accuracy: a weight-sharing supernet
// (package supernet) trained on the user's images while the search runs,
// as an accuracy source the search loop drives like any other
// (accuracy.Stateful). Each search step trains the shared weights on one
// training batch with the network the controller proposed; the proposal's
// accuracy is then its top-1 accuracy on one batch of a validation split
// held out of the training images, as in TuNAS (Bender et al., CVPR 2020;
// google-research/tunas, mobile_architecture_search.py, which also scores
// the validation batch after the step's weight update).
//
// The first quarter of the steps is the source's own warm-up: TuNAS's op
// and filter warmup (supernet.Warmup) on networks drawn uniformly, during
// which the controller does not learn (TuNAS's RL delay: its controller
// is uniform and its learning rate 0 for rl_delay_steps_fraction = 0.25 of
// the search). The network chosen at the end is scored on the whole
// validation split, which one batch cannot match.
package oneshot

import (
	"math"

	"github.com/fleetnas/fleetnas/setting"
)

// Settings are the supernet's settings a user chooses; the JSON names
// are what errors and result.json call them. The other hyperparameters
// are the constants below, each with its source.
type Settings struct {
	// ProxyWidth multiplies every conv filter count of the networks that
	// train, which makes a step cheap enough for a CPU; latency is always
	// of the full-size network. 0 means DefaultProxyWidth.
	ProxyWidth float64 `json:"proxy_width,omitempty"`
	// Batch is the training and validation batch size (0: DefaultBatch).
	Batch int `json:"batch,omitempty"`
	// WeightsLR is the peak learning rate of the shared weights (0:
	// DefaultWeightsLR).
	WeightsLR float64 `json:"weights_lr,omitempty"`
}

// Defaults of Settings.
const (
	// DefaultProxyWidth 0.25: TuNAS trains the full-size supernet on
	// TPUs; a quarter-width one makes a CPU step affordable. Chosen for
	// that cost, not tuned for search quality.
	DefaultProxyWidth = 0.25
	// DefaultBatch 64: the smallest batch whose batch-norm statistics
	// stay usable (the supernet normalises with the batch's own
	// statistics, see package supernet; the post-pool BN sees one value
	// per image). TuNAS uses 4,096 on 32 TPU cores.
	DefaultBatch = 64
	// DefaultWeightsLR 0.05: TuNAS's model_learning_rate, 0.165 per 256
	// images, is for RMSProp (epsilon 1); 0.05 is fleetnas train's SGD
	// default. Not tuned for the supernet.
	DefaultWeightsLR = 0.05
)

// Fixed hyperparameters of the shared weights' training.
const (
	// ValidationFraction of the training images is held out, stratified,
	// for the controller's rewards (TuNAS holds part of ImageNet's
	// training set out the same way); the test split is never used. 10%
	// is a common hold-out share, not tuned.
	ValidationFraction = 0.1
	// Momentum 0.9 with Nesterov: TuNAS's model_momentum is 0.9 (with
	// RMSProp); SGD with Nesterov momentum is fleetnas train's optimiser.
	Momentum = 0.9
	// WeightDecay 4e-5: TuNAS's model_weight_decay for float32 training
	// (mobile_architecture_search.py), also MobileNetV2's on ImageNet.
	WeightDecay = 4e-5
	// LabelSmoothing 0.1: TuNAS's (mobile_architecture_search.py).
	LabelSmoothing = 0.1
	// LRWarmupFraction of the steps warm the learning rate up linearly:
	// TuNAS's model_warmup_steps_fraction 0.025 (one step in 40).
	LRWarmupFraction = 0.025
	// LRWarmupFrom is the fraction of the peak rate the warmup starts
	// from, so that the first step is not wasted at rate 0 (TuNAS starts
	// at 0); not tuned.
	LRWarmupFrom = 0.1
	// MinSteps is the shortest search: warm-up and search each need at
	// least one step.
	MinSteps = 4
)

// DefaultSettings are the settings a search uses unless told otherwise.
func DefaultSettings() Settings {
	return Settings{ProxyWidth: DefaultProxyWidth, Batch: DefaultBatch, WeightsLR: DefaultWeightsLR}
}

// withDefaults fills in the settings left at 0.
func (s Settings) withDefaults() Settings {
	d := DefaultSettings()
	if s.ProxyWidth == 0 {
		s.ProxyWidth = d.ProxyWidth
	}
	if s.Batch == 0 {
		s.Batch = d.Batch
	}
	if s.WeightsLR == 0 {
		s.WeightsLR = d.WeightsLR
	}
	return s
}

// Validate reports the first setting a supernet cannot train with (zero
// values stand for the defaults and pass).
func (s Settings) Validate() error {
	s = s.withDefaults()
	switch {
	case !(s.ProxyWidth > 0 && s.ProxyWidth <= 1):
		return setting.Errorf("proxy_width", "must be in (0, 1], got %v", s.ProxyWidth)
	case s.Batch < 2:
		return setting.Errorf("batch", "must be at least 2 (batch norm uses the batch's statistics), got %d", s.Batch)
	case !(s.WeightsLR > 0) || math.IsInf(s.WeightsLR, 0):
		return setting.Errorf("weights_lr", "must be a positive learning rate, got %v", s.WeightsLR)
	}
	return nil
}

package job

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/fleetnas/fleetnas/accuracy"
	"github.com/fleetnas/fleetnas/metric"
	"github.com/fleetnas/fleetnas/oneshot"
	"github.com/fleetnas/fleetnas/price"
	"github.com/fleetnas/fleetnas/search"
	"github.com/fleetnas/fleetnas/setting"
	"github.com/fleetnas/fleetnas/space"
)

// Settings are everything that determines a search's result: two runs
// with equal Settings write equal result.json files. Errors name a
// setting as its JSON tag does (package setting).
type Settings struct {
	// Space, Fleet, Metric, Resolution and Holdout say what networks are
	// priced on (see price.Settings).
	Space string `json:"space"`
	Fleet string `json:"fleet"`
	// Accuracy is the accuracy source: table:DATASET, command:PROGRAM or
	// supernet (see OpenSource).
	Accuracy string        `json:"accuracy"`
	Metric   metric.Metric `json:"metric"`
	// Target, Beta and Reward make the reward (metric.ParseReward).
	Target float64 `json:"target"`
	Beta   float64 `json:"beta"`
	Reward string  `json:"reward"`
	// Algo is the controller (search.Algorithms); "" takes the default
	// for the accuracy source (see Defaults).
	Algo string `json:"algo"`
	// Budget is the number of search steps: evaluations, or with a
	// supernet its training steps, the first quarter its warm-up.
	Budget int    `json:"budget"`
	Seed   uint64 `json:"seed"`
	// Resolution overrides the fleet's deployment resolution (0: keep).
	Resolution int `json:"resolution,omitempty"`
	// Controller settings (0: the controller's defaults, search.Config).
	LearningRate float64 `json:"learning_rate,omitempty"`
	EntropyBonus float64 `json:"entropy_bonus,omitempty"`
	Population   int     `json:"population,omitempty"`
	Sample       int     `json:"sample,omitempty"`
	// Holdout devices are priced and reported but left out of the metric.
	Holdout []string `json:"holdout,omitempty"`
	// Data are the images the supernet trains on (dataset.Open's specs).
	Data string `json:"data,omitempty"`
	// The supernet's own settings, used when Accuracy is supernet.
	oneshot.Settings
}

// Defaults of a search, with their sources.
const (
	// DefaultSpace, DefaultFleet and DefaultAccuracy make the default
	// search an exact benchmark: NAS-Bench-201's 15,625 cells, measured
	// on six real devices and trained on CIFAR-100, so that its result
	// can be checked against the exhaustive optimum.
	DefaultSpace    = "nb201"
	DefaultFleet    = "nb201-mobile"
	DefaultAccuracy = "table:cifar100"
	// DefaultTarget 0.85 of the ResNet cell's latency on the slowest
	// device: no published source; chosen when the default search was
	// written so that the target lies inside the range of nb201 cells.
	DefaultTarget = 0.85
	// DefaultBeta -0.5: no published source. TuNAS's default for its abs
	// reward is -0.10 (rl_cost_model_exponent, for ImageNet searches);
	// NAS-Bench-201's CIFAR-100 accuracies spread over tens of points, so
	// a weaker penalty would let accuracy buy large misses of the target.
	DefaultBeta = -0.5
	// DefaultReward is TuNAS's absolute reward.
	DefaultReward = "abs"
	// DefaultAlgo is regularized evolution, the best of the four
	// algorithms at 1,000 evaluations on nb201 (fleetnas bench search);
	// DefaultDriftAlgo is TuNAS's REINFORCE, the default when the
	// accuracy source drifts (a supernet), which evolution cannot follow.
	DefaultAlgo      = "evolution"
	DefaultDriftAlgo = "tunas"
	// DefaultBudget is the budget the bench search comparison ran at.
	DefaultBudget = 1000
	// DefaultSeed is 1, so that a first run is reproducible.
	DefaultSeed = 1
)

// DefaultMetric is MAX, the worst device's ratio: the metric of
// MobileNet-MultiHW-MAX (Chu et al. 2020).
func DefaultMetric() metric.Metric { return metric.Metric{Kind: metric.KindMax} }

// DefaultSettings are the settings of the main job: what `fleetnas
// search` runs without flags. The command line reads its flag defaults
// from here.
func DefaultSettings() Settings {
	return Settings{Space: DefaultSpace, Fleet: DefaultFleet, Accuracy: DefaultAccuracy, Metric: DefaultMetric(),
		Target: DefaultTarget, Beta: DefaultBeta, Reward: DefaultReward, Budget: DefaultBudget, Seed: DefaultSeed,
		Settings: oneshot.DefaultSettings()}
}

// Pricing returns the settings that say what networks are priced on.
func (s Settings) Pricing() price.Settings {
	return price.Settings{Space: s.Space, Fleet: s.Fleet, Metric: s.Metric, Resolution: s.Resolution, Holdout: s.Holdout}
}

// Controller returns the controller's settings.
func (s Settings) Controller() search.Config {
	return search.Config{Seed: s.Seed, LearningRate: s.LearningRate, EntropyBonus: s.EntropyBonus,
		Population: s.Population, Sample: s.Sample}
}

// sourceInfo is what an accuracy spec tells before its source is opened
// (which may take long: a supernet loads its data).
type sourceInfo struct {
	// drifts is accuracy.Stateful.Drifts of the source.
	drifts bool
	// tag is added to the default output directory's name.
	tag string
}

// describeSource reads an accuracy spec; with OpenSource, it is the one
// place that knows the spec "supernet".
func describeSource(spec string) sourceInfo {
	if spec == oneshot.Name {
		return sourceInfo{drifts: true, tag: oneshot.Name}
	}
	return sourceInfo{}
}

// Defaults returns s with the settings left empty given their defaults
// where a default depends on other settings: the algorithm (tunas for a
// supernet, whose accuracies drift; evolution otherwise).
func (s Settings) Defaults() Settings {
	if s.Algo == "" {
		s.Algo = DefaultAlgo
		if describeSource(s.Accuracy).drifts {
			s.Algo = DefaultDriftAlgo
		}
	}
	return s
}

// DirName is the default name of a search's output directory: the
// settings that tell searches apart.
func (s Settings) DirName() string {
	s = s.Defaults()
	name := fmt.Sprintf("%s-%s-%s-%s-seed%d", s.Space, filepath.Base(s.Fleet), strings.ReplaceAll(s.Metric.String(), ":", "_"), s.Algo, s.Seed)
	if tag := describeSource(s.Accuracy).tag; tag != "" {
		name += "-" + tag
	}
	return name
}

// OpenSource opens the accuracy source the settings name, for networks
// of sp: a supernet that trains on Data during the search's Budget steps,
// or a source of package accuracy (a benchmark table, a user's
// trainer).
func OpenSource(s Settings, sp space.Space) (accuracy.Stateful, error) {
	if s.Accuracy == oneshot.Name {
		return oneshot.Open(sp, s.Data, s.Settings, s.Budget, s.Seed)
	}
	src, err := accuracy.Open(s.Accuracy)
	if err != nil {
		return nil, setting.Wrap("accuracy", err)
	}
	return accuracy.AsStateful(src), nil
}

package job

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/fleetnas/fleetnas/accuracy"
	"github.com/fleetnas/fleetnas/dataset"
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
	// supernet its training steps, the first quarter its warm-up. 0 takes
	// the default: the whole space for exhaustive, which refuses less,
	// DefaultBudget otherwise.
	Budget int    `json:"budget"`
	Seed   uint64 `json:"seed"`
	// Resolution, Channels and Classes are the deployment target: the
	// input and output of the network that is priced, trained and
	// shipped. 0 takes the data's (its image size, channels and classes)
	// when Data is set, otherwise the fleet's resolution, 3 channels and
	// the space's classes.
	Resolution int `json:"resolution,omitempty"`
	Channels   int `json:"channels,omitempty"`
	Classes    int `json:"classes,omitempty"`
	// Controller settings (0: the controller's defaults, search.Config).
	LearningRate float64 `json:"learning_rate,omitempty"`
	EntropyBonus float64 `json:"entropy_bonus,omitempty"`
	Population   int     `json:"population,omitempty"`
	Sample       int     `json:"sample,omitempty"`
	// Holdout devices are priced and reported but left out of the metric.
	Holdout []string `json:"holdout,omitempty"`
	// Data are the user's images (dataset.Open's specs): what the
	// supernet trains on, what the chosen network is trained on
	// stand-alone, and what sets the deployment target's defaults.
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
	// DefaultBudget is the budget the bench search comparison ran at
	// (exhaustive's default is the whole space).
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
		Target: DefaultTarget, Beta: DefaultBeta, Reward: DefaultReward, Seed: DefaultSeed,
		Settings: oneshot.DefaultSettings()}
}

// Pricing returns the settings that say what networks are priced on, as
// the settings give them (without the data's defaults; see Deployment).
func (s Settings) Pricing() price.Settings {
	return price.Settings{Space: s.Space, Fleet: s.Fleet, Metric: s.Metric, Resolution: s.Resolution,
		Channels: s.Channels, Classes: s.Classes, Holdout: s.Holdout}
}

// Deployment fills the deployment target's fields left at 0 from the data:
// its image size, channels and classes. It refuses a target the data
// cannot train: other classes than the data's, or images that are not
// square (networks take square inputs).
func (s Settings) Deployment(ds *dataset.Dataset) (price.Settings, error) {
	p := s.Pricing()
	if ds == nil {
		return p, nil
	}
	if ds.H != ds.W {
		return p, setting.Errorf("data", "%s: images are %dx%d; networks here take square inputs", s.Data, ds.H, ds.W)
	}
	if p.Resolution == 0 {
		p.Resolution = ds.H
	}
	if p.Channels == 0 {
		p.Channels = ds.C
	}
	switch n := len(ds.Classes); {
	case p.Classes == 0:
		p.Classes = n
	case p.Classes != n:
		return p, setting.Errorf("classes", "%d, but the data (%s) has %d classes: the network trained on it is the one shipped", p.Classes, s.Data, n)
	}
	return p, nil
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
	// tag names the source in the default output directory's name.
	tag string
}

// describeSource reads an accuracy spec; with OpenSource, it is the one
// place that knows the spec "supernet".
func describeSource(spec string) sourceInfo {
	if spec == oneshot.Name {
		return sourceInfo{drifts: true, tag: oneshot.Name}
	}
	kind, arg, _ := strings.Cut(spec, ":")
	switch kind {
	case "table":
		return sourceInfo{tag: arg}
	case "command":
		prog, _, _ := strings.Cut(strings.TrimSpace(arg), " ")
		return sourceInfo{tag: "cmd_" + filepath.Base(prog)}
	}
	return sourceInfo{tag: kind}
}

// dirSafe keeps the letters, digits, dots, dashes and underscores of a
// name part, so that a setting cannot put a path separator, a space or a
// shell character into a directory name.
func dirSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// Defaults returns s with the settings left empty given their defaults
// where a default depends on other settings: the algorithm (tunas for a
// supernet, whose accuracies drift; evolution otherwise) and the budget
// (DefaultBudget, except for exhaustive, whose budget Open sets to the
// size of the space).
func (s Settings) Defaults() Settings {
	if s.Algo == "" {
		s.Algo = DefaultAlgo
		if describeSource(s.Accuracy).drifts {
			s.Algo = DefaultDriftAlgo
		}
	}
	if s.Budget == 0 && s.Algo != exhaustive {
		s.Budget = DefaultBudget
	}
	return s
}

// exhaustive is the algorithm whose budget is the whole space.
const exhaustive = "exhaustive"

// exhaustiveBudget sets an exhaustive search's budget to the size of the
// space, and refuses a budget that would stop it before the end: a
// search that stops early is not exhaustive, and its choice is not the
// optimum.
func exhaustiveBudget(s Settings, sp space.Space) (Settings, error) {
	if s.Algo != exhaustive {
		return s, nil
	}
	n, ok := search.Size(sp.Decisions())
	if !ok {
		return s, setting.Errorf("algo", "exhaustive: space %s has more than %d networks; use tunas, evolution or random", sp.Name(), search.MaxExhaustive)
	}
	switch {
	case s.Budget == 0:
		s.Budget = n
	case s.Budget < n:
		return s, setting.Errorf("budget", "exhaustive prices every network of %s, %d of them; a budget of %d would stop it early (leave it unset)", sp.Name(), n, s.Budget)
	}
	return s, nil
}

// DirName is the default name of a search's output directory: the
// settings that tell searches apart (space, fleet, accuracy source,
// metric, algorithm, seed), e.g.
// nb201-nb201-mobile-cifar100-max-evolution-seed1.
func (s Settings) DirName() string {
	s = s.Defaults()
	parts := []string{s.Space, strings.TrimSuffix(filepath.Base(s.Fleet), filepath.Ext(s.Fleet)), describeSource(s.Accuracy).tag,
		s.Metric.String(), s.Algo, fmt.Sprintf("seed%d", s.Seed)}
	for i, p := range parts {
		parts[i] = dirSafe(p)
	}
	return strings.Join(parts, "-")
}

// OpenSource opens the accuracy source the settings name, for networks
// of sp: a supernet that trains on ds (the data Data names) during the
// search's Budget steps, or a source of package accuracy (a benchmark
// table, a user's trainer).
func OpenSource(s Settings, sp space.Space, ds *dataset.Dataset) (accuracy.Stateful, error) {
	if s.Accuracy == oneshot.Name {
		return oneshot.Open(sp, ds, s.Data, s.Settings, s.Budget, s.Seed)
	}
	src, err := accuracy.Open(s.Accuracy)
	if err != nil {
		return nil, setting.Wrap("accuracy", err)
	}
	// A benchmark table holds the networks of one space: say so now, not
	// at the first evaluation.
	if t, ok := src.(interface{ Space() string }); ok && t.Space() != sp.Name() {
		return nil, setting.Errorf("accuracy", "%s holds the networks of space %s, not %s; give an accuracy source for %s (command:PROGRAM, or supernet with data)", s.Accuracy, t.Space(), sp.Name(), sp.Name())
	}
	return accuracy.AsStateful(src), nil
}

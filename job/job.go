// Package job runs a search: it opens the space, fleet, accuracy source,
// metric, reward and controller named by Settings, prices every proposal
// (accuracy and per-device latency), feeds rewards back to the controller,
// keeps the history and Pareto archive, checkpoints atomically every few
// seconds, resumes a killed run to the same result as an unbroken one, and
// writes the run's files: result.json, history.csv, pareto.csv and
// report.html.
package job

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/fleetnas/fleetnas/accuracy"
	"github.com/fleetnas/fleetnas/fleet"
	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/metric"
	"github.com/fleetnas/fleetnas/search"
	"github.com/fleetnas/fleetnas/space"
	"github.com/fleetnas/fleetnas/zoo"
)

// Settings are everything that determines a run's result. Two runs with
// equal Settings produce equal result.json files.
type Settings struct {
	Space    string  `json:"space"`
	Fleet    string  `json:"fleet"`
	Accuracy string  `json:"accuracy"`
	Metric   string  `json:"metric"`
	Target   float64 `json:"target"`
	Beta     float64 `json:"beta"`
	Reward   string  `json:"reward"`
	Algo     string  `json:"algo"`
	Budget   int     `json:"budget"`
	Seed     uint64  `json:"seed"`
	// Resolution overrides the fleet's deployment resolution (0: keep).
	Resolution int `json:"resolution,omitempty"`
	// Controller settings (0: the controller's defaults).
	LearningRate float64 `json:"learning_rate,omitempty"`
	EntropyBonus float64 `json:"entropy_bonus,omitempty"`
	Population   int     `json:"population,omitempty"`
	Sample       int     `json:"sample,omitempty"`
	// Holdout devices are priced and reported but left out of the metric.
	Holdout []string `json:"holdout,omitempty"`
	// Supernet settings, used when Accuracy is SupernetAccuracy (0: the
	// defaults in SupernetDefaults).
	Data       string  `json:"data,omitempty"`
	ProxyWidth float64 `json:"proxy_width,omitempty"`
	Batch      int     `json:"batch,omitempty"`
	WeightsLR  float64 `json:"weights_lr,omitempty"`
}

// Record is one evaluated network.
type Record struct {
	Step      int       `json:"step"`
	Key       string    `json:"choice"`
	Choice    []int     `json:"vector"`
	Accuracy  float64   `json:"accuracy"`
	LatencyMS []float64 `json:"latency_ms"`
	Ratio     []float64 `json:"ratio"`
	Avg       float64   `json:"avg"`
	Max       float64   `json:"max"`
	Metric    float64   `json:"metric"`
	Reward    float64   `json:"reward"`
	Entropy   float64   `json:"entropy"`
}

// Job is an opened search, ready to run.
type Job struct {
	S       Settings
	space   space.Space
	fleet   *fleet.Fleet
	acc     accuracy.Source
	kind    metric.Kind
	reward  metric.Reward
	ctrl    search.Controller
	devices []string
	// inMetric marks the devices the metric is computed over (not held out).
	inMetric []bool
	weights  []float64
	device   int // index of the device of a device:NAME metric
	cache    map[string]*Record
	// priced caches latency, ratios and metrics by canonical string.
	priced map[string]*Record
}

// Open checks the settings and opens everything a run needs.
func Open(s Settings) (*Job, error) {
	if s.Budget <= 0 {
		return nil, fmt.Errorf("--budget must be a positive number of evaluations, got %d", s.Budget)
	}
	j, err := OpenPricer(s)
	if err != nil {
		return nil, err
	}
	if s.Accuracy == SupernetAccuracy {
		if err := checkSupernetSettings(s); err != nil {
			return nil, err
		}
	} else if j.acc, err = accuracy.Open(s.Accuracy); err != nil {
		return nil, err
	}
	if j.reward, err = metric.ParseReward(s.Reward, s.Target, s.Beta); err != nil {
		return nil, err
	}
	cfg := search.Config{Seed: s.Seed, LearningRate: s.LearningRate, EntropyBonus: s.EntropyBonus,
		Population: s.Population, Sample: s.Sample}
	if j.ctrl, err = search.New(s.Algo, j.space.Decisions(), cfg); err != nil {
		return nil, err
	}
	return j, nil
}

// OpenPricer opens only what pricing networks needs (Price): the space,
// the fleet at its resolution and the metric over the devices not held
// out; the accuracy, reward and algorithm settings are ignored.
func OpenPricer(s Settings) (*Job, error) {
	if s.Resolution < 0 {
		return nil, fmt.Errorf("--resolution must be positive, got %d", s.Resolution)
	}
	j := &Job{S: s, cache: map[string]*Record{}, priced: map[string]*Record{}}
	var err error
	if j.space, err = space.Get(s.Space); err != nil {
		return nil, err
	}
	z, err := zoo.New()
	if err != nil {
		return nil, err
	}
	if j.fleet, err = loadFleet(s.Fleet, z); err != nil {
		return nil, err
	}
	if s.Resolution != 0 {
		j.fleet.Resolution = s.Resolution
	}
	if j.kind, err = metric.ParseKind(s.Metric); err != nil {
		return nil, err
	}
	held := map[string]bool{}
	for _, h := range s.Holdout {
		if _, err := j.fleet.Device(h); err != nil {
			return nil, fmt.Errorf("--holdout: %w", err)
		}
		held[h] = true
	}
	j.device = -1
	for i, d := range j.fleet.Devices {
		j.devices = append(j.devices, d.Name)
		j.inMetric = append(j.inMetric, !held[d.Name])
		j.weights = append(j.weights, d.Weight)
		if j.kind.Name == "device" && d.Name == j.kind.Device {
			j.device = i
		}
	}
	if len(held) == len(j.devices) {
		return nil, errors.New("--holdout leaves no device to search on")
	}
	if j.kind.Name == "device" {
		if _, err := j.fleet.Device(j.kind.Device); err != nil {
			return nil, fmt.Errorf("--metric: %w", err)
		}
		if held[j.kind.Device] {
			return nil, fmt.Errorf("--metric device:%s is held out", j.kind.Device)
		}
	}
	return j, nil
}

// Price returns a network's per-device latency, ratios and fleet metrics
// (no accuracy or reward).
func (j *Job) Price(choice []int) (*Record, error) {
	key, err := j.space.Format(choice)
	if err != nil {
		return nil, err
	}
	return j.price(key, choice)
}

// loadFleet opens a built-in fleet by name or a fleet file by path.
func loadFleet(nameOrFile string, z *zoo.Zoo) (*fleet.Fleet, error) {
	if nameOrFile == "" {
		return nil, fmt.Errorf("--fleet is required: a built-in fleet (%s) or a fleet file", strings.Join(fleet.Names(), ", "))
	}
	if strings.ContainsAny(nameOrFile, "./") {
		return fleet.ReadFile(nameOrFile, z)
	}
	return fleet.Builtin(nameOrFile, z)
}

// Devices are the fleet's device names in order.
func (j *Job) Devices() []string { return append([]string(nil), j.devices...) }

// Fleet is the opened fleet.
func (j *Job) Fleet() *fleet.Fleet { return j.fleet }

// Space is the opened space.
func (j *Job) Space() space.Space { return j.space }

// Evaluate prices a network: accuracy, per-device latency and ratio, the
// fleet metrics over the devices not held out, and the reward. Results
// are cached by canonical string, so a network proposed twice costs one
// training run.
func (j *Job) Evaluate(ctx context.Context, choice []int) (*Record, error) {
	key, err := j.space.Format(choice)
	if err != nil {
		return nil, err
	}
	if r, ok := j.cache[key]; ok {
		c := *r
		return &c, nil
	}
	n, err := latency.FromSpace(j.space, choice, j.fleet.Resolution)
	if err != nil {
		return nil, err
	}
	r, err := j.priceNet(key, choice, n)
	if err != nil {
		return nil, err
	}
	a, err := j.acc.Accuracy(ctx, j.space, n)
	if err != nil {
		return nil, err
	}
	if err := j.score(r, a); err != nil {
		return nil, err
	}
	j.cache[key] = r
	c := *r
	return &c, nil
}

// price returns a network's record with its per-device latency, ratios
// and fleet metrics filled in and no accuracy yet. Latency depends only
// on the network, so it is cached by canonical string.
func (j *Job) price(key string, choice []int) (*Record, error) {
	if r, ok := j.priced[key]; ok {
		c := *r
		c.Choice = append([]int(nil), r.Choice...)
		return &c, nil
	}
	n, err := latency.FromSpace(j.space, choice, j.fleet.Resolution)
	if err != nil {
		return nil, err
	}
	return j.priceNet(key, choice, n)
}

// priceNet is price for a network already built at the fleet's
// resolution, so a caller that also needs the network builds it once.
func (j *Job) priceNet(key string, choice []int, n *latency.Net) (*Record, error) {
	if r, ok := j.priced[key]; ok {
		c := *r
		c.Choice = append([]int(nil), r.Choice...)
		return &c, nil
	}
	res, err := j.fleet.Evaluate(n)
	if err != nil {
		return nil, err
	}
	r := &Record{Key: key, Choice: append([]int(nil), choice...)}
	var rs, ws []float64
	for i, d := range res.Devices {
		r.LatencyMS = append(r.LatencyMS, d.LatencyMS)
		r.Ratio = append(r.Ratio, d.Ratio)
		if j.inMetric[i] {
			rs = append(rs, d.Ratio)
			ws = append(ws, j.weights[i])
		}
	}
	r.Avg, r.Max = metric.Avg(rs, ws), metric.Max(rs)
	switch j.kind.Name {
	case "avg":
		r.Metric = r.Avg
	case "max":
		r.Metric = r.Max
	default:
		r.Metric = r.Ratio[j.device]
	}
	j.priced[key] = r
	c := *r
	return &c, nil
}

// score sets a priced record's accuracy (in percent) and reward.
func (j *Job) score(r *Record, accuracy float64) error {
	r.Accuracy = accuracy
	r.Reward = j.reward.Of(accuracy/100, r.Metric)
	if math.IsNaN(r.Reward) || math.IsInf(r.Reward, 0) {
		return fmt.Errorf("network %s: reward %g (accuracy %g, metric %g) is not a number", r.Key, r.Reward, accuracy, r.Metric)
	}
	return nil
}

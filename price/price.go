// Package price prices networks of a search space on a fleet: it builds
// each network at the deployment target (input resolution, channels and
// classes: the fleet's resolution and the space's classes unless the
// settings say otherwise), predicts its latency on every device, divides
// by the devices' references and computes the fleet metrics (package
// metric). The network priced is the network a search trains and ships:
// training, export and measurement read the same target. It is the latency half of a search's
// evaluation; the accuracy half is package accuracy.
//
// A network's price depends only on the network, so a Pricer caches it by
// canonical string; pricers made from one another with WithMetric share
// the cache, since only the metric differs.
package price

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/fleet"
	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/metric"
	"github.com/fleetnas/fleetnas/setting"
	"github.com/fleetnas/fleetnas/space"
	"github.com/fleetnas/fleetnas/zoo"
)

// Settings say what networks are priced on. Errors name them as their
// JSON tags do.
type Settings struct {
	// Space is the search space's name (see space.Names).
	Space string `json:"space"`
	// Fleet is a built-in fleet's name or a fleet file (fleet.Open).
	Fleet string `json:"fleet"`
	// Metric is what the search optimises.
	Metric metric.Metric `json:"metric"`
	// Resolution overrides the fleet's deployment resolution (0: keep).
	Resolution int `json:"resolution,omitempty"`
	// Channels and Classes are the deployment's input channels and
	// classes (0: 3 and the space's default).
	Channels int `json:"channels,omitempty"`
	Classes  int `json:"classes,omitempty"`
	// Holdout devices are priced and reported but left out of the metric.
	Holdout []string `json:"holdout,omitempty"`
}

// Price is a network's per-device latency and ratio and its fleet
// metrics. Its slices are shared with the pricer's cache: read-only.
type Price struct {
	// Key is the network's canonical string in its space.
	Key string
	// Choice is the network's choice vector (the caller's own copy).
	Choice []int
	// LatencyMS and Ratio are per device, in fleet order.
	LatencyMS []float64
	Ratio     []float64
	metric.Values
}

// Pricer prices networks of one space on one fleet under one metric. It
// is safe for concurrent use.
type Pricer struct {
	space   space.Space
	fleet   *fleet.Fleet
	scope   *metric.Scope
	target  space.Options
	devices []string
	cache   *cache
}

// cache holds per-device latencies and ratios by canonical string; they
// do not depend on the metric, so pricers of one fleet share it.
type cache struct {
	mu sync.RWMutex
	m  map[string]entry
}

type entry struct{ latency, ratio []float64 }

// Open opens the space and the fleet the settings name and the metric
// over the devices not held out.
func Open(s Settings) (*Pricer, error) {
	switch {
	case s.Resolution < 0:
		return nil, setting.Errorf("resolution", "must be positive (0 for the fleet's), got %d", s.Resolution)
	case s.Channels < 0 || s.Channels > arch.MaxInputChannels:
		return nil, setting.Errorf("channels", "must be in 1..%d (0 for 3), got %d", arch.MaxInputChannels, s.Channels)
	case s.Classes < 0:
		return nil, setting.Errorf("classes", "must be positive (0 for the space's), got %d", s.Classes)
	}
	sp, err := space.Get(s.Space)
	if err != nil {
		return nil, setting.Wrap("space", err)
	}
	if s.Fleet == "" {
		return nil, setting.Errorf("fleet", "is required: a built-in fleet (%s) or a fleet file", strings.Join(fleet.Names(), ", "))
	}
	z, err := zoo.New()
	if err != nil {
		return nil, err
	}
	f, err := fleet.Open(s.Fleet, z)
	if err != nil {
		return nil, setting.Wrap("fleet", err)
	}
	// References are priced at the deployment target too, so that a
	// ratio compares a network with its reference deployed alike.
	if err := f.Retarget(z, s.Resolution, s.Channels, s.Classes); err != nil {
		return nil, setting.Errorf("resolution", "the fleet's references cannot be priced at the deployment target (a fleet file can pin a reference's resolution): %w", err)
	}
	target := space.Options{Resolution: f.Resolution, Channels: s.Channels, Classes: s.Classes}
	p, err := New(sp, f, s.Metric, s.Holdout, target)
	if err != nil {
		return nil, err
	}
	// Say now, not at the first evaluation, when no network of the space
	// can be built at the target, or the fleet cannot price it (a per-op
	// table profiled at another resolution).
	n, err := p.Network(make([]int, len(sp.Decisions())))
	if err != nil {
		return nil, setting.Wrap("resolution", err)
	}
	if _, err := p.PriceNet(n); err != nil {
		t := p.target
		return nil, setting.Errorf("resolution", "fleet %s cannot price networks at the deployment target %dx%dx%d, %d classes: %w", s.Fleet, t.Resolution, t.Resolution, t.Channels, t.Classes, err)
	}
	return p, nil
}

// New prices networks of sp on an opened fleet under metric m, leaving
// out the devices named in heldOut, at the deployment target (zero fields
// take the fleet's resolution, the space's default resolution and
// classes, and 3 channels).
func New(sp space.Space, f *fleet.Fleet, m metric.Metric, heldOut []string, target space.Options) (*Pricer, error) {
	if target.Resolution == 0 {
		target.Resolution = f.Resolution
	}
	if target.Resolution == 0 {
		target.Resolution = sp.DefaultResolution()
	}
	if target.Classes == 0 {
		target.Classes = sp.DefaultClasses()
	}
	if target.Channels == 0 {
		target.Channels = 3
	}
	p := &Pricer{space: sp, fleet: f, target: target, cache: &cache{m: map[string]entry{}}}
	for _, d := range f.Devices {
		p.devices = append(p.devices, d.Name)
	}
	var err error
	if p.scope, err = metric.NewScope(m, p.devices, f.Weights(), heldOut); err != nil {
		return nil, err
	}
	return p, nil
}

// WithMetric returns a pricer of the same networks, fleet and held-out
// devices under another metric, sharing this one's cache.
func (p *Pricer) WithMetric(m metric.Metric) (*Pricer, error) {
	var held []string
	for i, h := range p.scope.HeldOut() {
		if h {
			held = append(held, p.devices[i])
		}
	}
	scope, err := metric.NewScope(m, p.devices, p.fleet.Weights(), held)
	if err != nil {
		return nil, err
	}
	q := *p
	q.scope = scope
	return &q, nil
}

// Space is the space whose networks are priced.
func (p *Pricer) Space() space.Space { return p.space }

// Fleet is the fleet they are priced on.
func (p *Pricer) Fleet() *fleet.Fleet { return p.fleet }

// Resolution is the deployment resolution networks are built at.
func (p *Pricer) Resolution() int { return p.target.Resolution }

// Target is the deployment target networks are built at, every field
// set: input resolution, input channels, classes.
func (p *Pricer) Target() space.Options { return p.target }

// Devices are the fleet's device names in order.
func (p *Pricer) Devices() []string { return slices.Clone(p.devices) }

// Scope is the metric over the fleet.
func (p *Pricer) Scope() *metric.Scope { return p.scope }

// Network builds the deployment network of a choice vector: the network
// whose latency Price predicts.
func (p *Pricer) Network(choice []int) (*latency.Net, error) {
	return latency.FromSpaceAt(p.space, choice, p.target)
}

// Arch builds the deployment network of a choice vector as an arch
// network: what result.json shows, training builds and export writes.
func (p *Pricer) Arch(choice []int) (*arch.Network, error) {
	return p.space.Network(choice, p.target)
}

// Price returns the price of the network of a choice vector.
func (p *Pricer) Price(choice []int) (Price, error) {
	key, err := p.space.Format(choice)
	if err != nil {
		return Price{}, err
	}
	if e, ok := p.cache.get(key); ok {
		return p.price(key, choice, e), nil
	}
	n, err := p.Network(choice)
	if err != nil {
		return Price{}, err
	}
	return p.PriceNet(n)
}

// PriceNet returns the price of a deployment network that Network built,
// so that a caller who also needs the network builds it once.
func (p *Pricer) PriceNet(n *latency.Net) (Price, error) {
	if e, ok := p.cache.get(n.Key); ok {
		return p.price(n.Key, n.Choice, e), nil
	}
	res, err := p.fleet.Evaluate(n)
	if err != nil {
		return Price{}, fmt.Errorf("network %s: %w", n.Key, err)
	}
	e := entry{latency: make([]float64, len(res.Devices)), ratio: make([]float64, len(res.Devices))}
	for i, d := range res.Devices {
		e.latency[i], e.ratio[i] = d.LatencyMS, d.Ratio
	}
	p.cache.put(n.Key, e)
	return p.price(n.Key, n.Choice, e), nil
}

func (p *Pricer) price(key string, choice []int, e entry) Price {
	return Price{Key: key, Choice: slices.Clone(choice), LatencyMS: e.latency, Ratio: e.ratio, Values: p.scope.Of(e.ratio)}
}

func (c *cache) get(key string) (entry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.m[key]
	return e, ok
}

func (c *cache) put(key string, e entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = e
}

package results

import (
	"math"
	"slices"
	"strings"

	"github.com/fleetnas/fleetnas/accuracy"
	"github.com/fleetnas/fleetnas/job"
	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/report"
	"github.com/fleetnas/fleetnas/zoo"
)

// referenceModels are the well-known networks a report sets next to the
// chosen one: MobileNetV2 and V3 (the baselines of Chu et al. 2020) and
// the paper's own MultiHW-AVG and -MAX, by label and zoo name.
func referenceModels() [][2]string {
	return [][2]string{
		{"MobileNetV2", "MobileNetV2"},
		{"MobileNetV3-Large", "MobileNetV3Large"},
		{"MobileNetV3-Small", "MobileNetV3Small"},
		{"MultiHW-AVG", "MobileNetMultiAVG"},
		{"MultiHW-MAX", "MobileNetMultiMAX"},
	}
}

// references prices the reference networks at the search's deployment
// target on its fleet: the zoo models above, and each device's own
// reference network when it is a member of the searched space. A network
// a device cannot price (a table of another space) is left out. A
// reference's accuracy is given only when the accuracy source knows it
// at no cost (a benchmark table; a network the search scored), NaN
// otherwise.
func references(o *job.Outcome) []report.Reference {
	p := o.Job.Pricer()
	t := p.Target()
	var out []report.Reference
	seen := map[string]bool{}
	add := func(name string, n *latency.Net) {
		pr, err := p.PriceNet(n)
		if err != nil {
			return
		}
		key := fmtRatios(pr.Ratio)
		if seen[key] {
			return // the same network under another name
		}
		seen[key] = true
		acc := math.NaN()
		if pk, ok := o.Job.Source().(accuracy.Peeker); ok && n.Space != "" {
			if a, ok := pk.Peek(p.Space(), n); ok {
				acc = a
			}
		}
		out = append(out, report.Reference{Name: name, Accuracy: acc, Avg: pr.Avg, Max: pr.Max,
			LatencyMS: slices.Clone(pr.LatencyMS), Ratio: slices.Clone(pr.Ratio)})
	}
	// The fleet's own references first (a table fleet prices nothing
	// else), named after their devices when they are not all one.
	var choices []string
	devices := map[string][]string{}
	for _, d := range p.Fleet().Devices {
		if d.Ref.Space != p.Space().Name() {
			continue
		}
		if devices[d.Ref.Choice] == nil {
			choices = append(choices, d.Ref.Choice)
		}
		devices[d.Ref.Choice] = append(devices[d.Ref.Choice], d.Name)
	}
	for _, choice := range choices {
		c, err := p.Space().Parse(choice)
		if err != nil {
			continue
		}
		name := "fleet reference"
		if len(choices) > 1 {
			name = "reference of " + strings.Join(devices[choice], ", ")
		}
		if n, err := p.Network(c); err == nil {
			add(name, n)
		}
	}
	z, err := zoo.New()
	if err != nil {
		return out
	}
	for _, m := range referenceModels() {
		nw, err := z.Build(m[1], zoo.Options{Resolution: t.Resolution, Classes: t.Classes})
		if err != nil {
			continue
		}
		if t.Channels != 3 {
			nw.InputChannels = t.Channels
		}
		n, err := latency.FromNetwork(nw, 0)
		if err != nil {
			continue
		}
		n.Key = "zoo:" + m[1]
		add(m[0], n)
	}
	return out
}

// fmtRatios keys a network by its ratios, to drop duplicates.
func fmtRatios(r []float64) string {
	b := make([]byte, 0, 16*len(r))
	for _, x := range r {
		b = append(b, f64(x)...)
		b = append(b, ',')
	}
	return string(b)
}

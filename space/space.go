// Package space defines search spaces as data: a space is a list of named
// decisions, each with its choices, and a map from a choice vector (one
// choice index per decision) to an arch.Network. Every space has a
// canonical string form that round-trips with its choice vectors.
//
// Spaces: multihw (the multi-hardware space of Chu et al., reconstructed so
// that MobileNet-MultiHW-AVG and -MAX are members), mnv3like (TuNAS's
// MobileNetV3-like space), proxyless (ProxylessNAS), fbnet (HW-NAS-Bench's
// FBNet space) and nb201 (the NAS-Bench-201 cell).
package space

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/fleetnas/fleetnas/arch"
)

// Decision is one named choice of a space.
type Decision struct {
	Name    string   `json:"name"`
	Choices []string `json:"choices"`
}

// Options are the deployment settings a network is built with.
type Options struct {
	// Resolution of the input image; 0 means the space's default.
	Resolution int
	// Classes of the classifier; 0 means the space's default.
	Classes int
	// Channels of the input image; 0 means 3 (RGB).
	Channels int
}

// Space is a search space.
type Space interface {
	// Name is the space's identifier (e.g. "multihw").
	Name() string
	// Description says in one line what the space is and where it comes from.
	Description() string
	// Decisions lists the decisions in choice-vector order.
	Decisions() []Decision
	// DefaultResolution and DefaultClasses are the settings of the
	// space's benchmark (224/1000 for ImageNet spaces, 32/100 for fbnet...).
	DefaultResolution() int
	DefaultClasses() int
	// Network builds the network of a choice vector.
	Network(choice []int, opt Options) (*arch.Network, error)
	// Format returns the canonical string of a choice vector.
	Format(choice []int) (string, error)
	// Parse returns the choice vector of a canonical string.
	Parse(s string) ([]int, error)
}

// Check returns an error naming the first decision whose index is out of
// range, or a length mismatch.
func Check(s Space, choice []int) error {
	ds := s.Decisions()
	if len(choice) != len(ds) {
		return fmt.Errorf("%s: a choice vector has %d entries (one per decision), got %d", s.Name(), len(ds), len(choice))
	}
	for i, c := range choice {
		if c < 0 || c >= len(ds[i].Choices) {
			return fmt.Errorf("%s: decision %d (%s): choice %d out of range 0..%d", s.Name(), i, ds[i].Name, c, len(ds[i].Choices)-1)
		}
	}
	return nil
}

// Log10Size returns log10 of the number of choice vectors.
func Log10Size(s Space) float64 {
	var l float64
	for _, d := range s.Decisions() {
		l += math.Log10(float64(len(d.Choices)))
	}
	return l
}

// Sample draws n choice vectors uniformly from the space. The same seed
// gives the same vectors on any machine.
func Sample(s Space, n int, seed uint64) [][]int {
	r := rand.New(rand.NewPCG(seed, 0x666c6565746e6173)) // "fleetnas"
	ds := s.Decisions()
	out := make([][]int, n)
	for i := range out {
		v := make([]int, len(ds))
		for j, d := range ds {
			v[j] = r.IntN(len(d.Choices))
		}
		out[i] = v
	}
	return out
}

// Names lists the built-in spaces.
func Names() []string {
	n := make([]string, 0, len(constructors))
	for k := range constructors {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Get returns a built-in space by name.
func Get(name string) (Space, error) {
	f, ok := constructors[name]
	if !ok {
		return nil, fmt.Errorf("unknown search space %q; one of %s", name, strings.Join(Names(), ", "))
	}
	return f(), nil
}

// validated returns n if it lowers at its own resolution, so that a space
// never hands out a network that fails later (NAS-Bench-201's reductions
// need an even input size, FBNet's three strides a resolution of at least 5).
//
// It also gives the network opt's input channels: 3 (the default of
// arch.Network, written as 0 so that RGB networks keep their JSON) or
// what opt says.
func validated(n *arch.Network, opt Options) (*arch.Network, error) {
	if opt.Channels != 3 {
		n.InputChannels = opt.Channels
	}
	if err := n.Validate(); err != nil {
		return nil, fmt.Errorf("%s at resolution %d: %w", n.Name, n.Resolution, err)
	}
	return n, nil
}

// defaultedOptions applies a space's defaults to opt and rejects negative
// settings, which would otherwise surface as a confusing lowering error.
func defaultedOptions(s interface {
	Name() string
	DefaultResolution() int
	DefaultClasses() int
}, opt Options) (res, classes int, err error) {
	res, classes = opt.Resolution, opt.Classes
	if res < 0 {
		return 0, 0, fmt.Errorf("%s: resolution must be positive (0 for the default %d), got %d", s.Name(), s.DefaultResolution(), res)
	}
	if classes < 0 {
		return 0, 0, fmt.Errorf("%s: classes must be positive (0 for the default %d), got %d", s.Name(), s.DefaultClasses(), classes)
	}
	if opt.Channels < 0 {
		return 0, 0, fmt.Errorf("%s: input channels must be positive (0 for 3), got %d", s.Name(), opt.Channels)
	}
	if res == 0 {
		res = s.DefaultResolution()
	}
	if classes == 0 {
		classes = s.DefaultClasses()
	}
	return res, classes, nil
}

// Radix returns the number of choices of each decision, the digits of the
// mixed-radix numbering that dense per-network tables index by.
func Radix(s Space) []int {
	ds := s.Decisions()
	r := make([]int, len(ds))
	for i, d := range ds {
		r[i] = len(d.Choices)
	}
	return r
}

// Code numbers a choice vector in mixed radix, decision 0 least
// significant; ok is false when the vector does not fit the radix.
func Code(radix, choice []int) (code int, ok bool) {
	if len(choice) != len(radix) {
		return 0, false
	}
	mul := 1
	for i, r := range radix {
		c := choice[i]
		if c < 0 || c >= r {
			return 0, false
		}
		code += c * mul
		mul *= r
	}
	return code, true
}

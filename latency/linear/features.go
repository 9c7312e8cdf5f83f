package linear

import (
	"fmt"

	"github.com/fleetnas/fleetnas/space"
)

// Kind names a feature map, and with it the family of models a Fit
// produces.
type Kind string

const (
	// Additive is TuNAS's linear cost model: one indicator per (decision,
	// choice), so latency = bias + sum over decisions of w[d][choice].
	// It is exact for devices whose latency is a sum of a per-op table
	// and is the baseline every richer model must beat.
	Additive Kind = "additive"
	// Pairwise adds one indicator per (choice of d, choice of d+1) for
	// every pair of adjacent decisions. On a phone the cost of a layer
	// depends on its neighbours (whether its input is still in cache,
	// whether the runtime fuses a skip into the next layer, which kernel
	// the previous layer's output layout favours); a per-op table cannot
	// see that, an adjacent-pair table can.
	Pairwise Kind = "pairwise"
)

// Kinds lists the feature maps Fit understands, for help texts and errors.
func Kinds() []Kind { return []Kind{Additive, Pairwise} }

// Features maps a choice vector to the set of binary features it switches
// on. Every feature is an indicator, so a linear model over them predicts
// by summing a few weights: 22 additions for the additive FBNet model, 43
// for the pairwise one, with no allocation.
//
// The first choice of every decision is the reference level: it has no
// feature of its own and its cost is folded into the bias (and, for pairs,
// into the two decisions' own weights). One indicator for every choice plus
// a bias would describe the same models but would be rank-deficient (the
// indicators of a decision sum to the bias column), so the least-squares
// weights would not be unique; with reference coding they are, and an
// unregularised fit is plain least squares.
type Features struct {
	kind Kind
	// decisions are the decision names and choice names, kept for Names
	// and error messages.
	decisions []space.Decision
	// sizes[d] is the number of choices of decision d.
	sizes []int
	// mainOff[d] is the index of the feature of choice 1 of decision d.
	mainOff []int
	// pairOff[d] is the index of the feature of (choice 1 of d, choice 1
	// of d+1); only for Pairwise.
	pairOff []int
	nMain   int
	dim     int
}

// OneHot is the Additive feature map over a space's decisions.
func OneHot(decisions []space.Decision) (*Features, error) {
	return NewFeatures(Additive, decisions)
}

// NewFeatures builds the feature map of a kind over a space's decisions.
// Every decision needs at least one choice.
func NewFeatures(kind Kind, decisions []space.Decision) (*Features, error) {
	if kind != Additive && kind != Pairwise {
		return nil, fmt.Errorf("linear: unknown model kind %q; one of %v", kind, Kinds())
	}
	if len(decisions) == 0 {
		return nil, fmt.Errorf("linear: a space with no decisions has nothing to learn")
	}
	f := &Features{
		kind:      kind,
		decisions: make([]space.Decision, len(decisions)),
		sizes:     make([]int, len(decisions)),
		mainOff:   make([]int, len(decisions)),
	}
	for d, dec := range decisions {
		if len(dec.Choices) == 0 {
			return nil, fmt.Errorf("linear: decision %d (%s) has no choices", d, dec.Name)
		}
		f.decisions[d] = space.Decision{Name: dec.Name, Choices: append([]string(nil), dec.Choices...)}
		f.sizes[d] = len(dec.Choices)
		f.mainOff[d] = f.dim
		f.dim += len(dec.Choices) - 1
	}
	f.nMain = f.dim
	if kind == Pairwise {
		f.pairOff = make([]int, len(decisions)-1)
		for d := range f.pairOff {
			f.pairOff[d] = f.dim
			f.dim += (f.sizes[d] - 1) * (f.sizes[d+1] - 1)
		}
	}
	return f, nil
}

// Kind is the feature map's kind.
func (f *Features) Kind() Kind { return f.kind }

// Dim is the number of features (the bias not included).
func (f *Features) Dim() int { return f.dim }

// MainEffects is the number of per-(decision, choice) features; they come
// first, so indices >= MainEffects are interactions.
func (f *Features) MainEffects() int { return f.nMain }

// Check returns an error naming the first entry of choice that is out of
// range, or a length mismatch, so that a bad vector never indexes the
// weights.
func (f *Features) Check(choice []int) error {
	if len(choice) != len(f.sizes) {
		return fmt.Errorf("linear: a choice vector has %d entries (one per decision), got %d", len(f.sizes), len(choice))
	}
	for d, c := range choice {
		if c < 0 || c >= f.sizes[d] {
			return fmt.Errorf("linear: decision %d (%s): choice %d out of range 0..%d", d, f.decisions[d].Name, c, f.sizes[d]-1)
		}
	}
	return nil
}

// Active appends to dst the indices of the features choice switches on,
// in increasing order, and returns the extended slice. choice must pass
// Check.
func (f *Features) Active(choice []int, dst []int) ([]int, error) {
	if err := f.Check(choice); err != nil {
		return dst, err
	}
	return f.active(choice, dst), nil
}

// active is Active without the check.
func (f *Features) active(choice []int, dst []int) []int {
	for d, c := range choice {
		if c > 0 {
			dst = append(dst, f.mainOff[d]+c-1)
		}
	}
	for d, off := range f.pairOff {
		a, b := choice[d], choice[d+1]
		if a > 0 && b > 0 {
			dst = append(dst, off+(a-1)*(f.sizes[d+1]-1)+b-1)
		}
	}
	return dst
}

// sum is bias plus the weights of the features choice switches on; the
// prediction hot path, so it indexes directly instead of building a list.
func (f *Features) sum(bias float64, w []float64, choice []int) float64 {
	s := bias
	for d, c := range choice {
		if c > 0 {
			s += w[f.mainOff[d]+c-1]
		}
	}
	for d, off := range f.pairOff {
		a, b := choice[d], choice[d+1]
		if a > 0 && b > 0 {
			s += w[off+(a-1)*(f.sizes[d+1]-1)+b-1]
		}
	}
	return s
}

// Names returns a readable name for every feature, e.g. "layer_3=k5_e6"
// or "layer_3=k5_e6&layer_4=skip", so that fitted weights can be
// inspected.
func (f *Features) Names() []string {
	names := make([]string, 0, f.dim)
	for _, dec := range f.decisions {
		for _, c := range dec.Choices[1:] {
			names = append(names, dec.Name+"="+c)
		}
	}
	for d := range f.pairOff {
		a, b := f.decisions[d], f.decisions[d+1]
		for _, ca := range a.Choices[1:] {
			for _, cb := range b.Choices[1:] {
				names = append(names, a.Name+"="+ca+"&"+b.Name+"="+cb)
			}
		}
	}
	return names
}

// Package optim updates nn.Param values from their gradients: SGD with
// momentum, RMSProp with TensorFlow 1 semantics, and Adam, each with L2 or
// decoupled weight decay, plus the learning-rate schedules MobileNet-style
// training uses (linear warmup then cosine decay, and staircase exponential
// decay).
//
// The learning rate is an argument of Step rather than a field of the
// optimizer so that a schedule (see Schedule) stays a pure function of the
// step number and a checkpoint need not record it.
//
// Arithmetic is float32, as in TensorFlow, where hyperparameters are cast
// to the variable's dtype before the update kernel runs. Every product is
// rounded explicitly before it is added, so the Go compiler cannot fuse it
// into a fused multiply-add on some architectures and not others: the same
// inputs give bit-identical results on every platform.
package optim

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/fleetnas/fleetnas/nn"
)

// Optimizer applies one update per Step to a set of parameters.
//
// Step reads Param.Grad and writes Param.Data and the optimizer's own
// per-parameter slots; it does not zero the gradients, because callers that
// accumulate gradients over several batches need them kept. Call ZeroGrad
// before the next backward pass. Step validates everything before it
// changes anything, so a returned error leaves parameters and slots as
// they were.
//
// Slots are keyed by Param.Name and created on the first Step that sees a
// name. State and SetState save and restore them (with their step counts)
// for checkpoints; hyperparameters are not part of the state and come from
// the constructor, so a resumed run may change them deliberately.
type Optimizer interface {
	// Step applies one update with learning rate lr (finite, >= 0).
	Step(params []*nn.Param, lr float64) error
	// State serialises the slots for a checkpoint.
	State() ([]byte, error)
	// SetState replaces the slots with a checkpoint's. The first Step
	// afterwards must present exactly the checkpoint's parameter names and
	// sizes, so a checkpoint of another model is an error, not a silent
	// fresh start.
	SetState(data []byte) error
	// Name identifies the algorithm ("sgd", "rmsprop", "adam"); checkpoints
	// record it so one optimizer's state cannot be loaded into another.
	Name() string
}

// ZeroGrad sets every gradient to zero, ready for the next backward pass
// (Step leaves gradients untouched). Nil parameters are skipped.
func ZeroGrad(params []*nn.Param) {
	for _, p := range params {
		if p != nil {
			clear(p.Grad)
		}
	}
}

// DecayMode selects how weight decay enters the update.
type DecayMode int

const (
	// L2 adds WeightDecay*w to the gradient before the optimizer sees it.
	// This is L2 regularisation of the loss (0.5*wd*||w||^2) as TF-Slim's
	// l2_regularizer does it, which is how the MobileNets were trained
	// (weight_decay 4e-5), so it is the default. With adaptive optimizers
	// (RMSProp, Adam) the decay term is rescaled like any other gradient.
	L2 DecayMode = iota
	// Decoupled shrinks the weights directly, w -= lr*WeightDecay*w, before
	// the gradient update and outside any moment estimate (Loshchilov and
	// Hutter, "Decoupled Weight Decay Regularization", 2019; with Adam this
	// is AdamW). The shrink is scaled by the scheduled lr, as in PyTorch's
	// AdamW, so WeightDecay values from PyTorch recipes carry over.
	Decoupled
)

// String names the mode for logs and errors.
func (m DecayMode) String() string {
	switch m {
	case L2:
		return "l2"
	case Decoupled:
		return "decoupled"
	}
	return fmt.Sprintf("DecayMode(%d)", int(m))
}

// decay is the weight-decay setting every optimizer shares.
type decay struct {
	rate float32
	mode DecayMode
}

func newDecay(rate float64, mode DecayMode) (decay, error) {
	if err := checkNonNeg("weight decay", rate); err != nil {
		return decay{}, err
	}
	if mode != L2 && mode != Decoupled {
		return decay{}, fmt.Errorf("optim: unknown weight-decay mode %d", int(mode))
	}
	return decay{rate: float32(rate), mode: mode}, nil
}

// grad returns the gradient the update rule sees for element i: the raw
// gradient plus the L2 term when it applies to p.
func (d decay) grad(p *nn.Param, i int) float32 {
	g := p.Grad[i]
	if d.mode == L2 && d.rate != 0 && !p.NoDecay {
		g += float32(d.rate * p.Data[i])
	}
	return g
}

// shrink applies decoupled decay to p in place (a no-op in L2 mode or for
// NoDecay parameters).
func (d decay) shrink(p *nn.Param, lr float32) {
	if d.mode != Decoupled || d.rate == 0 || p.NoDecay {
		return
	}
	f := 1 - float32(lr*d.rate)
	for i := range p.Data {
		p.Data[i] = float32(f * p.Data[i])
	}
}

func checkFinite(what string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("optim: %s must be finite, got %v", what, v)
	}
	return nil
}

func checkNonNeg(what string, v float64) error {
	if err := checkFinite(what, v); err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("optim: %s must be >= 0, got %v", what, v)
	}
	return nil
}

// checkUnit requires v in [0, 1): a decay or momentum of 1 or more never
// forgets and makes the update grow without bound.
func checkUnit(what string, v float64) error {
	if err := checkNonNeg(what, v); err != nil {
		return err
	}
	if v >= 1 {
		return fmt.Errorf("optim: %s must be < 1, got %v", what, v)
	}
	return nil
}

func checkPositive(what string, v float64) error {
	if err := checkNonNeg(what, v); err != nil {
		return err
	}
	if v == 0 {
		return fmt.Errorf("optim: %s must be > 0", what)
	}
	return nil
}

// slot holds one parameter's optimizer state.
type slot struct {
	vecs  [][]float32 // one vector per slot kind, each len(Param.Data)
	steps int64       // updates applied to this parameter (Adam's t)
}

// slotStore is the per-parameter state shared by all optimizers: named
// vectors per parameter, created lazily, and their serialisation.
type slotStore struct {
	kind  string    // optimizer Name, recorded in checkpoints
	names []string  // slot kinds, e.g. {"rms", "momentum"}
	init  []float32 // initial value of each kind
	slots map[string]*slot
	// restored is set by SetState and cleared by the next successful Step,
	// which must then match the checkpoint's parameters exactly.
	restored bool
}

func newSlotStore(kind string, names []string, init []float32) slotStore {
	return slotStore{kind: kind, names: names, init: init, slots: map[string]*slot{}}
}

// prepare validates params and lr and returns each parameter's slot,
// creating missing ones. Nothing is modified unless validation succeeds.
func (s *slotStore) prepare(params []*nn.Param, lr float64) ([]*slot, error) {
	if err := checkNonNeg("learning rate", lr); err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(params))
	for i, p := range params {
		if p == nil {
			return nil, fmt.Errorf("optim: parameter %d is nil", i)
		}
		if p.Name == "" {
			return nil, fmt.Errorf("optim: parameter %d has no name; slots are keyed by name", i)
		}
		if seen[p.Name] {
			return nil, fmt.Errorf("optim: parameter name %q appears twice", p.Name)
		}
		seen[p.Name] = true
		if len(p.Grad) != len(p.Data) {
			return nil, fmt.Errorf("optim: parameter %q has %d values but %d gradients", p.Name, len(p.Data), len(p.Grad))
		}
		if sl, ok := s.slots[p.Name]; ok {
			if n := len(sl.vecs[0]); n != len(p.Data) {
				return nil, fmt.Errorf("optim: parameter %q has %d values but its optimizer state has %d", p.Name, len(p.Data), n)
			}
		} else if s.restored {
			return nil, fmt.Errorf("optim: parameter %q is not in the restored optimizer state", p.Name)
		}
	}
	if s.restored {
		for _, name := range s.sortedNames() {
			if !seen[name] {
				return nil, fmt.Errorf("optim: restored optimizer state has parameter %q, which Step was not given", name)
			}
		}
	}
	out := make([]*slot, len(params))
	for i, p := range params {
		sl, ok := s.slots[p.Name]
		if !ok {
			sl = &slot{vecs: make([][]float32, len(s.names))}
			for k := range s.names {
				v := make([]float32, len(p.Data))
				if s.init[k] != 0 {
					for j := range v {
						v[j] = s.init[k]
					}
				}
				sl.vecs[k] = v
			}
			s.slots[p.Name] = sl
		}
		out[i] = sl
	}
	s.restored = false
	return out, nil
}

func (s *slotStore) sortedNames() []string {
	names := make([]string, 0, len(s.slots))
	for n := range s.slots {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// stateFormat versions the checkpoint encoding.
const stateFormat = 1

// encodedState is the checkpoint form of a slotStore. Parameters are sorted
// by name so equal states encode to equal bytes.
type encodedState struct {
	Format int
	Kind   string
	Slots  []string
	Params []encodedParam
}

type encodedParam struct {
	Name   string
	Steps  int64
	Values [][]float32
}

func (s *slotStore) state() ([]byte, error) {
	es := encodedState{Format: stateFormat, Kind: s.kind, Slots: s.names}
	for _, name := range s.sortedNames() {
		sl := s.slots[name]
		es.Params = append(es.Params, encodedParam{Name: name, Steps: sl.steps, Values: sl.vecs})
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(es); err != nil {
		return nil, fmt.Errorf("optim: encoding %s state: %w", s.kind, err)
	}
	return buf.Bytes(), nil
}

// adopt checks a restored state against the full parameter set of a
// caller that steps subsets of it, and lets the next Step take a subset.
func (s *slotStore) adopt(params []*nn.Param) error {
	size := make(map[string]int, len(params))
	for _, p := range params {
		if p != nil {
			size[p.Name] = len(p.Data)
		}
	}
	for _, name := range s.sortedNames() {
		n, ok := size[name]
		if !ok {
			return fmt.Errorf("optim: the optimizer state has parameter %q, which the model does not have", name)
		}
		if m := len(s.slots[name].vecs[0]); m != n {
			return fmt.Errorf("optim: parameter %q has %d values but its optimizer state has %d", name, n, m)
		}
	}
	s.restored = false
	return nil
}

func (s *slotStore) setState(data []byte) error {
	if len(data) == 0 {
		return errors.New("optim: empty optimizer state")
	}
	var es encodedState
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&es); err != nil {
		return fmt.Errorf("optim: decoding %s state: %w", s.kind, err)
	}
	if es.Format != stateFormat {
		return fmt.Errorf("optim: optimizer state format %d, want %d", es.Format, stateFormat)
	}
	if es.Kind != s.kind {
		return fmt.Errorf("optim: optimizer state is for %q, not %q", es.Kind, s.kind)
	}
	if !slices.Equal(es.Slots, s.names) {
		return fmt.Errorf("optim: %s state has slots %q, want %q", s.kind, es.Slots, s.names)
	}
	slots := make(map[string]*slot, len(es.Params))
	for _, ep := range es.Params {
		if ep.Name == "" {
			return errors.New("optim: optimizer state has a parameter with no name")
		}
		if _, dup := slots[ep.Name]; dup {
			return fmt.Errorf("optim: optimizer state has parameter %q twice", ep.Name)
		}
		if ep.Steps < 0 {
			return fmt.Errorf("optim: optimizer state has %d steps for %q", ep.Steps, ep.Name)
		}
		if len(ep.Values) != len(s.names) {
			return fmt.Errorf("optim: optimizer state has %d slots for %q, want %d", len(ep.Values), ep.Name, len(s.names))
		}
		vecs := make([][]float32, len(s.names))
		for k, v := range ep.Values {
			if len(v) != len(ep.Values[0]) {
				return fmt.Errorf("optim: optimizer state for %q has slots of different sizes", ep.Name)
			}
			vecs[k] = append(make([]float32, 0, len(v)), v...)
		}
		slots[ep.Name] = &slot{vecs: vecs, steps: ep.Steps}
	}
	s.slots = slots
	s.restored = true
	return nil
}

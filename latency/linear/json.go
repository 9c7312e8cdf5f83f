package linear

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"

	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/space"
)

// FileFormat identifies the JSON form of a fitted model, so that a
// future layout can be told apart.
const FileFormat = "fleetnas-linear-model/1"

// Fingerprint is a digest of a space's name and decisions (names and
// choices, in order). A saved model records it because its weights are
// positional: loaded against a space whose decisions were renamed,
// reordered or given another choice, the same numbers would price the
// wrong ops without any error.
func Fingerprint(spaceName string, decisions []space.Decision) string {
	h := sha256.New()
	// Lengths before strings make the encoding unambiguous whatever the
	// names contain.
	fmt.Fprintf(h, "%d:%s;%d;", len(spaceName), spaceName, len(decisions))
	for _, d := range decisions {
		fmt.Fprintf(h, "%d:%s;%d;", len(d.Name), d.Name, len(d.Choices))
		for _, c := range d.Choices {
			fmt.Fprintf(h, "%d:%s;", len(c), c)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// modelJSON is the saved form of a Model.
type modelJSON struct {
	Format      string  `json:"format"`
	Space       string  `json:"space"`
	Fingerprint string  `json:"decisions_sha256"`
	Options     Options `json:"options"`
	// Measurements is how many networks the model was fit on.
	Measurements int               `json:"measurements"`
	Accuracy     *latency.Accuracy `json:"accuracy,omitempty"`
	// Bias and Weights are in ms, or log ms when Options.Log; Weights
	// follow the Features order: per decision, one weight per choice
	// after the first, then (pairwise) per adjacent pair of decisions,
	// one weight per (choice of the first, choice of the second), both
	// after the first, the second choice varying fastest.
	Bias    float64   `json:"bias"`
	Weights []float64 `json:"weights"`
}

// Save writes the model as JSON.
func (m *Model) Save(w io.Writer) error {
	j := modelJSON{
		Format:       FileFormat,
		Space:        m.spaceName,
		Fingerprint:  m.fingerprint,
		Options:      m.opt,
		Measurements: m.nTrain,
		Bias:         m.bias,
		Weights:      m.w,
	}
	if m.Accuracy.N > 0 {
		acc := m.Accuracy
		j.Accuracy = &acc
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(j)
}

// Load reads a model saved by Save and binds it to sp, which must be the
// space it was fit for, with the same decisions.
func Load(r io.Reader, sp space.Space) (*Model, error) {
	if sp == nil {
		return nil, fmt.Errorf("linear: load: no search space to bind the model to")
	}
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields() // a misspelt option must not be silently dropped
	var j modelJSON
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("linear: load: %w", err)
	}
	if j.Format != FileFormat {
		return nil, fmt.Errorf("linear: load: format %q, want %q", j.Format, FileFormat)
	}
	if j.Space != sp.Name() {
		return nil, fmt.Errorf("linear: load: the model was fit for space %q, not %q", j.Space, sp.Name())
	}
	ds := sp.Decisions()
	if fp := Fingerprint(sp.Name(), ds); j.Fingerprint != fp {
		return nil, fmt.Errorf("linear: load: the decisions of space %q differ from those the model was fit on (fingerprint %.12s…, space has %.12s…); refit it", sp.Name(), j.Fingerprint, fp)
	}
	opt, err := j.Options.normalized()
	if err != nil {
		return nil, fmt.Errorf("linear: load: %w", err)
	}
	feat, err := NewFeatures(opt.Kind, ds)
	if err != nil {
		return nil, fmt.Errorf("linear: load: %w", err)
	}
	if len(j.Weights) != feat.Dim() {
		return nil, fmt.Errorf("linear: load: %d weights, a %s model of space %q has %d", len(j.Weights), opt.Kind, sp.Name(), feat.Dim())
	}
	if math.IsNaN(j.Bias) || math.IsInf(j.Bias, 0) {
		return nil, fmt.Errorf("linear: load: the bias is not finite")
	}
	for i, v := range j.Weights {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("linear: load: weight %d is not finite", i)
		}
	}
	if j.Measurements < 0 {
		return nil, fmt.Errorf("linear: load: negative measurement count %d", j.Measurements)
	}
	m := &Model{
		spaceName:   sp.Name(),
		fingerprint: j.Fingerprint,
		feat:        feat,
		opt:         opt,
		bias:        j.Bias,
		w:           j.Weights,
		nTrain:      j.Measurements,
	}
	if j.Accuracy != nil {
		m.Accuracy = *j.Accuracy
	}
	return m, nil
}

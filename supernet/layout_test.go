package supernet

import (
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/space"
)

// editedMobile is multihw with its structure passed through edit, to give
// the layout structures that do not fit the space.
type editedMobile struct {
	space.Space
	edit func(*space.MobileStructure)
}

func (e editedMobile) Structure() space.MobileStructure {
	m := e.Space.(space.Mobile).Structure()
	if e.edit != nil {
		e.edit(&m)
	}
	return m
}

// TestLayoutAnyMobile: the supernet takes any space.Mobile, not only the
// concrete multihw value, and refuses other spaces by name.
func TestLayoutAnyMobile(t *testing.T) {
	sp := editedMobile{Space: multihw(t)}
	s, err := New(sp, Config{Resolution: testRes, Classes: 3, ProxyWidth: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	x, labels := randomBatch(s, 4, 1)
	for _, c := range space.Sample(sp, 3, 1) {
		if _, _, err := s.Gradients(x, labels, c); err != nil {
			t.Fatal(err)
		}
	}
	nb, err := space.Get("nb201")
	if err != nil {
		t.Fatal(err)
	}
	want := `supernet: search space "nb201" is not supported: `
	if err := Supported(nb); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("nb201: got %v, want an error starting %q", err, want)
	}
}

// TestLayoutRejectsBadStructures: a structure that does not cover the
// space's decisions one to one, or has choices the supernet cannot share
// weights between, is refused with an error naming the decision.
func TestLayoutRejectsBadStructures(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*space.MobileStructure)
		want string
	}{
		{"missing stage", func(m *space.MobileStructure) { m.Stages = m.Stages[:4] }, "decision stage5/width is not part of the space's structure"},
		{"decision twice", func(m *space.MobileStructure) { m.Stages[1].Width = m.Stages[0].Width }, "decision stage1/width appears twice in the structure, the second time as the stage 2 width"},
		{"out of range", func(m *space.MobileStructure) { m.Stages[0].Layers[0].Decision = 99 }, "the stage 1 layer 1 decision is 99"},
		{"choice count", func(m *space.MobileStructure) { m.StemWidth.Choices = m.StemWidth.Choices[1:] }, "decision stem/width (the stem width) has 4 choices, the structure gives 3"},
		{"zero width", func(m *space.MobileStructure) { m.Stages[2].Width.Choices[0] = 0 }, "stage3/width: width choice 0 is 0 channels"},
		{"sep never on", func(m *space.MobileStructure) { m.StemSep.Choices = []bool{false, false} }, "no choice that turns the stem's separable conv on"},
		{"sep on twice", func(m *space.MobileStructure) { m.StemSep.Choices = []bool{true, true} }, "with two choices, 0 and 1"},
		{"even kernel", func(m *space.MobileStructure) { m.Stages[3].Layers[2].Choices[1].Kernel = 4 }, "stage4/layer3: choice 1 is k4e1"},
		{"only skips", func(m *space.MobileStructure) {
			for i := range m.Stages[4].Layers[3].Choices {
				m.Stages[4].Layers[3].Choices[i] = space.MobileOp{Skip: true}
			}
		}, "stage5/layer4 has only skips"},
	} {
		err := Supported(editedMobile{Space: multihw(t), edit: c.edit})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

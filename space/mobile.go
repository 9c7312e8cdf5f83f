package space

import (
	"fmt"
	"slices"
)

// OneOf is one decision of a space with the typed value each of its
// choices stands for, as TuNAS's basic_specs.OneOf: a consumer that needs
// to know what a choice means (a channel count, an op) reads it here
// instead of parsing the choice's name.
type OneOf[T any] struct {
	// Decision is the decision's index in the choice vector, and in
	// Space.Decisions.
	Decision int
	// Choices holds the value of each choice, in choice order: choice c
	// of the decision means Choices[c].
	Choices []T
}

// Value returns the value a choice vector picks for the decision. Like an
// index expression it panics on a vector that is too short or a choice out
// of range; Check a vector before reading it.
func (o OneOf[T]) Value(choice []int) T { return o.Choices[choice[o.Decision]] }

// clone copies the choices, so that a caller cannot edit the space's own.
func (o OneOf[T]) clone() OneOf[T] {
	o.Choices = slices.Clone(o.Choices)
	return o
}

// MobileOp is what one layer choice of a MobileNet-style space builds: an
// inverted bottleneck, or nothing when the layer is skipped.
type MobileOp struct {
	// Skip is true when the choice leaves the layer out; Kernel and
	// Expansion are then zero.
	Skip bool
	// Kernel is the side of the depthwise kernel.
	Kernel int
	// Expansion multiplies the layer's input width to give the width of
	// its expanded features (arch.Block.Expansion).
	Expansion int
}

// String is the op's name in canonical strings: "skip", or
// k<kernel>e<expansion> as in "k5e3".
func (o MobileOp) String() string {
	if o.Skip {
		return "skip"
	}
	return fmt.Sprintf("k%de%d", o.Kernel, o.Expansion)
}

// MobileStage is one stage of a MobileStructure: a run of inverted
// bottlenecks with one width.
type MobileStage struct {
	// Stride of the stage's first layer; every other layer has stride 1.
	// The first layer never skips, since it carries the stride.
	Stride int
	// Width chooses the output channel count of every layer of the stage.
	Width OneOf[int]
	// Layers chooses the op of each layer, in network order.
	Layers []OneOf[MobileOp]
}

// MobileStructure describes every network of a Mobile space by its
// decisions, each with the typed value of its choices. The network of a
// choice vector is, block by block:
//
//   - the stem: a StemKernel x StemKernel conv with stride StemStride and
//     StemWidth output channels;
//   - when StemSep is true, a residual depthwise-separable conv with a
//     SepKernel x SepKernel depthwise kernel, stride 1, StemWidth channels;
//   - for each stage in order, one inverted bottleneck (arch.IBN) per layer
//     whose op is not a skip, with the op's kernel and expansion, the
//     stage's width, and the stage's stride on the first layer (1 on the
//     others); residual where arch's default rule allows it (stride 1,
//     equal widths);
//   - the head: a 1x1 conv to HeadWidth channels, global average pooling,
//     a 1x1 conv to FinalWidth channels, and the classifier (a dense layer
//     to Options.Classes outputs).
//
// Every decision of the space appears exactly once in the structure.
type MobileStructure struct {
	// StemKernel and StemStride are the fixed kernel and stride of the
	// stem conv.
	StemKernel, StemStride int
	// StemWidth chooses the channel count of the stem and its separable
	// conv.
	StemWidth OneOf[int]
	// StemSep chooses whether the separable conv follows the stem conv.
	StemSep OneOf[bool]
	// SepKernel is the fixed depthwise kernel of the stem's separable
	// conv.
	SepKernel int
	// Stages in network order.
	Stages []MobileStage
	// HeadWidth and FinalWidth are the fixed channel counts of the head's
	// 1x1 convs before and after the global pooling.
	HeadWidth, FinalWidth int
}

// clone copies every choice list, so that a caller cannot edit the
// space's own structure through the one it was given.
func (m MobileStructure) clone() MobileStructure {
	m.StemWidth = m.StemWidth.clone()
	m.StemSep = m.StemSep.clone()
	stages := make([]MobileStage, len(m.Stages))
	for i, st := range m.Stages {
		st.Width = st.Width.clone()
		layers := make([]OneOf[MobileOp], len(st.Layers))
		for j, l := range st.Layers {
			layers[j] = l.clone()
		}
		st.Layers = layers
		stages[i] = st
	}
	m.Stages = stages
	return m
}

// Mobile is a space whose networks all have the shape MobileStructure
// describes: multihw. It is what weight sharing needs to know which block
// of two candidates is the same slot and what a choice changes in it.
// mnv3like, proxyless and ofa are not Mobile spaces: mnv3like's stem
// kernel, squeeze-excite and head width decisions, and the fixed first
// block of proxyless and ofa, have no place in the structure.
type Mobile interface {
	Space
	// Structure returns the space's structure; the result is a copy the
	// caller may keep and change.
	Structure() MobileStructure
}

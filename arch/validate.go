package arch

import (
	"fmt"
	"math"
	"strings"
)

// Validate checks every block's fields and then the shapes at the
// network's native resolution. The first problem is returned as a
// *BlockError (or a plain error for network-level fields).
func (n *Network) Validate() error {
	if err := n.validateFields(); err != nil {
		return err
	}
	_, err := n.Lower(0)
	return err
}

// MaxInputChannels bounds a network's input channels: images have 1 to 4,
// multispectral ones a few dozen; more is a mistake, not an image.
const MaxInputChannels = 64

func (n *Network) validateFields() error {
	if n.Format != "" && n.Format != Format {
		return fmt.Errorf("field \"format\": %q is not supported (want %q)", n.Format, Format)
	}
	if n.Resolution <= 0 {
		return fmt.Errorf("field \"resolution\": must be a positive number of pixels, got %d", n.Resolution)
	}
	if n.Resolution > 8192 {
		return fmt.Errorf("field \"resolution\": %d is larger than the 8192 supported", n.Resolution)
	}
	if n.InputChannels < 0 || n.InputChannels > MaxInputChannels {
		return fmt.Errorf("field \"input_channels\": must be in 1..%d, got %d", MaxInputChannels, n.InputChannels)
	}
	if n.Divisor < 0 || n.Divisor > 64 {
		return fmt.Errorf("field \"divisor\": must be in 1..64, got %d", n.Divisor)
	}
	if len(n.Blocks) == 0 {
		return fmt.Errorf("field \"blocks\": a network needs at least one block")
	}
	for i := range n.Blocks {
		if err := n.Blocks[i].validate(i); err != nil {
			return err
		}
	}
	return nil
}

func (b *Block) validate(i int) error {
	bad := func(field, format string, args ...any) error {
		return &BlockError{Index: i, Type: b.Type, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	allowed, ok := fieldsOf[b.Type]
	if !ok {
		if b.Type == "" {
			return &BlockError{Index: i, Field: "type", Msg: "missing; one of " + kindNames()}
		}
		return &BlockError{Index: i, Field: "type", Msg: fmt.Sprintf("unknown block type %q; one of %s", b.Type, kindNames())}
	}
	for _, f := range b.setFields() {
		if !contains(allowed, f) {
			return bad(f, "does not apply to a %s block (its fields: %s)", b.Type, strings.Join(FieldsOf(b.Type), ", "))
		}
	}
	needs := func(field string, ok bool, msg string) error {
		if !ok {
			return bad(field, "%s", msg)
		}
		return nil
	}
	checkKernel := func(field string, k int, required bool) error {
		switch {
		case k == 0 && required:
			return bad(field, "required: a positive odd kernel size")
		case k == 0:
			return nil
		case k < 0 || k > 15:
			return bad(field, "must be in 1..15, got %d", k)
		case k%2 == 0:
			return bad(field, "must be odd ('same' padding needs a centre), got %d", k)
		}
		return nil
	}
	checkRatio := func(field string, r float64, lo, hi float64) error {
		if math.IsNaN(r) || math.IsInf(r, 0) || r < lo || r > hi {
			return bad(field, "must be in %g..%g, got %g", lo, hi, r)
		}
		return nil
	}
	if b.Stride < 0 {
		return bad("stride", "must be 1 or 2, got %d", b.Stride)
	}
	if b.Filters < 0 {
		return bad("filters", "must be positive, got %d", b.Filters)
	}
	if b.Activation != noneGiven && !validActivation(b.Activation) {
		return bad("activation", "unknown activation %q; one of %s", b.Activation, activationNames())
	}
	if b.Groups < 0 || b.Groups > 64 {
		return bad("groups", "must be in 1..64, got %d", b.Groups)
	}
	hasAct := b.Type != GlobalPool && b.Type != FC && b.Type != Cell && b.Type != ResBasic && b.Type != MHSA
	if hasAct && b.Activation == noneGiven {
		return bad("activation", "required; one of %s", activationNames())
	}
	needFilters := b.Type != GlobalPool && b.Type != Cell && b.Type != MHSA && b.Type != BatchNorm
	if needFilters && b.Filters == 0 {
		return bad("filters", "required: the number of output channels (must be positive)")
	}
	if b.Filters > 1<<16 {
		return bad("filters", "%d is more than the 65536 supported", b.Filters)
	}
	switch b.Type {
	case Conv:
		if err := checkKernel("kernel", b.Kernel, true); err != nil {
			return err
		}
		if s := b.StrideOrOne(); s > b.Kernel && s > 2 {
			return bad("stride", "must be at most the kernel size %d, got %d", b.Kernel, s)
		}
		if b.StrideOrOne() > 8 {
			return bad("stride", "must be in 1..8, got %d", b.Stride)
		}
	case DWSep, IBN, FusedIBN, Tucker:
		if err := checkKernel("kernel", b.Kernel, true); err != nil {
			return err
		}
		if b.StrideOrOne() > 2 {
			return bad("stride", "must be 1 or 2, got %d", b.Stride)
		}
	case UIB, ResBasic:
		if b.StrideOrOne() > 2 {
			return bad("stride", "must be 1 or 2, got %d", b.Stride)
		}
	}
	switch b.Type {
	case IBN, FusedIBN, UIB:
		if err := needs("expansion", b.Expansion != 0, "required: the expanded width relative to the input channels (e.g. 6)"); err != nil {
			return err
		}
		if err := checkRatio("expansion", b.Expansion, 0.01, 64); err != nil {
			return err
		}
	}
	if b.SERatio != 0 {
		if err := checkRatio("se_ratio", b.SERatio, 1e-6, 1); err != nil {
			return err
		}
	}
	if b.SEGate != noneGiven {
		if b.SERatio == 0 {
			return bad("se_gate", "set without se_ratio")
		}
		if b.SEGate != HSigmoid && b.SEGate != Sigmoid {
			return bad("se_gate", "must be hsigmoid or sigmoid, got %q", b.SEGate)
		}
	}
	if b.Groups > 1 && b.Type == IBN && b.Filters%b.Groups != 0 {
		return bad("groups", "%d groups do not divide the %d output channels", b.Groups, b.Filters)
	}
	if b.Groups > 1 && b.Type == Conv && b.Filters%b.Groups != 0 {
		return bad("groups", "%d groups do not divide the %d output channels", b.Groups, b.Filters)
	}
	switch b.Type {
	case Tucker:
		if err := needs("input_ratio", b.InputRatio != 0, "required: the compressed width relative to the input channels"); err != nil {
			return err
		}
		if err := checkRatio("input_ratio", b.InputRatio, 0.01, 64); err != nil {
			return err
		}
		if err := needs("output_ratio", b.OutputRatio != 0, "required: the kxk conv's width relative to filters"); err != nil {
			return err
		}
		if err := checkRatio("output_ratio", b.OutputRatio, 0.01, 64); err != nil {
			return err
		}
	case UIB:
		for _, f := range []struct {
			name string
			k    int
		}{{"start_dw", b.StartDW}, {"middle_dw", b.MiddleDW}, {"end_dw", b.EndDW}} {
			if err := checkKernel(f.name, f.k, false); err != nil {
				return err
			}
		}
		if b.StrideOrOne() > 1 {
			if b.StartDWDownsample && b.StartDW == 0 {
				return bad("start_dw", "stride %d is applied by the start depthwise (start_dw_downsample), which is absent", b.Stride)
			}
			if !b.StartDWDownsample && b.MiddleDW == 0 {
				return bad("middle_dw", "stride %d is applied by the middle depthwise, which is absent (set middle_dw, or start_dw with start_dw_downsample)", b.Stride)
			}
		}
	case MHSA:
		if b.Heads <= 0 || b.Heads > 256 {
			return bad("heads", "required: the number of heads (1..256), got %d", b.Heads)
		}
		if b.KeyDim <= 0 || b.KeyDim > 4096 {
			return bad("key_dim", "required: the per-head key width (1..4096), got %d", b.KeyDim)
		}
		if b.ValueDim <= 0 || b.ValueDim > 4096 {
			return bad("value_dim", "required: the per-head value width (1..4096), got %d", b.ValueDim)
		}
		if b.KVStride < 0 || b.KVStride > 4 {
			return bad("kv_stride", "must be in 1..4, got %d", b.KVStride)
		}
		if err := checkKernel("kv_kernel", b.KVKernel, false); err != nil {
			return err
		}
		if b.KVKernel != 0 && b.KVStride <= 1 {
			return bad("kv_kernel", "only used with kv_stride > 1")
		}
	case Cell:
		if len(b.Ops) != 6 {
			return bad("ops", "a NAS-Bench-201 cell has 6 edges (0->1, 0->2, 1->2, 0->3, 1->3, 2->3), got %d ops", len(b.Ops))
		}
		for j, op := range b.Ops {
			if !contains(cellOps, op) {
				return bad("ops", "edge %d: unknown op %q; one of %s", j, op, strings.Join(cellOps, ", "))
			}
		}
	}
	return nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

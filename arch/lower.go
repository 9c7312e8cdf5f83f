package arch

import (
	"fmt"
	"math"
	"strconv"
)

// Lower validates the network's fields and lowers it at the given input
// resolution (0 = the network's own) into primitive layers with inferred
// shapes. Shapes that do not fit (an fc on a 7x7 map, a cell whose filters
// differ from its input, a residual that was required but cannot apply)
// give a *BlockError.
func (n *Network) Lower(resolution int) (*Graph, error) {
	if err := n.validateFields(); err != nil {
		return nil, err
	}
	if resolution == 0 {
		resolution = n.Resolution
	}
	if resolution <= 0 || resolution > 8192 {
		return nil, fmt.Errorf("resolution must be in 1..8192 pixels, got %d", resolution)
	}
	l := &lowerer{g: &Graph{Network: n, Resolution: resolution}, div: n.Div()}
	cur := l.tensor(Shape{resolution, resolution, n.InChannels()})
	for i := range n.Blocks {
		b := &n.Blocks[i]
		l.block, l.b = i, b
		out, err := l.lowerBlock(cur)
		if err != nil {
			return nil, err
		}
		cur = out
		l.g.BlockOut = append(l.g.BlockOut, cur)
	}
	return l.g, nil
}

type lowerer struct {
	g     *Graph
	div   int
	block int
	b     *Block
}

func (l *lowerer) fail(field, format string, args ...any) error {
	return &BlockError{Index: l.block, Type: l.b.Type, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (l *lowerer) tensor(s Shape) int {
	l.g.Tensors = append(l.g.Tensors, s)
	return len(l.g.Tensors) - 1
}

func (l *lowerer) shape(t int) Shape { return l.g.Tensors[t] }

// add appends a layer reading inputs and writing a new tensor of shape out.
func (l *lowerer) add(ly Layer, out Shape, inputs ...int) int {
	ly.Block = l.block
	ly.Name = strconv.Itoa(l.block) + "." + ly.Part // hot in exhaustive searches: no fmt
	ly.In = l.shape(inputs[0])
	ly.Out = out
	ly.Inputs = inputs
	ly.Output = l.tensor(out)
	if ly.Activation == noneGiven {
		ly.Activation = Identity
	}
	l.g.Layers = append(l.g.Layers, ly)
	return ly.Output
}

func down(x, s int) int { return (x + s - 1) / s } // 'same' padding

func (l *lowerer) conv(part string, in, k, stride, filters, groups int, act Activation, bn, bias bool) int {
	s := l.shape(in)
	if groups == 0 {
		groups = 1
	}
	return l.add(Layer{Part: part, Op: OpConv, Kernel: k, Stride: stride, Groups: groups, Activation: act, BN: bn, Bias: bias},
		Shape{down(s.H, stride), down(s.W, stride), filters}, in)
}

func (l *lowerer) dw(part string, in, k, stride int, act Activation, bn bool) int {
	s := l.shape(in)
	return l.add(Layer{Part: part, Op: OpDepthwise, Kernel: k, Stride: stride, Groups: s.C, Activation: act, BN: bn},
		Shape{down(s.H, stride), down(s.W, stride), s.C}, in)
}

// se lowers squeeze-excite on tensor x: pool, reduce, relu, expand, gate, scale.
func (l *lowerer) se(x int) int {
	c := l.shape(x).C
	red := MakeDivisible(math.Max(1, float64(int(float64(c)*l.b.SERatio))), l.div, 0)
	gate := l.b.SEGate
	if gate == noneGiven {
		gate = HSigmoid
	}
	p := l.add(Layer{Part: "se.pool", Op: OpGlobalPool}, Shape{1, 1, c}, x)
	r := l.conv("se.reduce", p, 1, 1, red, 1, ReLU, false, true)
	e := l.conv("se.expand", r, 1, 1, c, 1, gate, false, true)
	return l.add(Layer{Part: "se.scale", Op: OpMul}, l.shape(x), x, e)
}

// residual adds the block input when the block's residual rule allows it.
func (l *lowerer) residual(in, out int, defaultOn bool) (int, error) {
	si, so := l.shape(in), l.shape(out)
	fits := si == so
	want := boolOr(l.b.Residual, defaultOn)
	if !want {
		return out, nil
	}
	if !fits {
		if l.b.Residual != nil {
			return 0, l.fail("residual", "a residual needs stride 1 and input channels == filters; input %s, output %s", si, so)
		}
		return out, nil
	}
	return l.add(Layer{Part: "residual", Op: OpAdd}, so, out, in), nil
}

func (l *lowerer) lowerBlock(in int) (int, error) {
	b := l.b
	s := l.shape(in)
	stride := b.StrideOrOne()
	bn := b.HasBN()
	if s.H < 1 || s.W < 1 {
		return 0, l.fail("", "input is empty (%s)", s)
	}
	if s.H == 1 && s.W == 1 && stride > 1 {
		// 'same' padding keeps 1x1 at 1x1, but a downsampling block on a
		// 1x1 map means the network was written for a larger input.
		return 0, l.fail("stride", "stride %d on a 1x1 input: the input resolution %d is too small for this network", stride, l.g.Resolution)
	}
	switch b.Type {
	case Conv:
		if b.Groups > 1 && s.C%b.Groups != 0 {
			return 0, l.fail("groups", "%d groups do not divide the %d input channels", b.Groups, s.C)
		}
		return l.conv("conv", in, b.Kernel, stride, b.Filters, b.Groups, b.Activation, bn, b.HasBias()), nil
	case DWSep:
		x := l.dw("depthwise", in, b.Kernel, stride, b.Activation, bn)
		x = l.conv("project", x, 1, 1, b.Filters, 1, b.Activation, bn, false)
		return l.residual(in, x, false)
	case IBN:
		x := in
		exp := s.C
		if b.Expansion > 1 || b.ExpandAlways {
			exp = MakeDivisible(float64(s.C)*b.Expansion, l.div, 0)
			g := max(b.Groups, 1)
			if s.C%g != 0 || exp%g != 0 {
				return 0, l.fail("groups", "%d groups do not divide the input (%d) and expanded (%d) channels", g, s.C, exp)
			}
			x = l.conv("expand", x, 1, 1, exp, g, b.Activation, true, false)
			if g > 1 {
				x = l.add(Layer{Part: "shuffle", Op: OpShuffle, Groups: g}, l.shape(x), x)
			}
		}
		x = l.dw("depthwise", x, b.Kernel, stride, b.Activation, true)
		if b.SERatio > 0 {
			x = l.se(x)
		}
		g := max(b.Groups, 1)
		if exp%g != 0 {
			return 0, l.fail("groups", "%d groups do not divide the %d expanded channels", g, exp)
		}
		x = l.conv("project", x, 1, 1, b.Filters, g, Identity, true, false)
		return l.residual(in, x, true)
	case FusedIBN:
		x := in
		if b.Expansion > 1 {
			exp := MakeDivisible(float64(s.C)*b.Expansion, l.div, 0)
			x = l.conv("expand", x, b.Kernel, stride, exp, 1, b.Activation, true, false)
		} else if stride > 1 {
			// Model Garden skips the kxk conv at ratio <= 1, so nothing
			// would apply the stride.
			return 0, l.fail("expansion", "a fused_ibn with expansion <= 1 has no kxk conv, so it cannot apply stride %d", stride)
		}
		if b.SERatio > 0 {
			x = l.se(x)
		}
		x = l.conv("project", x, 1, 1, b.Filters, 1, Identity, true, false)
		return l.residual(in, x, true)
	case Tucker:
		c1 := MakeDivisible(float64(s.C)*b.InputRatio, l.div, 0)
		c2 := MakeDivisible(float64(b.Filters)*b.OutputRatio, l.div, 0)
		x := l.conv("compress", in, 1, 1, c1, 1, b.Activation, true, false)
		x = l.conv("conv", x, b.Kernel, stride, c2, 1, b.Activation, true, false)
		x = l.conv("project", x, 1, 1, b.Filters, 1, Identity, true, false)
		return l.residual(in, x, true)
	case UIB:
		x := in
		if b.StartDW > 0 {
			st := 1
			if b.StartDWDownsample {
				st = stride
			}
			x = l.dw("start_dw", x, b.StartDW, st, Identity, true)
		}
		exp := MakeDivisible(float64(s.C)*b.Expansion, l.div, 0)
		x = l.conv("expand", x, 1, 1, exp, 1, b.Activation, true, false)
		if b.MiddleDW > 0 {
			st := stride
			if b.StartDWDownsample {
				st = 1
			}
			x = l.dw("middle_dw", x, b.MiddleDW, st, b.Activation, true)
		}
		x = l.conv("project", x, 1, 1, b.Filters, 1, Identity, true, false)
		if b.EndDW > 0 {
			x = l.dw("end_dw", x, b.EndDW, 1, Identity, true)
		}
		if b.LayerScale {
			x = l.add(Layer{Part: "layer_scale", Op: OpScale}, l.shape(x), x)
		}
		return l.residual(in, x, true)
	case MHSA:
		return l.mhsa(in)
	case BatchNorm:
		return l.add(Layer{Part: "bn", Op: OpBN, BN: true, Activation: b.Activation}, s, in), nil
	case GlobalPool:
		return l.add(Layer{Part: "pool", Op: OpGlobalPool}, Shape{1, 1, s.C}, in), nil
	case FC:
		if s.H != 1 || s.W != 1 {
			return 0, l.fail("", "an fc layer needs a 1x1 input, got %s (add a gpool block before it)", s)
		}
		act := b.Activation
		if act == noneGiven {
			act = Identity
		}
		return l.add(Layer{Part: "fc", Op: OpFC, Activation: act, Bias: b.HasBias()}, Shape{1, 1, b.Filters}, in), nil
	case Cell:
		if b.Filters != 0 && b.Filters != s.C {
			return 0, l.fail("filters", "a cell keeps its input's %d channels; filters is %d", s.C, b.Filters)
		}
		return l.cell(in), nil
	case ResBasic:
		x := l.add(Layer{Part: "a.relu", Op: OpAct, Activation: ReLU}, s, in)
		x = l.conv("a.conv", x, 3, stride, b.Filters, 1, Identity, true, false)
		x = l.add(Layer{Part: "b.relu", Op: OpAct, Activation: ReLU}, l.shape(x), x)
		x = l.conv("b.conv", x, 3, 1, b.Filters, 1, Identity, true, false)
		short := in
		switch {
		case stride > 1:
			short = l.add(Layer{Part: "shortcut.pool", Op: OpAvgPool, Kernel: 2, Stride: 2},
				Shape{s.H / 2, s.W / 2, s.C}, in)
			short = l.conv("shortcut.conv", short, 1, 1, b.Filters, 1, Identity, false, false)
		case s.C != b.Filters:
			short = l.add(Layer{Part: "shortcut.relu", Op: OpAct, Activation: ReLU}, s, in)
			short = l.conv("shortcut.conv", short, 1, 1, b.Filters, 1, Identity, true, false)
		}
		if l.shape(short) != l.shape(x) {
			return 0, l.fail("stride", "the shortcut (%s) and the main path (%s) differ: stride 2 needs an even input size", l.shape(short), l.shape(x))
		}
		return l.add(Layer{Part: "residual", Op: OpAdd}, l.shape(x), x, short), nil
	}
	return 0, l.fail("type", "unknown block type %q", b.Type)
}

// Layer part names of a cell, spelled out because exhaustive searches
// lower every cell of NAS-Bench-201 and formatting names showed up in
// profiles.
var (
	cellEdgeParts = [6]string{"e01", "e02", "e12", "e03", "e13", "e23"}
	cellSumParts  = [4]string{"", "n1.sum", "n2.sum", "n3.sum"}
)

// cell lowers a NAS-Bench-201 cell: node j sums op(i->j) over i < j.
func (l *lowerer) cell(in int) int {
	s := l.shape(in)
	edges := [6][2]int{{0, 1}, {0, 2}, {1, 2}, {0, 3}, {1, 3}, {2, 3}}
	nodes := [4]int{in, -1, -1, -1} // -1: a node that is all zeros
	for j := 1; j <= 3; j++ {
		var terms []int
		for e, ed := range edges {
			if ed[1] != j || nodes[ed[0]] < 0 {
				continue
			}
			src := nodes[ed[0]]
			part := cellEdgeParts[e]
			switch l.b.Ops[e] {
			case "none":
				continue
			case "skip_connect":
				terms = append(terms, src)
			case "nor_conv_1x1", "nor_conv_3x3":
				k := 1
				if l.b.Ops[e] == "nor_conv_3x3" {
					k = 3
				}
				x := l.add(Layer{Part: part + ".relu", Op: OpAct, Activation: ReLU}, s, src)
				terms = append(terms, l.conv(part+".conv", x, k, 1, s.C, 1, Identity, true, false))
			case "avg_pool_3x3":
				terms = append(terms, l.add(Layer{Part: part + ".pool", Op: OpAvgPool, Kernel: 3, Stride: 1}, s, src))
			}
		}
		switch len(terms) {
		case 0:
		case 1:
			nodes[j] = terms[0]
		default:
			nodes[j] = l.add(Layer{Part: cellSumParts[j], Op: OpAdd}, s, terms...)
		}
	}
	if nodes[3] < 0 {
		return l.add(Layer{Part: "zero", Op: OpZero}, s, in)
	}
	if nodes[3] == in {
		// Only skip connections reach the output: the cell is the identity,
		// but the graph still needs a distinct output tensor per block.
		return l.add(Layer{Part: "identity", Op: OpAct, Activation: Identity}, s, in)
	}
	return nodes[3]
}

// mhsa lowers MobileNetV4's attention block: input BN, query/key/value
// projections (keys and values shared by all heads when multi_query, and
// downsampled by a strided depthwise + BN when kv_stride > 1), attention,
// output projection, optional layer scale, residual.
func (l *lowerer) mhsa(in int) (int, error) {
	b := l.b
	s := l.shape(in)
	if b.Filters != 0 && b.Filters != s.C {
		return 0, l.fail("filters", "attention keeps its input's %d channels; filters is %d", s.C, b.Filters)
	}
	x := l.add(Layer{Part: "norm", Op: OpBN, BN: true}, s, in)
	h, kd, vd := b.Heads, b.KeyDim, b.ValueDim
	kvHeads := h
	if b.MultiQuery {
		kvHeads = 1
	}
	q := l.conv("query", x, 1, 1, h*kd, 1, Identity, false, false)
	kvSrc := x
	kx, vx := x, x
	if b.KVStride > 1 {
		k := b.KVKernel
		if k == 0 {
			k = 3
		}
		kx = l.dw("key.dw", kvSrc, k, b.KVStride, Identity, true)
		vx = l.dw("value.dw", kvSrc, k, b.KVStride, Identity, true)
	}
	key := l.conv("key", kx, 1, 1, kvHeads*kd, 1, Identity, false, false)
	val := l.conv("value", vx, 1, 1, kvHeads*vd, 1, Identity, false, false)
	nq := s.H * s.W
	ks := l.shape(key)
	nk := ks.H * ks.W
	logits := l.add(Layer{Part: "attention.qk", Op: OpMatMul, MatMul: [4]int{h, nq, kd, nk}}, Shape{h, nq, nk}, q, key)
	probs := l.add(Layer{Part: "attention.softmax", Op: OpSoftmax}, Shape{h, nq, nk}, logits)
	ctx := l.add(Layer{Part: "attention.av", Op: OpMatMul, MatMul: [4]int{h, nq, nk, vd}}, Shape{s.H, s.W, h * vd}, probs, val)
	o := l.conv("output", ctx, 1, 1, s.C, 1, Identity, false, false)
	if b.LayerScale {
		o = l.add(Layer{Part: "layer_scale", Op: OpScale}, s, o)
	}
	return l.add(Layer{Part: "residual", Op: OpAdd}, s, o, in), nil
}

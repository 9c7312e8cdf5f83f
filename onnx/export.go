// Package onnx exports fleetnas networks to ONNX, the format every
// inference runtime reads, so that a network can be run and timed on a
// real device (ONNX Runtime here, see package ort).
//
// The exported graph is the deployed form of the network: batch norm is
// folded into the preceding convolution's weights and bias (what mobile
// runtimes do, and why lut signatures leave BN out), tensors are NCHW with
// batch 1, 'same' padding is written as TensorFlow's explicit asymmetric
// pads, and the output equals the Go engine's evaluation-mode forward pass
// (train.Model with moving statistics) up to float32 rounding.
//
// Operators (opset 14, the first with HardSwish): Conv (group = channels
// for depthwise), Relu, Clip (relu6), HardSwish, HardSigmoid, Sigmoid and
// Mul (swish, squeeze-excite), Erf (gelu), Add/Sum, Mul, GlobalAveragePool,
// AveragePool, Flatten, Gemm, Reshape and Transpose (channel shuffle), and
// for attention (mhsa) MatMul, Softmax, Reshape and Transpose.
package onnx

import (
	"errors"
	"fmt"
	"math"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/nn"
	"github.com/fleetnas/fleetnas/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// Opset is the ONNX operator set the exporter writes: 14 is the first with
// HardSwish, and Debian's onnx checker (1.12) accepts up to 17.
const Opset = 14

// irVersion is the ONNX IR version that goes with opset 14.
const irVersion = 7

// InputName and OutputName are the graph's input (NCHW float32, batch 1)
// and output tensor names.
const (
	InputName  = "input"
	OutputName = "output"
)

// Weights are a network's trained values, keyed as the training engine
// names them (package train: "<block>.<part>.w", ".b", ".bn.gamma",
// ".bn.beta", "<block>.layer_scale.gamma"; buffers ".bn.moving_mean",
// ".bn.moving_variance"), in the engine's layouts: conv kernels HWIO
// ([k][k][in/groups][out]), depthwise [k][k][C], dense [in][out].
type Weights struct {
	Params map[string][]float32
	// Buffers are the batch-norm moving statistics. Nil means fresh batch
	// norms (mean 0, variance 1), as train.Build initialises them; a
	// non-nil map must hold every statistic the network needs.
	Buffers map[string][]float32
}

// Export builds the ONNX model of a lowered network with the given
// weights. Errors name the layer and the weight.
func Export(g *arch.Graph, w *Weights) (*onnxpb.ModelProto, error) {
	if g == nil || g.Network == nil || len(g.Tensors) == 0 {
		return nil, errors.New("onnx: a lowered network is needed (arch.Network.Lower)")
	}
	if w == nil || w.Params == nil {
		return nil, errors.New("onnx: no weights given")
	}
	e := &exporter{g: g, w: w, rank: map[int]int{0: 4}, graph: &onnxpb.GraphProto{Name: proto.String(graphName(g))}, produced: map[int]string{}}
	for _, l := range g.Layers {
		e.produced[l.Output] = l.Name
	}
	in := g.Tensors[0]
	e.graph.Input = []*onnxpb.ValueInfoProto{valueInfo(InputName, 1, int64(in.C), int64(in.H), int64(in.W))}
	for i := range g.Layers {
		l := &g.Layers[i]
		e.layerName = l.Name
		if err := e.layer(l); err != nil {
			return nil, fmt.Errorf("onnx: layer %s (%s): %w", l.Name, l.Op, err)
		}
	}
	if len(g.Layers) == 0 {
		e.node("Identity", []string{InputName}, []string{OutputName})
	}
	out := g.Output()
	last := len(g.Tensors) - 1
	if e.rank[last] == 2 {
		e.graph.Output = []*onnxpb.ValueInfoProto{valueInfo(OutputName, 1, int64(out.C))}
	} else {
		e.graph.Output = []*onnxpb.ValueInfoProto{valueInfo(OutputName, 1, int64(out.C), int64(out.H), int64(out.W))}
	}
	return &onnxpb.ModelProto{
		IrVersion:    proto.Int64(irVersion),
		ProducerName: proto.String("fleetnas"),
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(Opset)}},
		Graph:        e.graph,
	}, nil
}

// Marshal is Export followed by protobuf encoding: the bytes of a .onnx file.
func Marshal(g *arch.Graph, w *Weights) ([]byte, error) {
	m, err := Export(g, w)
	if err != nil {
		return nil, err
	}
	return proto.Marshal(m)
}

func graphName(g *arch.Graph) string {
	if g.Network.Name != "" {
		return g.Network.Name
	}
	return "fleetnas"
}

func valueInfo(name string, dims ...int64) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
			Shape:    shape,
		}}},
	}
}

type exporter struct {
	g     *arch.Graph
	w     *Weights
	graph *onnxpb.GraphProto
	// rank of each arch tensor in the ONNX graph: 4 (NCHW), 2 after a
	// Gemm ([1, C]; consumers that need 4-D reshape it back), or
	// rankAttention for attention logits and probabilities.
	rank map[int]int
	tmp  int
	// layerName prefixes node names, so that ONNX Runtime's profiles and
	// model viewers show which fleetnas layer a node belongs to.
	layerName string
	// produced names each tensor after the layer that writes it: ONNX
	// Runtime names the nodes it converts to its NCHWc layout after their
	// output tensor ("3.expand_nchwc"), so profiles stay readable.
	produced map[int]string
}

// name is the ONNX name of arch tensor t.
func (e *exporter) name(t int) string {
	switch t {
	case 0:
		return InputName
	case len(e.g.Tensors) - 1:
		return OutputName
	}
	if n, ok := e.produced[t]; ok {
		return n
	}
	return fmt.Sprintf("t%d", t)
}

// fresh returns a new intermediate tensor name.
func (e *exporter) fresh(hint string) string {
	e.tmp++
	return fmt.Sprintf("%s_%d", hint, e.tmp)
}

func (e *exporter) node(op string, inputs, outputs []string, attrs ...*onnxpb.AttributeProto) {
	e.graph.Node = append(e.graph.Node, &onnxpb.NodeProto{
		OpType: proto.String(op), Name: proto.String(e.nodeName(op)),
		Input: inputs, Output: outputs, Attribute: attrs,
	})
}

// nodeName is "layer/Op_index" inside a layer, "Op_index" outside one;
// the index keeps names unique.
func (e *exporter) nodeName(op string) string {
	if e.layerName == "" {
		return fmt.Sprintf("%s_%d", op, len(e.graph.Node))
	}
	return fmt.Sprintf("%s/%s_%d", e.layerName, op, len(e.graph.Node))
}

func intsAttr(name string, v ...int) *onnxpb.AttributeProto {
	a := &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum()}
	for _, x := range v {
		a.Ints = append(a.Ints, int64(x))
	}
	return a
}

func intAttr(name string, v int) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(int64(v))}
}

func floatAttr(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

// constant adds an initializer and returns its name.
func (e *exporter) constant(hint string, data []float32, dims ...int) string {
	name := e.fresh(hint)
	t := &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: data}
	for _, d := range dims {
		t.Dims = append(t.Dims, int64(d))
	}
	e.graph.Initializer = append(e.graph.Initializer, t)
	return name
}

// shapeConst adds an int64 initializer (Reshape's shape input).
func (e *exporter) shapeConst(dims ...int64) string {
	name := e.fresh("shape")
	e.graph.Initializer = append(e.graph.Initializer, &onnxpb.TensorProto{Name: proto.String(name),
		DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Dims: []int64{int64(len(dims))}, Int64Data: dims})
	return name
}

// param returns a weight of the expected length.
func (e *exporter) param(name string, n int) ([]float32, error) {
	v, ok := e.w.Params[name]
	if !ok {
		return nil, fmt.Errorf("weight %s missing", name)
	}
	if len(v) != n {
		return nil, fmt.Errorf("weight %s has %d values, want %d", name, len(v), n)
	}
	return v, nil
}

// bnFold returns the per-channel scale and shift of layer name's batch
// norm in evaluation mode: y = x*scale + shift with scale =
// gamma/sqrt(var+eps), shift = beta - mean*scale. Computed in float64 so
// that folding adds no error of its own beyond the final rounding.
func (e *exporter) bnFold(name string, c int) (scale, shift []float64, err error) {
	gamma, err := e.param(name+".bn.gamma", c)
	if err != nil {
		return nil, nil, err
	}
	beta, err := e.param(name+".bn.beta", c)
	if err != nil {
		return nil, nil, err
	}
	mean, variance := make([]float32, c), make([]float32, c)
	for i := range variance {
		variance[i] = 1
	}
	if e.w.Buffers != nil {
		for _, b := range []struct {
			key string
			dst []float32
		}{{name + ".bn.moving_mean", mean}, {name + ".bn.moving_variance", variance}} {
			key, dst := b.key, b.dst
			v, ok := e.w.Buffers[key]
			if !ok {
				return nil, nil, fmt.Errorf("batch-norm statistic %s missing", key)
			}
			if len(v) != c {
				return nil, nil, fmt.Errorf("batch-norm statistic %s has %d values, want %d", key, len(v), c)
			}
			copy(dst, v)
		}
	}
	scale, shift = make([]float64, c), make([]float64, c)
	for i := range c {
		// The engine normalises in float32 with the same epsilon; see nn.BatchNorm.
		scale[i] = float64(gamma[i]) / math.Sqrt(float64(variance[i])+nn.DefaultBNEpsilon)
		shift[i] = float64(beta[i]) - float64(mean[i])*scale[i]
	}
	return scale, shift, nil
}

// input returns the ONNX name of arch tensor t as a 4-D tensor, reshaping
// a 2-D Gemm output back to [1, C, 1, 1].
func (e *exporter) input4(t int) string {
	if e.rank[t] != 2 {
		return e.name(t)
	}
	c := e.g.Tensors[t].C
	out := e.fresh("as4d")
	e.node("Reshape", []string{e.name(t), e.shapeConst(1, int64(c), 1, 1)}, []string{out})
	return out
}

func (e *exporter) layer(l *arch.Layer) error {
	out := e.name(l.Output)
	e.rank[l.Output] = 4
	switch l.Op {
	case arch.OpConv, arch.OpDepthwise:
		return e.conv(l, out)
	case arch.OpFC:
		return e.fc(l, out)
	case arch.OpBN:
		scale, shift, err := e.bnFold(l.Name, l.Out.C)
		if err != nil {
			return err
		}
		c := l.Out.C
		x := e.fresh("bn_scaled")
		e.node("Mul", []string{e.input4(l.Inputs[0]), e.constant(l.Name+".bn.scale", toF32(scale), 1, c, 1, 1)}, []string{x})
		y := out
		if hasAct(l.Activation) {
			y = e.fresh("bn")
		}
		e.node("Add", []string{x, e.constant(l.Name+".bn.shift", toF32(shift), 1, c, 1, 1)}, []string{y})
		return e.activation(l.Activation, y, out)
	case arch.OpAct:
		if !hasAct(l.Activation) {
			e.node("Identity", []string{e.input4(l.Inputs[0])}, []string{out})
			return nil
		}
		return e.activation(l.Activation, e.input4(l.Inputs[0]), out)
	case arch.OpGlobalPool:
		e.node("GlobalAveragePool", []string{e.input4(l.Inputs[0])}, []string{out})
		return nil
	case arch.OpAvgPool:
		_, pt := nn.SamePadding(l.In.H, l.Kernel, l.Stride)
		_, pl := nn.SamePadding(l.In.W, l.Kernel, l.Stride)
		pb := padAfter(l.In.H, l.Kernel, l.Stride)
		pr := padAfter(l.In.W, l.Kernel, l.Stride)
		e.node("AveragePool", []string{e.input4(l.Inputs[0])}, []string{out},
			intsAttr("kernel_shape", l.Kernel, l.Kernel), intsAttr("strides", l.Stride, l.Stride),
			intsAttr("pads", pt, pl, pb, pr), intAttr("count_include_pad", 0))
		return nil
	case arch.OpAdd:
		ins := make([]string, len(l.Inputs))
		for i, t := range l.Inputs {
			ins[i] = e.input4(t)
		}
		if len(ins) == 2 {
			e.node("Add", ins, []string{out})
		} else {
			e.node("Sum", ins, []string{out})
		}
		return nil
	case arch.OpMul:
		if len(l.Inputs) != 2 {
			return fmt.Errorf("a squeeze-excite scale takes 2 inputs, got %d", len(l.Inputs))
		}
		e.node("Mul", []string{e.input4(l.Inputs[0]), e.input4(l.Inputs[1])}, []string{out})
		return nil
	case arch.OpScale:
		gamma, err := e.param(l.Name+".gamma", l.Out.C)
		if err != nil {
			return err
		}
		e.node("Mul", []string{e.input4(l.Inputs[0]), e.constant(l.Name+".gamma", append([]float32(nil), gamma...), 1, l.Out.C, 1, 1)}, []string{out})
		return nil
	case arch.OpShuffle:
		// The engine's shuffle sends channel i·(C/g)+j to j·g+i: view the
		// channels as [g][C/g] and transpose to [C/g][g].
		s, g := l.Out, l.Groups
		if g <= 0 || s.C%g != 0 {
			return fmt.Errorf("%d groups do not divide %d channels", g, s.C)
		}
		a, b := e.fresh("shuffle5d"), e.fresh("shuffled")
		e.node("Reshape", []string{e.input4(l.Inputs[0]), e.shapeConst(1, int64(g), int64(s.C/g), int64(s.H), int64(s.W))}, []string{a})
		e.node("Transpose", []string{a}, []string{b}, intsAttr("perm", 0, 2, 1, 3, 4))
		e.node("Reshape", []string{b, e.shapeConst(1, int64(s.C), int64(s.H), int64(s.W))}, []string{out})
		return nil
	case arch.OpZero:
		e.node("Mul", []string{e.input4(l.Inputs[0]), e.constant("zero", []float32{0})}, []string{out})
		return nil
	case arch.OpMatMul:
		return e.matmul(l, out)
	case arch.OpSoftmax:
		// Logits are [1, heads, queries, keys]: normalise over the keys.
		e.node("Softmax", []string{e.name(l.Inputs[0])}, []string{out}, intAttr("axis", -1))
		e.rank[l.Output] = rankAttention
		return nil
	}
	return fmt.Errorf("no ONNX form for %s layers", l.Op)
}

// rankAttention marks attention logits and probabilities, laid out
// [1, heads, queries, keys] (arch calls their shape heads x queries x keys).
const rankAttention = -1

// matmul writes the two products of an attention block (arch's
// MatMul = [heads, M, K, N]):
//
//   - attention.qk: queries [1, h·kd, H, W] and keys [1, kvh·kd, Hk, Wk]
//     (kvh = 1 with multi-query, h otherwise; channel = head·kd + d) give
//     logits [1, h, H·W, Hk·Wk] = q·kᵀ / √kd, Keras's scaled dot product;
//   - attention.av: probabilities and values [1, kvh·vd, Hk, Wk] give the
//     context [1, h·vd, H, W] (channel = head·vd + d) for the output conv.
//
// One key/value head broadcasts over the query heads.
func (e *exporter) matmul(l *arch.Layer, out string) error {
	if len(l.Inputs) != 2 {
		return fmt.Errorf("a matmul takes 2 inputs, got %d", len(l.Inputs))
	}
	h, m, k, n := int64(l.MatMul[0]), int64(l.MatMul[1]), int64(l.MatMul[2]), int64(l.MatMul[3])
	a, b := l.Inputs[0], l.Inputs[1]
	bs := e.g.Tensors[b]
	if h <= 0 || m <= 0 || k <= 0 || n <= 0 {
		return fmt.Errorf("matmul dimensions %v", l.MatMul)
	}
	switch e.rank[a] {
	case 4: // attention.qk: a = queries, b = keys; k = key_dim, n = keys
		as := e.g.Tensors[a]
		if int64(as.C) != h*k || int64(as.H*as.W) != m || int64(bs.H*bs.W) != n || int64(bs.C)%k != 0 {
			return fmt.Errorf("queries %s and keys %s do not fit a %v product", as, bs, l.MatMul)
		}
		kvh := int64(bs.C) / k
		q4, qt, k4, raw := e.fresh("q_heads"), e.fresh("q"), e.fresh("k"), e.fresh("logits_unscaled")
		e.node("Reshape", []string{e.name(a), e.shapeConst(1, h, k, m)}, []string{q4})
		e.node("Transpose", []string{q4}, []string{qt}, intsAttr("perm", 0, 1, 3, 2))
		e.node("Reshape", []string{e.name(b), e.shapeConst(1, kvh, k, n)}, []string{k4})
		e.node("MatMul", []string{qt, k4}, []string{raw})
		e.node("Mul", []string{raw, e.constant("inv_sqrt_key_dim", []float32{float32(1 / math.Sqrt(float64(k)))})}, []string{out})
		e.rank[l.Output] = rankAttention
	case rankAttention: // attention.av: a = probabilities, b = values; k = keys, n = value_dim
		if int64(bs.H*bs.W) != k || int64(bs.C)%n != 0 || int64(l.Out.C) != h*n || int64(l.Out.H*l.Out.W) != m {
			return fmt.Errorf("values %s and output %s do not fit a %v product", bs, l.Out, l.MatMul)
		}
		kvh := int64(bs.C) / n
		v4, vt, ctx, ct := e.fresh("v_heads"), e.fresh("v"), e.fresh("context"), e.fresh("context_t")
		e.node("Reshape", []string{e.name(b), e.shapeConst(1, kvh, n, k)}, []string{v4})
		e.node("Transpose", []string{v4}, []string{vt}, intsAttr("perm", 0, 1, 3, 2))
		e.node("MatMul", []string{e.name(a), vt}, []string{ctx})
		e.node("Transpose", []string{ctx}, []string{ct}, intsAttr("perm", 0, 1, 3, 2))
		e.node("Reshape", []string{ct, e.shapeConst(1, h*n, int64(l.Out.H), int64(l.Out.W))}, []string{out})
	default:
		return fmt.Errorf("a matmul needs queries (NCHW) or attention probabilities as its first input")
	}
	return nil
}

// padAfter is the padding after the last element of TensorFlow's 'same'
// convolution (the larger half).
func padAfter(in, k, s int) int {
	out, before := nn.SamePadding(in, k, s)
	return max((out-1)*s+k-in, 0) - before
}

func hasAct(a arch.Activation) bool { return a != "" && a != arch.Identity }

func toF32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// conv writes a (grouped or depthwise) convolution with its batch norm
// folded in, then its activation.
func (e *exporter) conv(l *arch.Layer, out string) error {
	k, cin, cout := l.Kernel, l.In.C, l.Out.C
	groups := max(l.Groups, 1)
	if l.Op == arch.OpDepthwise {
		groups = cin
	}
	if cin%groups != 0 || cout%groups != 0 {
		return fmt.Errorf("%d groups do not divide %d input and %d output channels", groups, cin, cout)
	}
	cg := cin / groups // input channels per group
	// The engine's kernels: conv [k][k][cin/groups][cout] (HWIO, output
	// channel global), depthwise [k][k][C]. ONNX wants OIHW: [cout][cin/groups][k][k].
	var src []float32
	var err error
	if l.Op == arch.OpDepthwise {
		src, err = e.param(l.Name+".w", k*k*cin)
	} else {
		src, err = e.param(l.Name+".w", k*k*cg*cout)
	}
	if err != nil {
		return err
	}
	w := make([]float64, cout*cg*k*k)
	for ky := range k {
		for kx := range k {
			for ci := range cg {
				for co := range cout {
					var v float32
					if l.Op == arch.OpDepthwise {
						v = src[(ky*k+kx)*cin+co]
					} else {
						v = src[((ky*k+kx)*cg+ci)*cout+co]
					}
					w[((co*cg+ci)*k+ky)*k+kx] = float64(v)
				}
			}
		}
	}
	bias := make([]float64, cout)
	if l.Bias {
		b, err := e.param(l.Name+".b", cout)
		if err != nil {
			return err
		}
		for i, v := range b {
			bias[i] = float64(v)
		}
	}
	if l.BN {
		scale, shift, err := e.bnFold(l.Name, cout)
		if err != nil {
			return err
		}
		per := cg * k * k
		for co := range cout {
			for j := range per {
				w[co*per+j] *= scale[co]
			}
			bias[co] = bias[co]*scale[co] + shift[co]
		}
	}
	_, pt := nn.SamePadding(l.In.H, k, l.Stride)
	_, pl := nn.SamePadding(l.In.W, k, l.Stride)
	pb, pr := padAfter(l.In.H, k, l.Stride), padAfter(l.In.W, k, l.Stride)
	inputs := []string{e.input4(l.Inputs[0]), e.constant(l.Name+".w", toF32(w), cout, cg, k, k)}
	if l.Bias || l.BN {
		inputs = append(inputs, e.constant(l.Name+".b", toF32(bias), cout))
	}
	y := out
	if hasAct(l.Activation) {
		y = e.fresh("conv")
	}
	e.node("Conv", inputs, []string{y},
		intsAttr("kernel_shape", k, k), intsAttr("strides", l.Stride, l.Stride),
		intsAttr("pads", pt, pl, pb, pr), intAttr("group", groups))
	return e.activation(l.Activation, y, out)
}

// fc writes Flatten + Gemm (+ activation). The output stays 2-D ([1, N]);
// a later layer that needs 4-D reshapes it.
func (e *exporter) fc(l *arch.Layer, out string) error {
	in, n := l.In.H*l.In.W*l.In.C, l.Out.C
	if l.In.H != 1 || l.In.W != 1 {
		return fmt.Errorf("an fc layer needs a 1x1 input, got %s", l.In)
	}
	w, err := e.param(l.Name+".w", in*n)
	if err != nil {
		return err
	}
	x := e.name(l.Inputs[0])
	if e.rank[l.Inputs[0]] != 2 {
		f := e.fresh("flat")
		e.node("Flatten", []string{x}, []string{f}, intAttr("axis", 1))
		x = f
	}
	inputs := []string{x, e.constant(l.Name+".w", append([]float32(nil), w...), in, n)}
	if l.Bias {
		b, err := e.param(l.Name+".b", n)
		if err != nil {
			return err
		}
		inputs = append(inputs, e.constant(l.Name+".b", append([]float32(nil), b...), n))
	}
	y := out
	if hasAct(l.Activation) {
		y = e.fresh("gemm")
	}
	e.node("Gemm", inputs, []string{y})
	e.rank[l.Output] = 2
	return e.activation(l.Activation, y, out)
}

// activation writes act(x) into out; identity copies nothing (x == out).
func (e *exporter) activation(a arch.Activation, x, out string) error {
	switch a {
	case "", arch.Identity:
		if x != out {
			e.node("Identity", []string{x}, []string{out})
		}
	case arch.ReLU:
		e.node("Relu", []string{x}, []string{out})
	case arch.ReLU6:
		e.node("Clip", []string{x, e.constant("zero", []float32{0}), e.constant("six", []float32{6})}, []string{out})
	case arch.HSwish:
		e.node("HardSwish", []string{x}, []string{out})
	case arch.HSigmoid:
		// relu6(x+3)/6; ONNX's default alpha is 0.2, not 1/6.
		e.node("HardSigmoid", []string{x}, []string{out}, floatAttr("alpha", 1.0/6), floatAttr("beta", 0.5))
	case arch.Sigmoid:
		e.node("Sigmoid", []string{x}, []string{out})
	case arch.Swish:
		s := e.fresh("sigmoid")
		e.node("Sigmoid", []string{x}, []string{s})
		e.node("Mul", []string{x, s}, []string{out})
	case arch.GELU:
		// Exact GELU, 0.5·x·(1+erf(x/√2)), as the engine computes it.
		d, f, p, h := e.fresh("gelu_div"), e.fresh("gelu_erf"), e.fresh("gelu_plus1"), e.fresh("gelu_half")
		e.node("Mul", []string{x, e.constant("inv_sqrt2", []float32{float32(1 / math.Sqrt2)})}, []string{d})
		e.node("Erf", []string{d}, []string{f})
		e.node("Add", []string{f, e.constant("one", []float32{1})}, []string{p})
		e.node("Mul", []string{x, e.constant("half", []float32{0.5})}, []string{h})
		e.node("Mul", []string{h, p}, []string{out})
	default:
		return fmt.Errorf("no ONNX form for activation %q", a)
	}
	return nil
}

// Shapes returns the input and output shapes of the exported graph of g:
// the input is NCHW with batch 1; the output is [1, N] after an fc layer
// (Gemm) and NCHW otherwise.
func Shapes(g *arch.Graph) (in, out []int64) {
	i, o := g.Tensors[0], g.Output()
	in = []int64{1, int64(i.C), int64(i.H), int64(i.W)}
	if n := len(g.Layers); n > 0 && g.Layers[n-1].Op == arch.OpFC {
		return in, []int64{1, int64(o.C)}
	}
	return in, []int64{1, int64(o.C), int64(o.H), int64(o.W)}
}

package train

import (
	"strings"
	"testing"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/nn"
)

// rolesNet adds to tinyNet's layer kinds the remaining parameterised
// ones: a separable conv, a conv with a bias and no batch norm, a
// standalone batch norm, a UIB with layer scale and a classifier without
// bias.
func rolesNet() *arch.Network {
	return &arch.Network{Format: arch.Format, Resolution: 9, InputChannels: 2, Blocks: []arch.Block{
		{Type: arch.Conv, Kernel: 3, Stride: 2, Filters: 8, Activation: arch.ReLU},
		{Type: arch.DWSep, Kernel: 5, Filters: 16, Activation: arch.ReLU},
		{Type: arch.Conv, Kernel: 1, Filters: 24, BN: arch.Bool(false), Bias: arch.Bool(true), Activation: arch.ReLU},
		{Type: arch.BatchNorm, Activation: arch.ReLU},
		{Type: arch.UIB, StartDW: 3, MiddleDW: 5, Expansion: 2, Filters: 24, LayerScale: true, Activation: arch.ReLU},
		{Type: arch.GlobalPool},
		{Type: arch.FC, Filters: 5, Bias: arch.Bool(false)},
	}}
}

// TestLayerParamRoles checks each parameter's role against what its
// lowered layer says independently of the nn engine: the number of values
// its role implies (a conv kernel k*k*in/groups*out, a depthwise kernel
// k*k*C, a dense matrix in*out, a vector C), one weight per conv, a bias
// exactly where the layer has one, a batch-norm pair exactly where it has
// batch norm, and the name train.Build has always given that role (which
// checkpoints key on).
func TestLayerParamRoles(t *testing.T) {
	for _, net := range []*arch.Network{tinyNet(), rolesNet()} {
		m, err := Build(net, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		lps := m.LayerParams()
		if len(lps) != len(m.Params()) {
			t.Fatalf("%d layer parameters, %d parameters", len(lps), len(m.Params()))
		}
		count := make([]map[Role]int, len(m.Graph.Layers))
		for i, lp := range lps {
			if lp.Param != m.Params()[i] {
				t.Errorf("layer parameter %d is %s, parameter %d is %s", i, lp.Param.Name, i, m.Params()[i].Name)
			}
			if lp.Layer < 0 || lp.Layer >= len(m.Graph.Layers) {
				t.Fatalf("%s: layer %d out of range", lp.Param.Name, lp.Layer)
			}
			if i > 0 && lp.Layer < lps[i-1].Layer {
				t.Errorf("%s: layer %d after layer %d; Params is in layer order", lp.Param.Name, lp.Layer, lps[i-1].Layer)
			}
			l := m.Graph.Layers[lp.Layer]
			if count[lp.Layer] == nil {
				count[lp.Layer] = map[Role]int{}
			}
			count[lp.Layer][lp.Role]++
			var n int
			var suffix string
			switch lp.Role {
			case Weight:
				suffix = ".w"
				k := l.Kernel
				switch l.Op {
				case arch.OpConv:
					n = k * k * l.In.C / max(l.Groups, 1) * l.Out.C
				case arch.OpDepthwise:
					n = k * k * l.Out.C
				case arch.OpFC:
					n = l.In.H * l.In.W * l.In.C * l.Out.C
				default:
					t.Errorf("%s: a weight of a %s layer", lp.Param.Name, l.Op)
				}
			case Bias:
				suffix, n = ".b", l.Out.C
			case BNScale:
				suffix, n = ".bn.gamma", l.Out.C
			case BNShift:
				suffix, n = ".bn.beta", l.Out.C
			case LayerScale:
				suffix, n = ".gamma", l.Out.C
				if l.Op != arch.OpScale {
					t.Errorf("%s: a layer scale of a %s layer", lp.Param.Name, l.Op)
				}
			default:
				t.Fatalf("%s: role %v", lp.Param.Name, lp.Role)
			}
			if len(lp.Param.Data) != n {
				t.Errorf("%s (%v of %s layer %s): %d values, want %d", lp.Param.Name, lp.Role, l.Op, l.Name, len(lp.Param.Data), n)
			}
			if want := l.Name + suffix; lp.Param.Name != want {
				t.Errorf("%v of layer %s is named %s, want %s", lp.Role, l.Name, lp.Param.Name, want)
			}
		}
		seen := map[Role]bool{}
		for i, l := range m.Graph.Layers {
			c := count[i]
			weights := 0
			if l.Op == arch.OpConv || l.Op == arch.OpDepthwise || l.Op == arch.OpFC {
				weights = 1
			}
			bn := 0
			if l.BN && l.Op != arch.OpFC || l.Op == arch.OpBN {
				bn = 1
			}
			bias := 0
			if l.Bias && weights == 1 {
				bias = 1
			}
			scale := 0
			if l.Op == arch.OpScale {
				scale = 1
			}
			if c[Weight] != weights || c[Bias] != bias || c[BNScale] != bn || c[BNShift] != bn || c[LayerScale] != scale {
				t.Errorf("layer %s (%s, bias %v, bn %v): roles %v, want %d weight, %d bias, %d batch-norm pair, %d layer scale",
					l.Name, l.Op, l.Bias, l.BN, c, weights, bias, bn, scale)
			}
			for r := range c {
				seen[r] = true
			}
		}
		t.Logf("%d layers, %d parameters, roles %v", len(m.Graph.Layers), len(lps), seen)
	}
}

// TestLayerParamsAllRoles: the two test networks between them give every
// role, so TestLayerParamRoles checks each one.
func TestLayerParamsAllRoles(t *testing.T) {
	seen := map[Role]bool{}
	for _, net := range []*arch.Network{tinyNet(), rolesNet()} {
		m, err := Build(net, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, lp := range m.LayerParams() {
			seen[lp.Role] = true
		}
	}
	for _, r := range []Role{Weight, Bias, BNScale, BNShift, LayerScale} {
		if !seen[r] {
			t.Errorf("no parameter has role %v", r)
		}
	}
}

// TestLayerParamsCopy: editing the returned slice does not change the
// model's.
func TestLayerParamsCopy(t *testing.T) {
	m, err := Build(tinyNet(), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	lps := m.LayerParams()
	lps[0].Role, lps[0].Layer = Bias, 99
	if again := m.LayerParams()[0]; again.Role != Weight || again.Layer != 0 {
		t.Errorf("the model's first parameter became %v of layer %d", again.Role, again.Layer)
	}
}

// unknownLayer is an nn layer with a parameter no role covers.
type unknownLayer struct{ nn.Layer }

func (unknownLayer) Params() []*nn.Param { return []*nn.Param{{Name: "x.theta"}} }

// TestUnknownParamRefused: a parameter of an nn layer without known roles
// is an error naming it, not a parameter without a role.
func TestUnknownParamRefused(t *testing.T) {
	a, err := nn.NewAct(nn.Activation(arch.ReLU))
	if err != nil {
		t.Fatal(err)
	}
	_, err = paramsWithRoles(0, []nn.Layer{a, unknownLayer{}})
	if err == nil || !strings.Contains(err.Error(), "x.theta") {
		t.Errorf("got %v, want an error naming x.theta", err)
	}
	// A conv's parameters are known, whichever nn layers surround them.
	c, err := nn.NewConv2D("c", 2, 3, 1, 1, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	lps, err := paramsWithRoles(4, []nn.Layer{c, a})
	if err != nil || len(lps) != 2 || lps[0].Role != Weight || lps[1].Role != Bias || lps[1].Layer != 4 {
		t.Errorf("conv with bias: %+v, %v", lps, err)
	}
	if got := Role(0).String(); got != "Role(0)" {
		t.Errorf("the zero role prints %q", got)
	}
}

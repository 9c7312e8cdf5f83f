package supernet

import (
	"fmt"

	"github.com/fleetnas/fleetnas/arch"
	"github.com/fleetnas/fleetnas/nn"
	"github.com/fleetnas/fleetnas/train"
)

// shared is one full-size tensor of the supernet and its shape: a conv
// kernel [k][k][in][out], a depthwise kernel [k][k][C], a dense weight
// [in][out] or a vector [C], row-major as the nn engine stores them.
type shared struct {
	p    *nn.Param
	dims []int
}

// run is a contiguous stretch of a sub-block: n values at offset src of
// the shared tensor and dst of the candidate's.
type run struct{ src, dst, n int }

// binding ties one parameter of a candidate to the sub-block of a shared
// tensor it holds.
type binding struct {
	sh    *shared
	local *nn.Param
	runs  []run
}

// gather copies the shared values into the candidate's parameter.
func (b *binding) gather() {
	for _, r := range b.runs {
		copy(b.local.Data[r.dst:r.dst+r.n], b.sh.p.Data[r.src:r.src+r.n])
	}
}

// scatterValues copies the candidate's parameter values into the shared
// tensor (the reverse of gather).
func (b *binding) scatterValues() {
	for _, r := range b.runs {
		copy(b.sh.p.Data[r.src:r.src+r.n], b.local.Data[r.dst:r.dst+r.n])
	}
}

// scatter adds the candidate's gradient into the shared gradient.
func (b *binding) scatter() {
	g := b.sh.p.Grad
	for _, r := range b.runs {
		dst := g[r.src : r.src+r.n]
		for i, v := range b.local.Grad[r.dst : r.dst+r.n] {
			dst[i] += v
		}
	}
}

// subBlock returns the runs that map a dense tensor of shape local onto
// the leading sub-block of a tensor of shape full: element (i0, ..., ir)
// of the local tensor is element (i0, ..., ir) of the full one. Adjacent
// runs that are contiguous in both tensors are merged, so a sub-block
// that is the whole tensor is a single copy.
func subBlock(full, local []int) ([]run, error) {
	return subBlockAt(full, local, make([]int, len(local)))
}

// subBlockAt is subBlock for the sub-block that starts at offset instead
// of the origin: element (i0, ..., ir) of the local tensor is element
// (i0+offset[0], ..., ir+offset[r]) of the full one. It places a small
// depthwise kernel at the centre of a larger one.
func subBlockAt(full, local, offset []int) ([]run, error) {
	if len(full) != len(local) || len(local) == 0 || len(offset) != len(local) {
		return nil, fmt.Errorf("shape %v does not fit in %v", local, full)
	}
	count := 1
	for a, d := range local {
		if d <= 0 || offset[a] < 0 || offset[a]+d > full[a] {
			return nil, fmt.Errorf("shape %v at offset %v does not fit in %v", local, offset, full)
		}
		count *= d
	}
	r := len(local) - 1
	n := local[r]
	rows := count / n
	idx := make([]int, r)
	var runs []run
	for row := range rows {
		src := 0
		for a := range r {
			src = src*full[a] + idx[a] + offset[a]
		}
		src = src*full[r] + offset[r]
		if k := len(runs) - 1; k >= 0 && runs[k].src+runs[k].n == src && runs[k].dst+runs[k].n == row*n {
			runs[k].n += n
		} else {
			runs = append(runs, run{src: src, dst: row * n, n: n})
		}
		for a := r - 1; a >= 0; a-- {
			idx[a]++
			if idx[a] < local[a] {
				break
			}
			idx[a] = 0
		}
	}
	return runs, nil
}

// paramShape returns the shape of the parameter with role r of lowered
// layer l as the nn engine lays it out (see train.Role).
func paramShape(l *arch.Layer, r train.Role) ([]int, error) {
	if r != train.Weight {
		return []int{l.Out.C}, nil
	}
	switch l.Op {
	case arch.OpConv:
		if l.Groups > 1 {
			return nil, fmt.Errorf("layer %s: grouped convolutions are not supported by the supernet", l.Name)
		}
		return []int{l.Kernel, l.Kernel, l.In.C, l.Out.C}, nil
	case arch.OpDepthwise:
		return []int{l.Kernel, l.Kernel, l.In.C}, nil
	case arch.OpFC:
		return []int{l.In.H * l.In.W * l.In.C, l.Out.C}, nil
	}
	return nil, fmt.Errorf("layer %s: %s layers have no weights the supernet knows how to share", l.Name, l.Op)
}

// slotKey names the supernet slot of lowered layer l, whose block is at
// position p: the position alone for a single-layer block (a conv or the
// classifier), else the position and the layer's part. Every kernel size
// of a layer shares one depthwise slot of the largest kernel, a smaller
// kernel being its centre (see kernelOffset). Examples: "stem.conv",
// "stem.sep.project", "stage3.layer2.expand", "stage3.layer2.depthwise",
// "head.conv1", "head.fc".
func slotKey(p position, l *arch.Layer) string {
	switch {
	case p.kind == arch.Conv || p.kind == arch.FC:
		return p.name
	}
	return p.name + "." + l.Part
}

// kernelOffset is where a parameter of shape local sits in its slot of
// shape full: at the origin, except that a depthwise kernel smaller than
// its slot's sits at the centre, as Once-for-All's elastic kernels do
// (Cai et al. 2020; OFA also learns a transform of the centre, which is
// left out here). Sharing the centre keeps the features a layer computes
// similar whichever kernel a candidate draws, so the layers after it see
// inputs of one kind. Separate weights per kernel size were measured on
// Fashion-MNIST (proxy width 0.25, batch 64, 300 steps of candidates
// whose layers flip between 3x3 and 5x5 at random): 21% training
// accuracy, against 74% when each of the two networks is kept whole.
func kernelOffset(l *arch.Layer, full, local []int) []int {
	off := make([]int, len(local))
	if l.Op == arch.OpDepthwise && len(full) == 3 && len(local) == 3 {
		off[0], off[1] = (full[0]-local[0])/2, (full[1]-local[1])/2
	}
	return off
}

// roleSuffix names a shared parameter of a slot by its role: the slot
// key followed by "." and this suffix is the name supernet weight files
// key on, so the suffixes must never change. They are the supernet's own
// names; they match the ones train.Build gives a layer's parameters so
// that a shared tensor and the candidate parameters it feeds read alike.
// The supernet shares no other roles (multihw has no layer scale).
func roleSuffix(r train.Role) (string, bool) {
	switch r {
	case train.Weight:
		return "w", true
	case train.Bias:
		return "b", true
	case train.BNScale:
		return "bn.gamma", true
	case train.BNShift:
		return "bn.beta", true
	}
	return "", false
}

// layerParam is one parameter of a candidate with the lowered layer it
// belongs to, its role there and its supernet name.
type layerParam struct {
	layer *arch.Layer
	role  train.Role
	name  string // shared name: slot key + "." + roleSuffix(role)
	local *nn.Param
}

// layerParams pairs every parameter of m with its layer, its role and its
// shared name, in the order of m.Params. It fails for a parameter whose
// layer is outside the layout's blocks or whose role the supernet does
// not share.
func layerParams(m *train.Model, ps []position) ([]layerParam, error) {
	lps := m.LayerParams()
	out := make([]layerParam, 0, len(lps))
	for _, lp := range lps {
		l := &m.Graph.Layers[lp.Layer]
		if l.Block < 0 || l.Block >= len(ps) {
			return nil, fmt.Errorf("supernet: layer %s belongs to no block of the layout", l.Name)
		}
		suffix, ok := roleSuffix(lp.Role)
		if !ok {
			return nil, fmt.Errorf("supernet: parameter %s of the candidate is a %v, which the supernet does not share", lp.Param.Name, lp.Role)
		}
		out = append(out, layerParam{layer: l, role: lp.Role, name: slotKey(ps[l.Block], l) + "." + suffix, local: lp.Param})
	}
	return out, nil
}

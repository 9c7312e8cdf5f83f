package calibrate

import (
	"fmt"
	"io"
	"math"
	"sort"

	"github.com/fleetnas/fleetnas/latency"
	"github.com/fleetnas/fleetnas/latency/lut"
	"github.com/fleetnas/fleetnas/space"
)

// lutData is the measurements as signature counts: row i counts how often
// each signature occurs in network i.
type lutData struct {
	sigs  []lut.Signature
	rows  []map[int]float64
	y     []float64
	index map[string]int
}

func lutDesign(sp space.Space, m *latency.Measurements, resolution int) (*lutData, error) {
	d := &lutData{index: map[string]int{}, y: m.MS}
	for i, c := range m.Choices {
		n, err := latency.FromSpace(sp, c, resolution)
		if err != nil {
			return nil, fmt.Errorf("network %s: %w", m.Keys[i], err)
		}
		ss, err := lut.Signatures(n.Graph)
		if err != nil {
			return nil, fmt.Errorf("network %s: %w", m.Keys[i], err)
		}
		row := map[int]float64{}
		for _, s := range ss {
			k := s.String()
			j, ok := d.index[k]
			if !ok {
				j = len(d.sigs)
				d.index[k] = j
				d.sigs = append(d.sigs, s)
			}
			row[j]++
		}
		d.rows = append(d.rows, row)
	}
	return d, nil
}

// fitNNLS fits y ~ c + sum_j x_j * count_j with x >= 0 (a latency table
// cannot hold negative entries) and a small ridge toward 0 on x, by
// coordinate descent on the normal equations: the problem is a convex
// quadratic over a box, so cyclic exact coordinate minimisation converges.
// The intercept c is free. Only rows in use are fitted.
func fitNNLS(d *lutData, use []int, ridge float64) (c float64, x []float64) {
	p := len(d.sigs) + 1 // last column: intercept
	ata := make([]float64, p*p)
	atb := make([]float64, p)
	for _, i := range use {
		cols := make([]int, 0, len(d.rows[i])+1)
		vals := make([]float64, 0, len(d.rows[i])+1)
		keys := make([]int, 0, len(d.rows[i]))
		for j := range d.rows[i] {
			keys = append(keys, j)
		}
		sort.Ints(keys) // fixed summation order: the same result on every run
		for _, j := range keys {
			cols = append(cols, j)
			vals = append(vals, d.rows[i][j])
		}
		cols = append(cols, p-1)
		vals = append(vals, 1)
		for a, ja := range cols {
			atb[ja] += vals[a] * d.y[i]
			for b, jb := range cols {
				ata[ja*p+jb] += vals[a] * vals[b]
			}
		}
	}
	for j := 0; j < p-1; j++ {
		ata[j*p+j] += ridge
	}
	z := make([]float64, p)
	for sweep := 0; sweep < 2000; sweep++ {
		var change float64
		for j := 0; j < p; j++ {
			if ata[j*p+j] == 0 {
				continue // a signature no training network has
			}
			g := -atb[j]
			for k := 0; k < p; k++ {
				g += ata[j*p+k] * z[k]
			}
			nz := z[j] - g/ata[j*p+j]
			if j < p-1 && nz < 0 {
				nz = 0
			}
			change = math.Max(change, math.Abs(nz-z[j]))
			z[j] = nz
		}
		if change < 1e-12 {
			break
		}
	}
	return z[p-1], z[:p-1]
}

func (d *lutData) predict(c float64, x []float64, i int) float64 {
	v := c
	for j, n := range d.rows[i] {
		v += x[j] * n
	}
	return v
}

// runLUT fits a per-op table (one latency per block signature) to
// whole-network measurements, the additive model nn-Meter and
// HW-NAS-Bench build from kernels, here learned from networks.
func runLUT(sp space.Space, m *latency.Measurements, opt Options, folds int, method string, res *Result) (*Result, error) {
	d, err := lutDesign(sp, m, opt.Resolution)
	if err != nil {
		return nil, err
	}
	const ridge = 1e-6
	fold := latency.Folds(len(m.MS), folds, opt.Seed)
	pred := make([]float64, len(m.MS))
	for k := 0; k < folds; k++ {
		var train, test []int
		for i, f := range fold {
			if f == k {
				test = append(test, i)
			} else {
				train = append(train, i)
			}
		}
		c, x := fitNNLS(d, train, ridge)
		for _, i := range test {
			pred[i] = d.predict(c, x, i)
		}
	}
	acc, err := latency.Score(method, pred, m.MS)
	if err != nil {
		return nil, err
	}
	all := make([]int, len(m.MS))
	for i := range all {
		all[i] = i
	}
	c, x := fitNNLS(d, all, ridge)
	t := lut.New(opt.Name, fmt.Sprintf("fitted to %d measured %s networks (%s)", len(m.MS), sp.Name(), acc), c)
	for j, s := range d.sigs {
		if err := t.Set(s, x[j]); err != nil {
			return nil, err
		}
	}
	res.Accuracy, res.Model = acc, t
	res.save = func(w io.Writer) error { return t.WriteCSV(w) }
	return res, nil
}

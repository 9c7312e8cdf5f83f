package linear

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// ridgeFit solves the weighted ridge least-squares problem
//
//	min_b,w  sum_i u_i (y_i - b - sum_{j in rows[i]} w_j)^2 + sum_j pen_j w_j^2
//
// over binary rows (rows[i] lists the features row i switches on) by the
// normal equations and a Cholesky factorisation. The rows are sparse (a few
// dozen of a thousand or more features), so X'X is accumulated pair by
// pair instead of by a dense product: for 4,000 FBNet rows that is a
// million additions, and the factorisation of the (dim+1)-square system
// dominates. The bias is never penalised. Every step is sequential, so the
// result does not depend on the number of cores.
func ridgeFit(dim int, rows [][]int, y, u, pen []float64) (bias float64, w []float64, err error) {
	n := dim + 1 // column 0 is the bias
	a := mat.NewSymDense(n, nil)
	raw := a.RawSymmetric()
	at := func(i, j int) *float64 { // upper triangle, i <= j
		return &raw.Data[i*raw.Stride+j]
	}
	rhs := make([]float64, n)
	for i, r := range rows {
		ui := u[i]
		*at(0, 0) += ui
		rhs[0] += ui * y[i]
		for k, p := range r {
			*at(0, p+1) += ui
			rhs[p+1] += ui * y[i]
			for _, q := range r[k:] { // r is increasing, so p <= q
				*at(p+1, q+1) += ui
			}
		}
	}
	for j := range dim {
		*at(j+1, j+1) += pen[j]
	}
	var ch mat.Cholesky
	if !ch.Factorize(a) {
		return 0, nil, fmt.Errorf("linear: the least-squares system is singular (a choice that no training network uses, and no ridge penalty); set Options.Ridge > 0")
	}
	var sol mat.VecDense
	if err := ch.SolveVecTo(&sol, mat.NewVecDense(n, rhs)); err != nil {
		return 0, nil, fmt.Errorf("linear: solving the least-squares system: %w", err)
	}
	w = make([]float64, dim)
	for j := range w {
		w[j] = sol.AtVec(j + 1)
	}
	bias = sol.AtVec(0)
	if math.IsNaN(bias) || math.IsInf(bias, 0) {
		return 0, nil, fmt.Errorf("linear: the least-squares system is numerically singular; set Options.Ridge > 0")
	}
	for _, v := range w {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, nil, fmt.Errorf("linear: the least-squares system is numerically singular; set Options.Ridge > 0")
		}
	}
	return bias, w, nil
}

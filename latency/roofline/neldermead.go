package roofline

import (
	"math"

	"gonum.org/v1/gonum/optimize"
)

// nelderMead minimises f from x0 with gonum's Nelder-Mead simplex method,
// starting from an axis-aligned simplex of the given size, for at most
// maxEval evaluations or until the best value stops improving by more than
// tol. It returns the best point and value and the evaluations used. It
// runs serially, so the result does not depend on the number of cores.
func nelderMead(f func([]float64) float64, x0 []float64, size float64, maxEval int, tol float64) ([]float64, float64, int) {
	evals := 0
	p := optimize.Problem{Func: func(x []float64) float64 {
		evals++
		v := f(x)
		if math.IsNaN(v) {
			return math.Inf(1)
		}
		return v
	}}
	settings := &optimize.Settings{
		FuncEvaluations: max(maxEval, 1),
		Converger:       &optimize.FunctionConverge{Absolute: tol, Iterations: 50 * (len(x0) + 1)},
	}
	res, err := optimize.Minimize(p, x0, settings, &optimize.NelderMead{SimplexSize: size})
	if res == nil || (err != nil && res.X == nil) {
		return append([]float64(nil), x0...), f(x0), evals
	}
	return res.X, res.F, evals
}

package als

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"

	"github.com/marquee/marquee/features"
)

// errNotPositiveDefinite reports a row whose normal equations have no
// Cholesky factorisation, which happens only when values or factors are
// extreme.
var errNotPositiveDefinite = errors.New("als: normal equations are not positive definite; check the input scale and raise the regularisation")

// system is a symmetric positive definite system a·x = b of size n, with the
// upper triangle of a stored row by row. It is reused across rows to avoid
// allocations.
type system struct {
	n    int
	a, b []float64
}

func newSystem(n int) *system {
	return &system{n: n, a: make([]float64, n*n), b: make([]float64, n)}
}

func (s *system) reset() {
	clear(s.a)
	clear(s.b)
}

// addOuter adds w·x·xᵀ to a.
func (s *system) addOuter(w float64, x []float64) {
	for k := 0; k < s.n; k++ {
		floats.AddScaled(s.a[k*s.n+k:(k+1)*s.n], w*x[k], x[k:])
	}
}

func (s *system) addDiagonal(v float64) {
	for k := 0; k < s.n; k++ {
		s.addToDiagonal(k, v)
	}
}

func (s *system) addToDiagonal(k int, v float64) { s.a[k*s.n+k] += v }

// solve overwrites b with the solution and a with its Cholesky factor. It
// reports false when a is not positive definite.
func (s *system) solve() bool {
	t, ok := lapack64.Potrf(blas64.Symmetric{Uplo: blas.Upper, N: s.n, Stride: s.n, Data: s.a})
	if !ok {
		return false
	}
	lapack64.Potrs(t, blas64.General{Rows: s.n, Cols: 1, Stride: 1, Data: s.b})
	return true
}

// randomFactors returns a rows-by-f matrix of normal draws with standard
// deviation 0.1/sqrt(f).
func randomFactors(rows, f int, rng *rand.Rand) *mat.Dense {
	data := make([]float64, rows*f)
	scale := 0.1 / math.Sqrt(float64(f))
	for k := range data {
		data[k] = rng.NormFloat64() * scale
	}
	return newDense(rows, f, data)
}

// newDense is mat.NewDense that also accepts zero rows, which gonum rejects.
func newDense(rows, cols int, data []float64) *mat.Dense {
	if rows == 0 {
		return &mat.Dense{}
	}
	return mat.NewDense(rows, cols, data)
}

// rows returns the number of rows of m.
func rows(m *mat.Dense) int {
	r, _ := m.Dims()
	return r
}

// gram returns the full f-by-f matrix qᵀq, row by row.
func gram(q *mat.Dense, f int) []float64 {
	g := make([]float64, f*f)
	for i := 0; i < rows(q); i++ {
		y := q.RawRowView(i)
		for k := 0; k < f; k++ {
			floats.AddScaled(g[k*f+k:(k+1)*f], y[k], y[k:])
		}
	}
	for k := 0; k < f; k++ {
		for l := 0; l < k; l++ {
			g[k*f+l] = g[l*f+k]
		}
	}
	return g
}

// checkInput returns an error for a value of r that is not finite, or that
// is negative when nonNegative is set.
func checkInput(r *features.CSR, nonNegative bool) error {
	for u := 0; u < r.Rows; u++ {
		cols, vals := r.Row(u)
		for k, v := range vals {
			if !validValue(v, nonNegative) {
				return fmt.Errorf("als: invalid value %v at user %d, item %d: %s", v, u, cols[k], wantValue(nonNegative))
			}
		}
	}
	return nil
}

func validValue(v float64, nonNegative bool) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0) && (!nonNegative || v >= 0)
}

func wantValue(nonNegative bool) string {
	if nonNegative {
		return "want a finite value >= 0"
	}
	return "want a finite value"
}

// checkFactors returns an error naming the first row of m that holds a
// value that is not finite.
func checkFactors(side string, m *mat.Dense) error {
	for i := 0; i < rows(m); i++ {
		if !allFinite(m.RawRowView(i)) {
			return fmt.Errorf("als: %s factors of row %d are not finite", side, i)
		}
	}
	return nil
}

func checkBiases(side string, b []float64) error {
	for i, v := range b {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("als: %s bias of row %d is %v", side, i, v)
		}
	}
	return nil
}

func checkLoss(iter int, loss float64) error {
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return fmt.Errorf("als: training diverged: loss is %v after iteration %d", loss, iter)
	}
	return nil
}

// cancelled returns ctx.Err() when ctx is done, so that a cancelled run
// returns exactly that, and err otherwise.
func cancelled(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func allFinite(x []float64) bool {
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// sum adds xs in index order, so that a parallel computation that stores
// per-row terms gives the same total on every run.
func sum(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}

// scoreRow writes q·x into dst for every row q of m.
func scoreRow(m *mat.Dense, x, dst []float64) {
	if rows(m) == 0 {
		return
	}
	raw := m.RawMatrix()
	blas64.Gemv(blas.NoTrans, 1, raw, blas64.Vector{N: len(x), Inc: 1, Data: x}, 0,
		blas64.Vector{N: raw.Rows, Inc: 1, Data: dst})
}

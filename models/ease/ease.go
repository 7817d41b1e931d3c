// Package ease implements EASE (Embarrassingly Shallow Autoencoder), an
// item-to-item linear model with a closed form.
//
// Given a user-by-item matrix X, EASE finds the item-by-item weights B that
// minimise |X - X·B|² + Lambda·|B|² under the constraint that B has a zero
// diagonal, so no item predicts itself. With P = (XᵀX + Lambda·I)⁻¹ the
// solution is B[i][j] = -P[i][j] / P[j][j] for i ≠ j. A user's score of item
// j is the sum over the user's items i of X[u][i]·B[i][j].
//
// Only items with at least MinCount users take part: the others are neither
// used to predict nor predicted, and score NaN, which topn never selects.
//
// A model takes one of two forms, whichever inverts the smaller matrix:
//
//   - With fewer users than kept items, the user-space form inverts
//     K = (X·Xᵀ + Lambda·I)⁻¹, users by users, and scores exactly through
//     P = (I - Xᵀ·K·X) / Lambda without ever holding an item-by-item
//     matrix. Memory grows as users²; time as users³ plus the entries of X
//     times users.
//   - Otherwise the item-space form inverts the items-by-items Gram matrix
//     and keeps, for each item, its Neighbors weights of largest magnitude,
//     so that it stays small and scores fast. Memory grows as items², about
//     650 MB in float64 for 9,000 items, and time as items³. MinCount is
//     the lever that bounds both on large catalogues, and MaxSize turns a
//     matrix too large to invert into an error.
//
// Training involves no randomness and its result does not depend on the
// number of goroutines. A cancelled context stops training between steps and
// Train returns ctx.Err(); the matrix inversion itself runs to its end. A
// Model is immutable after training and safe for concurrent use.
package ease

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/marquee/marquee/features"
	"github.com/marquee/marquee/models/internal/parallel"
)

// Config sets up training. A zero field takes the default given with it.
type Config struct {
	// Lambda weighs the squared norm of the weights; default 400. Its scale
	// follows the squared scale of the input values.
	Lambda float64
	// MinCount is the number of users an item needs to take part; default 3.
	MinCount int
	// Neighbors is the number of weights the item-space form keeps per item,
	// largest magnitude first; default 1000. The user-space form is exact.
	Neighbors int
	// MaxSize bounds the side of the matrix inverted, the smaller of the
	// number of users and of kept items; default 15,000, about 1.8 GB in
	// float64, held about three times during the inversion. Training
	// returns an error above it.
	MaxSize int
	// Workers is the number of goroutines; default one per CPU.
	Workers int
}

// Defaults returns c with every zero field replaced by its default.
func (c Config) Defaults() Config {
	if c.Lambda == 0 {
		c.Lambda = 400
	}
	if c.MinCount == 0 {
		c.MinCount = 3
	}
	if c.Neighbors == 0 {
		c.Neighbors = 1000
	}
	if c.MaxSize == 0 {
		c.MaxSize = 15_000
	}
	c.Workers = parallel.Workers(c.Workers)
	return c
}

// Validate reports the first field whose value is out of range.
func (c Config) Validate() error {
	switch {
	case !(c.Lambda > 0) || math.IsInf(c.Lambda, 0):
		return fmt.Errorf("ease: Lambda is %v, want a finite value > 0", c.Lambda)
	case c.MinCount < 1:
		return fmt.Errorf("ease: MinCount is %d, want > 0", c.MinCount)
	case c.Neighbors < 1:
		return fmt.Errorf("ease: Neighbors is %d, want > 0", c.Neighbors)
	case c.MaxSize < 1:
		return fmt.Errorf("ease: MaxSize is %d, want > 0", c.MaxSize)
	case c.Workers < 1:
		return fmt.Errorf("ease: Workers is %d, want > 0", c.Workers)
	}
	return nil
}

// Parts are what a trained model holds besides its training matrix, for
// saving and rebuilding it. Exactly one form is set.
type Parts struct {
	// Weights is the item-space form: an item-by-item matrix whose row i
	// holds the kept weights of item i towards the items it predicts, in
	// increasing item order.
	Weights *features.CSR

	// Inverse and Diagonal are the user-space form: K, users by users, row
	// by row, and the diagonal of P for every item (0 for items that do not
	// take part).
	Inverse  []float64
	Diagonal []float64
}

// Model scores the users of its training matrix.
type Model struct {
	train *features.CSR // users x items, the values scores are made of
	kept  []bool        // items that take part
	parts Parts
	users *userSpace // set for the user-space form
}

// Train solves the weights of r, a user-by-item matrix of any finite values.
// It returns an error for a value that is not finite and for a matrix in
// which no item has MinCount users.
func Train(ctx context.Context, r *features.CSR, cfg Config) (*Model, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkValues(r); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	kept := keptItems(r, cfg.MinCount)
	x, cols := keepColumns(r, kept)
	if len(cols) == 0 {
		return nil, fmt.Errorf("ease: no item has %d users or more", cfg.MinCount)
	}
	if size := min(x.Rows, x.Cols); size > cfg.MaxSize {
		return nil, fmt.Errorf("ease: %d users and %d kept items: the smaller, %d, is above MaxSize %d; raise MinCount to keep fewer items",
			x.Rows, x.Cols, size, cfg.MaxSize)
	}
	m := &Model{train: r, kept: kept}
	var err error
	if x.Rows < x.Cols {
		m.users, err = trainUserSpace(ctx, x, cols, cfg)
		if err == nil {
			m.parts = Parts{Inverse: m.users.k, Diagonal: m.users.fullDiagonal(r.Cols)}
		}
	} else {
		m.parts.Weights, err = trainItemSpace(ctx, x, cols, r.Cols, cfg)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// New rebuilds a model from the user-by-item matrix r it was trained on and
// its Parts. cfg.MinCount and cfg.Lambda must be those of training.
func New(r *features.CSR, parts Parts, cfg Config) (*Model, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	kept := keptItems(r, cfg.MinCount)
	m := &Model{train: r, kept: kept, parts: parts}
	switch w := parts.Weights; {
	case w != nil && parts.Inverse == nil:
		if w.Rows != r.Cols || w.Cols != r.Cols {
			return nil, fmt.Errorf("ease: weights are %d x %d, want %d x %d", w.Rows, w.Cols, r.Cols, r.Cols)
		}
	case w == nil && parts.Inverse != nil:
		if len(parts.Inverse) != r.Rows*r.Rows || len(parts.Diagonal) != r.Cols {
			return nil, fmt.Errorf("ease: %d inverse entries and %d diagonal entries, want %d and %d",
				len(parts.Inverse), len(parts.Diagonal), r.Rows*r.Rows, r.Cols)
		}
		x, cols := keepColumns(r, kept)
		m.users = newUserSpace(x, cols, parts.Inverse, parts.Diagonal, cfg.Lambda)
	default:
		return nil, fmt.Errorf("ease: want either weights or an inverse and a diagonal")
	}
	return m, nil
}

// Parts returns what the model is rebuilt from. The caller must not modify
// it.
func (m *Model) Parts() Parts { return m.parts }

// Kept reports whether item i takes part in the model.
func (m *Model) Kept(i int) bool { return m.kept[i] }

// Score writes into dst the score of every item for user u, a row of the
// training matrix. Items that do not take part score NaN.
func (m *Model) Score(u int, dst []float64) {
	if m.users != nil {
		m.users.score(m.train, u, dst)
	} else {
		scoreWeights(m.train, m.parts.Weights, u, dst)
	}
	for i, ok := range m.kept {
		if !ok {
			dst[i] = math.NaN()
		}
	}
}

func checkValues(r *features.CSR) error {
	for u := 0; u < r.Rows; u++ {
		cols, vals := r.Row(u)
		for k, v := range vals {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("ease: invalid value %v at user %d, item %d: want a finite value", v, u, cols[k])
			}
		}
	}
	return nil
}

// keptItems marks the columns of r with at least minCount entries.
func keptItems(r *features.CSR, minCount int) []bool {
	counts := make([]int, r.Cols)
	for _, c := range r.Indices {
		counts[c]++
	}
	kept := make([]bool, r.Cols)
	for i, n := range counts {
		kept[i] = n >= minCount
	}
	return kept
}

// keepColumns returns r restricted to the kept columns, renumbered in
// increasing order, and the original index of each new column.
func keepColumns(r *features.CSR, kept []bool) (*features.CSR, []int) {
	newIndex := make([]int32, r.Cols)
	var cols []int
	for i, ok := range kept {
		newIndex[i] = -1
		if ok {
			newIndex[i] = int32(len(cols))
			cols = append(cols, i)
		}
	}
	x := &features.CSR{Rows: r.Rows, Cols: len(cols), Indptr: make([]int, r.Rows+1)}
	for u := 0; u < r.Rows; u++ {
		items, vals := r.Row(u)
		for k, i := range items {
			if j := newIndex[i]; j >= 0 {
				x.Indices = append(x.Indices, j)
				x.Values = append(x.Values, vals[k])
			}
		}
		x.Indptr[u+1] = len(x.Indices)
	}
	return x, cols
}

// invert returns the inverse of the symmetric positive definite matrix held
// row by row in a, of size n.
func invert(a []float64, n int) (*mat.SymDense, error) {
	var c mat.Cholesky
	if !c.Factorize(mat.NewSymDense(n, a)) {
		return nil, fmt.Errorf("ease: the regularised Gram matrix is not positive definite; raise Lambda")
	}
	var inv mat.SymDense
	if err := c.InverseTo(&inv); err != nil {
		return nil, fmt.Errorf("ease: invert the Gram matrix: %w", err)
	}
	return &inv, nil
}

// gram returns x·xᵀ + lambda·I, an n-by-n matrix held row by row, where n
// is x.Rows and xt is the transpose of x.
func gram(ctx context.Context, x, xt *features.CSR, lambda float64, workers int) ([]float64, error) {
	n := x.Rows
	out := make([]float64, n*n)
	err := parallel.Rows(ctx, n, workers, 16, func(_, lo, hi int) error {
		for a := lo; a < hi; a++ {
			row := out[a*n : (a+1)*n]
			cols, vals := x.Row(a)
			for k, c := range cols {
				others, ws := xt.Row(int(c))
				v := vals[k]
				for l, b := range others {
					row[b] += v * ws[l]
				}
			}
			row[a] += lambda
		}
		return nil
	})
	return out, err
}

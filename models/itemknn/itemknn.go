// Package itemknn recommends the items most similar to those a user already
// has, by cosine similarity between item columns of the user-by-item matrix.
//
// Training computes each item's K nearest neighbours with sparse products,
// item by item, on parallel goroutines; it never builds a dense item-by-item
// matrix. It involves no randomness, and the neighbours do not depend on the
// number of goroutines. A cancelled context stops training and Train returns
// ctx.Err(). A Model is immutable after training and safe for concurrent use.
package itemknn

import (
	"context"
	"fmt"
	"math"

	"github.com/marquee/marquee/features"
	"github.com/marquee/marquee/models/internal/parallel"
	"github.com/marquee/marquee/models/topn"
)

// Weighting is a reweighting of the user-by-item matrix applied before
// similarities are computed. Items play the part of documents and users the
// part of terms, so users with many items count less.
type Weighting int

const (
	// NoWeighting uses the values as they are.
	NoWeighting Weighting = iota
	// TFIDF uses sqrt(value) * log(items / items of the user).
	TFIDF
	// BM25 uses value*(K1+1) / (K1*norm + value) * log(items / items of the
	// user), where norm = 1-B + B*(item's total / mean item total).
	BM25
)

func (w Weighting) String() string {
	switch w {
	case NoWeighting:
		return "none"
	case TFIDF:
		return "tfidf"
	case BM25:
		return "bm25"
	}
	return fmt.Sprintf("Weighting(%d)", int(w))
}

// Config sets up training. A zero field takes the default given with it.
type Config struct {
	K      int     // neighbours kept per item; default 20
	Shrink float64 // added to the product of norms in the cosine; default 30

	// Binary counts every stored entry as 1 in similarities and scores; by
	// default the matrix's values are used.
	Binary    bool
	Weighting Weighting
	K1, B     float64 // BM25 parameters; default 1.2 and 0.75

	Workers int // goroutines; default one per CPU
}

// Defaults returns c with every zero field replaced by its default.
func (c Config) Defaults() Config {
	if c.K == 0 {
		c.K = 20
	}
	if c.Shrink == 0 {
		c.Shrink = 30
	}
	if c.K1 == 0 {
		c.K1 = 1.2
	}
	if c.B == 0 {
		c.B = 0.75
	}
	c.Workers = parallel.Workers(c.Workers)
	return c
}

// Validate reports the first field whose value is out of range.
func (c Config) Validate() error {
	switch {
	case c.K < 1:
		return fmt.Errorf("itemknn: K is %d, want > 0", c.K)
	case !(c.Shrink >= 0) || math.IsInf(c.Shrink, 0):
		return fmt.Errorf("itemknn: Shrink is %v, want a finite value >= 0", c.Shrink)
	case c.Weighting < NoWeighting || c.Weighting > BM25:
		return fmt.Errorf("itemknn: Weighting is %v, want none, tfidf or bm25", c.Weighting)
	case !(c.K1 > 0) || math.IsInf(c.K1, 0):
		return fmt.Errorf("itemknn: K1 is %v, want a finite value > 0", c.K1)
	case !(c.B >= 0 && c.B <= 1):
		return fmt.Errorf("itemknn: B is %v, want a value in [0, 1]", c.B)
	case c.Workers < 1:
		return fmt.Errorf("itemknn: Workers is %d, want > 0", c.Workers)
	}
	return nil
}

// Model holds each item's nearest neighbours and the training matrix whose
// rows it scores.
type Model struct {
	train     *features.CSR // users x items, with the values used in scores
	neighbors *features.CSR // items x items, at most K entries a row
}

// Train computes the neighbours of every item of r, a user-by-item matrix.
// It returns an error for a value that is not finite, or negative under a
// weighting.
func Train(ctx context.Context, r *features.CSR, cfg Config) (*Model, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkValues(r, cfg); err != nil {
		return nil, err
	}

	x := inputValues(r, cfg.Binary)
	w := weight(x, cfg)
	nb, err := neighbors(ctx, w, cfg)
	if err != nil {
		return nil, err // only ctx.Err()
	}
	return &Model{train: x, neighbors: nb}, nil
}

// New rebuilds a model from a user-by-item matrix r and stored neighbours,
// such as those of Neighbors. Only cfg.Binary is used.
func New(r, neighbors *features.CSR, cfg Config) (*Model, error) {
	if neighbors.Rows != r.Cols || neighbors.Cols != r.Cols {
		return nil, fmt.Errorf("itemknn: neighbours are %d x %d, want %d x %d",
			neighbors.Rows, neighbors.Cols, r.Cols, r.Cols)
	}
	return &Model{train: inputValues(r, cfg.Binary), neighbors: neighbors}, nil
}

func checkValues(r *features.CSR, cfg Config) error {
	for u := 0; u < r.Rows; u++ {
		cols, vals := r.Row(u)
		for k, v := range vals {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("itemknn: invalid value %v at user %d, item %d: want a finite value", v, u, cols[k])
			}
			if !cfg.Binary && cfg.Weighting != NoWeighting && v < 0 {
				return fmt.Errorf("itemknn: invalid value %v at user %d, item %d: want a value >= 0 under %v weighting",
					v, u, cols[k], cfg.Weighting)
			}
		}
	}
	return nil
}

func inputValues(r *features.CSR, binary bool) *features.CSR {
	if !binary {
		return r
	}
	return r.Map(func(float64) float64 { return 1 })
}

// Neighbors returns the item-by-item matrix of similarities: row i holds the
// K nearest neighbours of item i in increasing item order. The caller must
// not modify it.
func (m *Model) Neighbors() *features.CSR { return m.neighbors }

// Score writes into dst the sum, over the items of user u, of the item's
// value times its similarity to each item.
func (m *Model) Score(u int, dst []float64) {
	clear(dst)
	items, vals := m.train.Row(u)
	for k, j := range items {
		cols, sims := m.neighbors.Row(int(j))
		v := vals[k]
		for n, c := range cols {
			dst[c] += v * sims[n]
		}
	}
}

// Similar returns up to n neighbours of item, most similar first, ties broken
// by lower index, with their similarities.
func (m *Model) Similar(item, n int) ([]int, []float64) {
	var h topn.Heap
	h.Reset(n)
	cols, sims := m.neighbors.Row(item)
	for k, c := range cols {
		h.Offer(int(c), sims[k])
	}
	pairs := h.Drain(nil)
	idx, scores := make([]int, len(pairs)), make([]float64, len(pairs))
	for k, p := range pairs {
		idx[k], scores[k] = p.Index, p.Score
	}
	return idx, scores
}

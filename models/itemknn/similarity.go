package itemknn

import (
	"context"
	"math"
	"slices"

	"github.com/marquee/marquee/features"
	"github.com/marquee/marquee/models/internal/parallel"
	"github.com/marquee/marquee/models/topn"
)

// weight applies cfg.Weighting to x, a user-by-item matrix.
func weight(x *features.CSR, cfg Config) *features.CSR {
	if cfg.Weighting == NoWeighting {
		return x
	}
	idf := make([]float64, x.Rows)
	for u := range idf {
		if n := x.RowLen(u); n > 0 {
			idf[u] = math.Log(float64(x.Cols) / float64(n))
		}
	}
	out := &features.CSR{Rows: x.Rows, Cols: x.Cols, Indptr: x.Indptr, Indices: x.Indices, Values: make([]float64, x.NNZ())}
	norm := bm25Norms(x, cfg.B)
	for u := 0; u < x.Rows; u++ {
		for p := x.Indptr[u]; p < x.Indptr[u+1]; p++ {
			v := x.Values[p]
			if cfg.Weighting == TFIDF {
				out.Values[p] = math.Sqrt(v) * idf[u]
			} else {
				out.Values[p] = v * (cfg.K1 + 1) / (cfg.K1*norm[x.Indices[p]] + v) * idf[u]
			}
		}
	}
	return out
}

// bm25Norms returns 1-b + b*(item total / mean item total) for every item.
func bm25Norms(x *features.CSR, b float64) []float64 {
	totals := make([]float64, x.Cols)
	var sum float64
	for p, c := range x.Indices {
		totals[c] += x.Values[p]
		sum += x.Values[p]
	}
	mean := sum / float64(max(x.Cols, 1))
	for i, t := range totals {
		totals[i] = 1 - b
		if mean > 0 {
			totals[i] += b * t / mean
		}
	}
	return totals
}

// neighbors returns the K most similar items of every item of w, a
// user-by-item matrix, as an item-by-item matrix.
func neighbors(ctx context.Context, w *features.CSR, cfg Config) (*features.CSR, error) {
	wt := w.Transpose()
	norms := make([]float64, wt.Rows)
	for i := range norms {
		_, vals := wt.Row(i)
		for _, v := range vals {
			norms[i] += v * v
		}
		norms[i] = math.Sqrt(norms[i])
	}

	rows := make([][]topn.Pair, wt.Rows)
	pool := make([]*accumulator, cfg.Workers)
	err := parallel.Rows(ctx, wt.Rows, cfg.Workers, 32, func(worker, lo, hi int) error {
		if pool[worker] == nil {
			pool[worker] = newAccumulator(wt.Rows)
		}
		a := pool[worker]
		for i := lo; i < hi; i++ {
			a.add(w, wt, i)
			rows[i] = a.nearest(i, norms, cfg)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return assemble(rows), nil
}

// accumulator holds one goroutine's scratch space: a dense row of dot
// products and the list of its entries that are set.
type accumulator struct {
	dots    []float64
	marked  []bool
	touched []int32
	heap    topn.Heap
}

func newAccumulator(items int) *accumulator {
	return &accumulator{dots: make([]float64, items), marked: make([]bool, items)}
}

// add accumulates the dot products of item i with every item that shares a
// user with it.
func (a *accumulator) add(w, wt *features.CSR, i int) {
	users, us := wt.Row(i)
	for k, u := range users {
		items, vs := w.Row(int(u))
		x := us[k]
		for n, j := range items {
			if !a.marked[j] {
				a.marked[j] = true
				a.touched = append(a.touched, j)
			}
			a.dots[j] += x * vs[n]
		}
	}
}

// nearest turns the accumulated dot products into similarities, keeps the K
// best above zero in increasing item order, and clears the scratch space.
func (a *accumulator) nearest(i int, norms []float64, cfg Config) []topn.Pair {
	a.heap.Reset(cfg.K)
	for _, j := range a.touched {
		if int(j) != i {
			sim := a.dots[j] / (norms[i]*norms[j] + cfg.Shrink)
			if sim > 0 {
				a.heap.Offer(int(j), sim)
			}
		}
		a.dots[j], a.marked[j] = 0, false
	}
	a.touched = a.touched[:0]

	pairs := a.heap.Drain(nil)
	slices.SortFunc(pairs, func(p, q topn.Pair) int { return p.Index - q.Index })
	return pairs
}

func assemble(rows [][]topn.Pair) *features.CSR {
	m := &features.CSR{Rows: len(rows), Cols: len(rows), Indptr: make([]int, len(rows)+1)}
	for i, row := range rows {
		for _, p := range row {
			m.Indices = append(m.Indices, int32(p.Index))
			m.Values = append(m.Values, p.Score)
		}
		m.Indptr[i+1] = len(m.Indices)
	}
	return m
}

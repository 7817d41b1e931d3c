package ease

import (
	"context"
	"math"

	"github.com/marquee/marquee/features"
	"github.com/marquee/marquee/models/internal/parallel"
)

// trainItemSpace inverts the items-by-items Gram matrix of x and returns
// the kept weights of every item, indexed in the original space of n
// items.
func trainItemSpace(ctx context.Context, x *features.CSR, cols []int, n int, cfg Config) (*features.CSR, error) {
	s, err := newPrimalSolver(ctx, x, cfg)
	if err != nil {
		return nil, err
	}
	return solveRows(ctx, s, cols, n, cfg)
}

// scoreWeights writes into dst the sum, over the items of user u of r, of
// the item's value times its weights.
func scoreWeights(r, w *features.CSR, u int, dst []float64) {
	clear(dst)
	items, vals := r.Row(u)
	for k, i := range items {
		cols, ws := w.Row(int(i))
		v := vals[k]
		for n, j := range cols {
			dst[j] += v * ws[n]
		}
	}
}

// solveRows turns the rows of P into the kept weights of every item,
// indexed in the original space of n items.
func solveRows(ctx context.Context, s *primalSolver, cols []int, n int, cfg Config) (*features.CSR, error) {
	d := s.diag
	k := len(cols)
	rows := make([]sparseRow, k)
	type scratch struct{ p, abs []float64 }
	pool := make([]*scratch, cfg.Workers)
	err := parallel.Rows(ctx, k, cfg.Workers, 16, func(w, lo, hi int) error {
		if pool[w] == nil {
			pool[w] = &scratch{p: make([]float64, k), abs: make([]float64, k)}
		}
		sc := pool[w]
		for i := lo; i < hi; i++ {
			s.row(i, sc.p)
			rows[i] = strongest(sc.p, sc.abs, d, i, cfg.Neighbors)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return assemble(rows, cols, n), nil
}

// sparseRow is one row of kept weights, columns in increasing order.
type sparseRow struct {
	cols    []int32
	weights []float64
}

// strongest returns the at most n weights B[i][j] = -p[j]/d[j], j ≠ i, of
// largest magnitude, in increasing j. Of equal magnitudes the lower j is
// kept. Zero weights are dropped. It overwrites p with the weights and uses
// abs as scratch space.
func strongest(p, abs, d []float64, i, n int) sparseRow {
	for j := range p {
		p[j] = -p[j] / d[j]
	}
	p[i] = 0
	for j, v := range p {
		abs[j] = math.Abs(v)
	}
	cut := 0.0
	if n < len(p) {
		cut = nthLargest(abs, n)
	}
	above := 0
	for _, v := range p {
		if math.Abs(v) > cut {
			above++
		}
	}
	ties := n - above // weights of magnitude exactly cut that still fit
	size := min(n, len(p))
	row := sparseRow{cols: make([]int32, 0, size), weights: make([]float64, 0, size)}
	for j, v := range p {
		a := math.Abs(v)
		if a == 0 || a < cut || (a == cut && ties <= 0) {
			continue
		}
		if a == cut {
			ties--
		}
		row.cols = append(row.cols, int32(j))
		row.weights = append(row.weights, v)
	}
	return row
}

// nthLargest returns the n-th largest value of a, 1 <= n <= len(a),
// reordering a.
func nthLargest(a []float64, n int) float64 {
	lo, hi, target := 0, len(a)-1, n-1
	for lo < hi {
		// Median of three as the pivot keeps sorted input linear.
		mid := lo + (hi-lo)/2
		pivot := median(a[lo], a[mid], a[hi])
		l, r := lo, hi
		for l <= r {
			for a[l] > pivot {
				l++
			}
			for a[r] < pivot {
				r--
			}
			if l <= r {
				a[l], a[r] = a[r], a[l]
				l++
				r--
			}
		}
		switch {
		case target <= r:
			hi = r
		case target >= l:
			lo = l
		default:
			return a[target]
		}
	}
	return a[target]
}

func median(a, b, c float64) float64 {
	if a > b {
		a, b = b, a
	}
	if b > c {
		b = c
	}
	return max(a, b)
}

// assemble maps rows over the kept items back to the original n items.
func assemble(rows []sparseRow, cols []int, n int) *features.CSR {
	total := 0
	byItem := make([]*sparseRow, n)
	for k := range rows {
		byItem[cols[k]] = &rows[k]
		total += len(rows[k].cols)
	}
	w := &features.CSR{Rows: n, Cols: n, Indptr: make([]int, n+1),
		Indices: make([]int32, 0, total), Values: make([]float64, 0, total)}
	for i, row := range byItem {
		if row != nil {
			for k, j := range row.cols {
				w.Indices = append(w.Indices, int32(cols[j]))
				w.Values = append(w.Values, row.weights[k])
			}
		}
		w.Indptr[i+1] = len(w.Indices)
	}
	return w
}

// primalSolver inverts the items-by-items Gram matrix.
type primalSolver struct {
	p      []float64 // upper triangle of P, row by row with stride
	stride int
	diag   []float64
}

func newPrimalSolver(ctx context.Context, x *features.CSR, cfg Config) (*primalSolver, error) {
	xt := x.Transpose()
	g, err := gram(ctx, xt, x, cfg.Lambda, cfg.Workers)
	if err != nil {
		return nil, err
	}
	inv, err := invert(g, x.Cols)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	raw := inv.RawSymmetric()
	s := &primalSolver{p: raw.Data, stride: raw.Stride, diag: make([]float64, x.Cols)}
	for i := range s.diag {
		s.diag[i] = s.p[i*s.stride+i]
	}
	return s, nil
}

func (s *primalSolver) row(i int, dst []float64) {
	for j := 0; j < i; j++ {
		dst[j] = s.p[j*s.stride+i]
	}
	copy(dst[i:], s.p[i*s.stride+i:i*s.stride+len(dst)])
}

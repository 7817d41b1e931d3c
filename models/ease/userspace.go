package ease

import (
	"context"
	"sync"

	"gonum.org/v1/gonum/floats"

	"github.com/marquee/marquee/features"
)

// userSpace is the exact form for fewer users than items. With
// K = (X·Xᵀ + Lambda·I)⁻¹ and a = K·X·x for a user row x, the identity
// P = (I - Xᵀ·K·X) / Lambda gives x·P = (x - aᵀ·X) / Lambda, so the score
// of item j, x·B with B = I - P·diag(P)⁻¹, is
// x[j] - (x[j] - (aᵀ·X)[j]) / (Lambda·P[j][j]).
type userSpace struct {
	x      *features.CSR // users x kept items
	xt     *features.CSR // kept items x users
	cols   []int         // original index of each kept item
	k      []float64     // users x users, row by row
	diag   []float64     // diagonal of P over the kept items
	lambda float64

	scratch sync.Pool // of *userScratch
}

type userScratch struct {
	z, a, t []float64
}

func trainUserSpace(ctx context.Context, x *features.CSR, cols []int, cfg Config) (*userSpace, error) {
	xt := x.Transpose()
	g, err := gram(ctx, x, xt, cfg.Lambda, cfg.Workers)
	if err != nil {
		return nil, err
	}
	inv, err := invert(g, x.Rows)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m := x.Rows
	k := g // the Gram matrix is no longer needed: reuse its memory
	for a := 0; a < m; a++ {
		for b := a; b < m; b++ {
			v := inv.At(a, b)
			k[a*m+b], k[b*m+a] = v, v
		}
	}
	s := &userSpace{x: x, xt: xt, cols: cols, k: k, lambda: cfg.Lambda, diag: make([]float64, x.Cols)}
	for j := range s.diag {
		s.diag[j] = s.diagonalAt(j)
	}
	return s, nil
}

// diagonalAt returns P[j][j] = (1 - X[:,j]ᵀ·K·X[:,j]) / Lambda.
func (s *userSpace) diagonalAt(j int) float64 {
	m := s.x.Rows
	users, vals := s.xt.Row(j)
	var sum float64
	for p, a := range users {
		row := s.k[int(a)*m : (int(a)+1)*m]
		var inner float64
		for q, b := range users {
			inner += row[b] * vals[q]
		}
		sum += vals[p] * inner
	}
	return (1 - sum) / s.lambda
}

func newUserSpace(x *features.CSR, cols []int, k, fullDiag []float64, lambda float64) *userSpace {
	s := &userSpace{x: x, xt: x.Transpose(), cols: cols, k: k, lambda: lambda, diag: make([]float64, len(cols))}
	for j, c := range cols {
		s.diag[j] = fullDiag[c]
	}
	return s
}

// fullDiagonal returns the diagonal of P over all n items, 0 for the items
// that do not take part.
func (s *userSpace) fullDiagonal(n int) []float64 {
	out := make([]float64, n)
	for j, c := range s.cols {
		out[c] = s.diag[j]
	}
	return out
}

// score writes the scores of the kept items for user u into dst, at their
// original indexes.
func (s *userSpace) score(_ *features.CSR, u int, dst []float64) {
	m := s.x.Rows
	sc, _ := s.scratch.Get().(*userScratch)
	if sc == nil {
		sc = &userScratch{z: make([]float64, m), a: make([]float64, m), t: make([]float64, s.x.Cols)}
	}
	defer s.scratch.Put(sc)

	// z = X·x, a = K·z, t = aᵀ·X.
	clear(sc.z)
	items, vals := s.x.Row(u)
	for k, i := range items {
		users, ws := s.xt.Row(int(i))
		for l, v := range users {
			sc.z[v] += vals[k] * ws[l]
		}
	}
	for a := range sc.a {
		sc.a[a] = floats.Dot(s.k[a*m:(a+1)*m], sc.z)
	}
	clear(sc.t)
	for v, a := range sc.a {
		cols, ws := s.x.Row(v)
		for l, j := range cols {
			sc.t[j] += a * ws[l]
		}
	}

	clear(dst)
	for j, c := range s.cols {
		dst[c] = sc.t[j] / (s.lambda * s.diag[j])
	}
	for k, i := range items {
		dst[s.cols[i]] += vals[k] - vals[k]/(s.lambda*s.diag[i])
	}
}

package foldin

import "math"

// solve overwrites b with the solution of a·x = b for the symmetric positive
// definite n·n matrix a, which it overwrites with its Cholesky factor L
// (a = L·Lᵀ, in the lower triangle). It reports false when a is not
// positive definite.
func solve(a, b []float64, n int) bool {
	for j := range n {
		rowJ := a[j*n : j*n+j]
		d := a[j*n+j] - dot(rowJ, rowJ)
		if !(d > 0) {
			return false
		}
		d = math.Sqrt(d)
		a[j*n+j] = d
		for i := j + 1; i < n; i++ {
			a[i*n+j] = (a[i*n+j] - dot(a[i*n:i*n+j], rowJ)) / d
		}
	}
	// Forward substitution, L·y = b, then back substitution, Lᵀ·x = y.
	for i := range n {
		b[i] = (b[i] - dot(a[i*n:i*n+i], b[:i])) / a[i*n+i]
	}
	for i := n - 1; i >= 0; i-- {
		s := b[i]
		for k := i + 1; k < n; k++ {
			s -= a[k*n+i] * b[k]
		}
		b[i] = s / a[i*n+i]
	}
	return true
}

func dot(x, y []float64) float64 {
	var s float64
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

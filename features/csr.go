package features

import (
	"fmt"
	"sort"
)

// CSR is a sparse matrix in compressed sparse row form. Row i holds the
// entries Indices[Indptr[i]:Indptr[i+1]] with values Values[...] at the same
// positions, columns in increasing order and without repeats.
type CSR struct {
	Rows, Cols int
	Indptr     []int
	Indices    []int32
	Values     []float64
}

// Entry is one nonzero of a sparse matrix under construction.
type Entry struct {
	Row, Col int
	Value    float64
}

// NewCSR builds a rows-by-cols matrix from entries in any order. Entries at
// the same position are summed. It returns an error for an entry outside the
// matrix.
func NewCSR(rows, cols int, entries []Entry) (*CSR, error) {
	sorted := append([]Entry(nil), entries...)
	for _, e := range sorted {
		if e.Row < 0 || e.Row >= rows || e.Col < 0 || e.Col >= cols {
			return nil, fmt.Errorf("features: entry (%d, %d) outside a %d x %d matrix", e.Row, e.Col, rows, cols)
		}
	}
	sort.Slice(sorted, func(a, b int) bool {
		if sorted[a].Row != sorted[b].Row {
			return sorted[a].Row < sorted[b].Row
		}
		return sorted[a].Col < sorted[b].Col
	})

	m := &CSR{Rows: rows, Cols: cols, Indptr: make([]int, rows+1)}
	for i, e := range sorted {
		if i > 0 && e.Row == sorted[i-1].Row && e.Col == sorted[i-1].Col {
			m.Values[len(m.Values)-1] += e.Value
			continue
		}
		m.Indices = append(m.Indices, int32(e.Col))
		m.Values = append(m.Values, e.Value)
		m.Indptr[e.Row+1]++
	}
	for i := 0; i < rows; i++ {
		m.Indptr[i+1] += m.Indptr[i]
	}
	return m, nil
}

// NNZ returns the number of stored entries.
func (m *CSR) NNZ() int { return len(m.Values) }

// Row returns the columns and values of row i. The caller must not modify them.
func (m *CSR) Row(i int) ([]int32, []float64) {
	lo, hi := m.Indptr[i], m.Indptr[i+1]
	return m.Indices[lo:hi], m.Values[lo:hi]
}

// RowLen returns the number of entries in row i.
func (m *CSR) RowLen(i int) int { return m.Indptr[i+1] - m.Indptr[i] }

// Transpose returns the cols-by-rows transpose, also in CSR form.
func (m *CSR) Transpose() *CSR {
	t := &CSR{
		Rows: m.Cols, Cols: m.Rows,
		Indptr:  make([]int, m.Cols+1),
		Indices: make([]int32, m.NNZ()),
		Values:  make([]float64, m.NNZ()),
	}
	for _, c := range m.Indices {
		t.Indptr[c+1]++
	}
	for i := 0; i < m.Cols; i++ {
		t.Indptr[i+1] += t.Indptr[i]
	}
	next := append([]int(nil), t.Indptr[:m.Cols]...)
	for r := 0; r < m.Rows; r++ {
		cols, vals := m.Row(r)
		for k, c := range cols {
			p := next[c]
			t.Indices[p] = int32(r)
			t.Values[p] = vals[k]
			next[c]++
		}
	}
	return t
}

// Map returns a matrix with the same pattern and f applied to every value.
func (m *CSR) Map(f func(float64) float64) *CSR {
	out := &CSR{Rows: m.Rows, Cols: m.Cols, Indptr: m.Indptr, Indices: m.Indices, Values: make([]float64, len(m.Values))}
	for i, v := range m.Values {
		out.Values[i] = f(v)
	}
	return out
}

package ease

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/marquee/marquee/features"
	"github.com/marquee/marquee/models/internal/synth"
	"github.com/marquee/marquee/models/topn"
)

// bruteForce returns the dense weights of r over all items, from the
// textbook formula on the item-by-item Gram matrix.
func bruteForce(t *testing.T, r *features.CSR, lambda float64) *mat.Dense {
	t.Helper()
	x := mat.NewDense(r.Rows, r.Cols, nil)
	for u := 0; u < r.Rows; u++ {
		cols, vals := r.Row(u)
		for k, c := range cols {
			x.Set(u, int(c), vals[k])
		}
	}
	var g mat.Dense
	g.Mul(x.T(), x)
	for i := 0; i < r.Cols; i++ {
		g.Set(i, i, g.At(i, i)+lambda)
	}
	var p mat.Dense
	if err := p.Inverse(&g); err != nil {
		t.Fatal(err)
	}
	b := mat.NewDense(r.Cols, r.Cols, nil)
	for i := 0; i < r.Cols; i++ {
		for j := 0; j < r.Cols; j++ {
			if i != j {
				b.Set(i, j, -p.At(i, j)/p.At(j, j))
			}
		}
	}
	return b
}

// signed gives a sparse matrix values on both sides of zero, as ratings
// minus an offset are.
func signed(users, items, nnz int, seed uint64) *features.CSR {
	return synth.Sparse(users, items, nnz, seed).Map(func(v float64) float64 { return v - 2.5 })
}

func TestMatchesBruteForce(t *testing.T) {
	tests := []struct {
		name string
		r    *features.CSR
	}{
		{"user space: fewer users than items", signed(20, 50, 300, 1)},
		{"item space: more users than items", signed(60, 25, 400, 2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const lambda = 3
			m, err := Train(context.Background(), tt.r, Config{Lambda: lambda, MinCount: 1, Neighbors: 1000})
			if err != nil {
				t.Fatal(err)
			}
			b := bruteForce(t, tt.r, lambda)
			got := make([]float64, tt.r.Cols)
			for u := 0; u < tt.r.Rows; u++ {
				m.Score(u, got)
				cols, vals := tt.r.Row(u)
				for j := range got {
					var want float64
					for k, i := range cols {
						want += vals[k] * b.At(int(i), j)
					}
					if d := math.Abs(got[j] - want); d > 1e-9 {
						t.Fatalf("user %d: score of item %d = %v, want %v", u, j, got[j], want)
					}
				}
			}
		})
	}
}

func TestNeighborsKeepsStrongest(t *testing.T) {
	r := signed(60, 50, 600, 3) // more users than items: the item-space form
	full, err := Train(context.Background(), r, Config{MinCount: 1, Lambda: 3, Neighbors: 1000})
	if err != nil {
		t.Fatal(err)
	}
	cut, err := Train(context.Background(), r, Config{MinCount: 1, Lambda: 3, Neighbors: 5})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < r.Cols; i++ {
		cols, ws := cut.Parts().Weights.Row(i)
		if len(cols) > 5 {
			t.Fatalf("item %d keeps %d weights, want at most 5", i, len(cols))
		}
		if !slices.IsSorted(cols) {
			t.Errorf("item %d: columns %v not in increasing order", i, cols)
		}
		fullCols, fullWs := full.Parts().Weights.Row(i)
		smallest := math.Inf(1)
		for k, j := range cols {
			smallest = min(smallest, math.Abs(ws[k]))
			if p, ok := slices.BinarySearch(fullCols, j); !ok || fullWs[p] != ws[k] {
				t.Errorf("item %d: kept weight to %d = %v, not the full model's", i, j, ws[k])
			}
		}
		for k, j := range fullCols {
			if _, ok := slices.BinarySearch(cols, j); !ok && math.Abs(fullWs[k]) > smallest {
				t.Errorf("item %d: dropped weight %v to %d is stronger than a kept one (%v)", i, fullWs[k], j, smallest)
			}
		}
	}
}

func TestMinCount(t *testing.T) {
	// Item 3 has one user; it neither predicts nor is predicted.
	r, err := features.NewCSR(3, 4, []features.Entry{
		{Row: 0, Col: 0, Value: 1}, {Row: 0, Col: 1, Value: 1}, {Row: 0, Col: 3, Value: 1},
		{Row: 1, Col: 0, Value: 1}, {Row: 1, Col: 1, Value: 1}, {Row: 1, Col: 2, Value: 1},
		{Row: 2, Col: 1, Value: 1}, {Row: 2, Col: 2, Value: 1}, {Row: 2, Col: 0, Value: 1},
	})
	if err != nil {
		t.Fatal(err)
	}

	m, err := Train(context.Background(), r, Config{MinCount: 2, Lambda: 1})
	if err != nil {
		t.Fatal(err)
	}

	if n := m.Parts().Weights.RowLen(3); n != 0 {
		t.Errorf("item 3 has %d weights, want none", n)
	}
	for i := 0; i < 3; i++ {
		if cols, _ := m.Parts().Weights.Row(i); slices.Contains(cols, 3) {
			t.Errorf("item %d has a weight towards item 3", i)
		}
	}

	scores := make([]float64, 4)
	m.Score(0, scores)
	if !math.IsNaN(scores[3]) || math.IsNaN(scores[2]) {
		t.Errorf("scores = %v, want NaN for item 3 only", scores)
	}
	if got := topn.Select(scores, 4, nil); slices.Contains(got, 3) {
		t.Errorf("topn selected the dropped item: %v", got)
	}
	if m.Kept(3) || !m.Kept(0) {
		t.Errorf("Kept(3) = %v, Kept(0) = %v, want false and true", m.Kept(3), m.Kept(0))
	}
}

func TestLearnsBlocks(t *testing.T) {
	for _, shape := range [][2]int{{40, 60}, {80, 30}} {
		r := synth.TwoBlocks(shape[0], shape[1], 0.3, 0, 1)
		m, err := Train(context.Background(), r, Config{Lambda: 5, MinCount: 1})
		if err != nil {
			t.Fatal(err)
		}
		scores := make([]float64, r.Cols)
		for u := 0; u < r.Rows; u++ {
			m.Score(u, scores)
			seen, _ := r.Row(u)
			for _, i := range topn.Select(scores, 5, seen) {
				if got, want := synth.Block(i, r.Cols), synth.Block(u, r.Rows); got != want {
					t.Errorf("%v: user %d: recommended item %d of block %d, want block %d", shape, u, i, got, want)
				}
			}
		}
	}
}

func TestDeterministic(t *testing.T) {
	for _, r := range []*features.CSR{signed(60, 200, 2000, 4), signed(200, 60, 2000, 4)} {
		want, err := Train(context.Background(), r, Config{Workers: 1, Neighbors: 20, MinCount: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, workers := range []int{2, 5} {
			got, err := Train(context.Background(), r, Config{Workers: workers, Neighbors: 20, MinCount: 1})
			if err != nil {
				t.Fatal(err)
			}
			g, w := got.Parts(), want.Parts()
			same := slices.Equal(g.Inverse, w.Inverse) && slices.Equal(g.Diagonal, w.Diagonal) && (g.Weights == nil) == (w.Weights == nil)
			if g.Weights != nil && same {
				same = slices.Equal(g.Weights.Indptr, w.Weights.Indptr) && slices.Equal(g.Weights.Indices, w.Weights.Indices) &&
					slices.Equal(g.Weights.Values, w.Weights.Values)
			}
			if !same {
				t.Errorf("%d x %d, workers %d: model differs from a run with 1 worker", r.Rows, r.Cols, workers)
			}
		}
	}
}

func TestNew(t *testing.T) {
	for _, r := range []*features.CSR{signed(20, 50, 300, 5), signed(60, 30, 500, 5)} {
		trained, err := Train(context.Background(), r, Config{MinCount: 2})
		if err != nil {
			t.Fatal(err)
		}
		rebuilt, err := New(r, trained.Parts(), Config{MinCount: 2})
		if err != nil {
			t.Fatal(err)
		}
		want, got := make([]float64, r.Cols), make([]float64, r.Cols)
		for u := 0; u < r.Rows; u++ {
			trained.Score(u, want)
			rebuilt.Score(u, got)
			for i := range got {
				if got[i] != want[i] && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
					t.Fatalf("%d x %d: rebuilt Score(%d)[%d] = %v, want %v", r.Rows, r.Cols, u, i, got[i], want[i])
				}
			}
		}
	}
	r := signed(20, 50, 300, 5)
	tests := []struct {
		name  string
		parts Parts
		want  string
	}{
		{"weights shape", Parts{Weights: &features.CSR{Rows: 2, Cols: 2, Indptr: make([]int, 3)}}, "ease: weights are 2 x 2, want 50 x 50"},
		{"inverse size", Parts{Inverse: make([]float64, 3), Diagonal: make([]float64, 50)},
			"ease: 3 inverse entries and 50 diagonal entries, want 400 and 50"},
		{"neither", Parts{}, "ease: want either weights or an inverse and a diagonal"},
	}
	for _, tt := range tests {
		if _, err := New(r, tt.parts, Config{}); err == nil || err.Error() != tt.want {
			t.Errorf("%s: New error = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	nan := signed(5, 8, 20, 6)
	nan.Values[3] = math.NaN()
	tests := []struct {
		name string
		ctx  context.Context
		r    *features.CSR
		cfg  Config
		want string
	}{
		{"lambda", context.Background(), signed(5, 8, 20, 6), Config{Lambda: -1}, "ease: Lambda is -1, want a finite value > 0"},
		{"min count", context.Background(), signed(5, 8, 20, 6), Config{MinCount: -1}, "ease: MinCount is -1, want > 0"},
		{"neighbors", context.Background(), signed(5, 8, 20, 6), Config{Neighbors: -2}, "ease: Neighbors is -2, want > 0"},
		{"NaN", context.Background(), nan, Config{}, "ease: invalid value NaN at user"},
		{"no item kept", context.Background(), signed(5, 8, 20, 6), Config{MinCount: 100}, "ease: no item has 100 users or more"},
		{"too large", context.Background(), signed(5, 8, 20, 6), Config{MinCount: 1, MaxSize: 4},
			"ease: 5 users and 6 kept items: the smaller, 5, is above MaxSize 4; raise MinCount to keep fewer items"},
		{"cancelled", cancelled, signed(5, 8, 20, 6), Config{MinCount: 1}, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Train(tt.ctx, tt.r, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Train error = %v, want one containing %q", err, tt.want)
			}
			if m != nil {
				t.Errorf("Train model = %v, want nil", m)
			}
		})
	}
	if _, err := Train(cancelled, signed(5, 8, 20, 6), Config{MinCount: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("Train error = %v, want context.Canceled", err)
	}
}

func BenchmarkTrain(b *testing.B) {
	shapes := []struct {
		name              string
		users, items, nnz int
	}{
		{name: "user space", users: 600, items: 4000, nnz: 80_000},
		{name: "item space", users: 3000, items: 1500, nnz: 80_000},
	}
	for _, s := range shapes {
		r := signed(s.users, s.items, s.nnz, 11)
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Train(context.Background(), r, Config{MinCount: 1}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkScore(b *testing.B) {
	r := signed(600, 4000, 80_000, 11)
	m, err := Train(context.Background(), r, Config{MinCount: 1})
	if err != nil {
		b.Fatal(err)
	}
	scores := make([]float64, r.Cols)
	b.ReportAllocs()
	u := 0
	for b.Loop() {
		m.Score(u%r.Rows, scores)
		u++
	}
}

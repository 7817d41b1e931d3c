package itemknn

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/marquee/marquee/features"
	"github.com/marquee/marquee/models/internal/synth"
	"github.com/marquee/marquee/models/topn"
)

func csr(t testing.TB, rows, cols int, entries ...features.Entry) *features.CSR {
	t.Helper()
	m, err := features.NewCSR(rows, cols, entries)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func e(u, i int, v float64) features.Entry { return features.Entry{Row: u, Col: i, Value: v} }

// tiny has items 0 and 1 shared by two users and item 2 shared with each of
// them by one user, all with norm sqrt(2) in binary form.
func tiny(t testing.TB) *features.CSR {
	return csr(t, 3, 3, e(0, 0, 2), e(0, 1, 1), e(1, 0, 1), e(1, 1, 2), e(1, 2, 1), e(2, 2, 1))
}

func TestSimilarities(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		item    int
		wantIdx []int
		wantSim []float64
	}{
		{"binary", Config{Binary: true, Shrink: 1}, 0, []int{1, 2}, []float64{2.0 / 3, 1.0 / 3}},
		{"binary ties by index", Config{Binary: true, Shrink: 1}, 2, []int{0, 1}, []float64{1.0 / 3, 1.0 / 3}},
		{"binary K=1", Config{Binary: true, Shrink: 1, K: 1}, 2, []int{0}, []float64{1.0 / 3}},
		// Raw: items 0 and 1 are (2, 1, 0) and (1, 2, 0): dot 4, norms sqrt(5).
		{"raw", Config{Shrink: 1}, 0, []int{1, 2}, []float64{4.0 / 6, 1 / (math.Sqrt(5)*math.Sqrt(2) + 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Train(context.Background(), tiny(t), tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			idx, sims := m.Similar(tt.item, 5)
			if !slices.Equal(idx, tt.wantIdx) {
				t.Errorf("Similar indexes = %v, want %v", idx, tt.wantIdx)
			}
			if len(sims) != len(tt.wantSim) {
				t.Fatalf("Similar scores = %v, want %v", sims, tt.wantSim)
			}
			for k := range sims {
				if math.Abs(sims[k]-tt.wantSim[k]) > 1e-12 {
					t.Errorf("similarity %d = %v, want %v", k, sims[k], tt.wantSim[k])
				}
			}
		})
	}
}

func TestScore(t *testing.T) {
	m, err := Train(context.Background(), tiny(t), Config{Shrink: 1})
	if err != nil {
		t.Fatal(err)
	}
	// User 0 has item 0 valued 2 and item 1 valued 1.
	s01, s02, s12 := 4.0/6, 1/(math.Sqrt(10)+1), 2/(math.Sqrt(10)+1)
	want := []float64{1 * s01, 2 * s01, 2*s02 + 1*s12}

	got := make([]float64, 3)
	m.Score(0, got)
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("Score(0)[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestWeighting(t *testing.T) {
	// Three items; user 0 has one item, user 1 has three.
	x := csr(t, 2, 3, e(0, 0, 4), e(1, 0, 1), e(1, 1, 1), e(1, 2, 1))
	// Item totals 5, 1, 1, mean 7/3.
	norm0 := 0.25 + 0.75*5/(7.0/3)
	tests := []struct {
		cfg  Config
		want []float64
	}{
		{Config{Weighting: TFIDF}, []float64{2 * math.Log(3), 0, 0, 0}},
		{Config{Weighting: BM25, K1: 1.2, B: 0.75}, []float64{4 * 2.2 / (1.2*norm0 + 4) * math.Log(3), 0, 0, 0}},
		{Config{Weighting: NoWeighting}, []float64{4, 1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.cfg.Weighting.String(), func(t *testing.T) {
			got := weight(x, tt.cfg).Values
			for k := range got {
				if math.Abs(got[k]-tt.want[k]) > 1e-12 {
					t.Errorf("weight %d = %v, want %v", k, got[k], tt.want[k])
				}
			}
		})
	}
}

func TestLearnsBlocks(t *testing.T) {
	r := synth.TwoBlocks(40, 60, 0.3, 0, 1)
	for _, cfg := range []Config{{}, {Binary: true}, {Weighting: TFIDF}, {Weighting: BM25}} {
		t.Run(cfg.Weighting.String(), func(t *testing.T) {
			m, err := Train(context.Background(), r, cfg)
			if err != nil {
				t.Fatal(err)
			}
			scores := make([]float64, r.Cols)
			for u := 0; u < r.Rows; u++ {
				m.Score(u, scores)
				seen, _ := r.Row(u)
				for _, i := range topn.Select(scores, 5, seen) {
					if got, want := synth.Block(i, r.Cols), synth.Block(u, r.Rows); got != want {
						t.Errorf("user %d: recommended item %d of block %d, want block %d", u, i, got, want)
					}
				}
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	r := synth.Sparse(80, 300, 3000, 2)
	want, err := Train(context.Background(), r, Config{Workers: 1, Weighting: BM25})
	if err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{2, 7} {
		got, err := Train(context.Background(), r, Config{Workers: workers, Weighting: BM25})
		if err != nil {
			t.Fatal(err)
		}
		g, w := got.Neighbors(), want.Neighbors()
		if !slices.Equal(g.Indptr, w.Indptr) || !slices.Equal(g.Indices, w.Indices) || !slices.Equal(g.Values, w.Values) {
			t.Errorf("workers %d: neighbours differ from a run with 1 worker", workers)
		}
	}
	for i := 0; i < r.Cols; i++ {
		if n := want.Neighbors().RowLen(i); n > 20 {
			t.Fatalf("item %d has %d neighbours, want at most K = 20", i, n)
		}
	}
}

func TestNew(t *testing.T) {
	r := tiny(t)
	trained, err := Train(context.Background(), r, Config{})
	if err != nil {
		t.Fatal(err)
	}
	rebuilt, err := New(r, trained.Neighbors(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	want, got := make([]float64, 3), make([]float64, 3)
	trained.Score(1, want)
	rebuilt.Score(1, got)
	if !slices.Equal(got, want) {
		t.Errorf("rebuilt Score = %v, want %v", got, want)
	}

	_, err = New(r, csr(t, 2, 2), Config{})
	if err == nil || err.Error() != "itemknn: neighbours are 2 x 2, want 3 x 3" {
		t.Errorf("New error = %v, want the shape error", err)
	}
}

func TestErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	nan := csr(t, 1, 2, e(0, 1, math.NaN()))
	negative := csr(t, 1, 2, e(0, 1, -1))

	tests := []struct {
		name string
		ctx  context.Context
		r    *features.CSR
		cfg  Config
		want string
	}{
		{"K", context.Background(), tiny(t), Config{K: -1}, "itemknn: K is -1, want > 0"},
		{"Shrink", context.Background(), tiny(t), Config{Shrink: -2}, "itemknn: Shrink is -2, want a finite value >= 0"},
		{"B", context.Background(), tiny(t), Config{B: 1.5}, "itemknn: B is 1.5, want a value in [0, 1]"},
		{"Weighting", context.Background(), tiny(t), Config{Weighting: 9}, "itemknn: Weighting is Weighting(9), want none, tfidf or bm25"},
		{"NaN", context.Background(), nan, Config{}, "itemknn: invalid value NaN at user 0, item 1: want a finite value"},
		{"negative under BM25", context.Background(), negative, Config{Weighting: BM25}, "itemknn: invalid value -1 at user 0, item 1: want a value >= 0 under bm25 weighting"},
		{"cancelled", cancelled, tiny(t), Config{}, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Train(tt.ctx, tt.r, tt.cfg)
			if err == nil || !strings.HasSuffix(err.Error(), tt.want) {
				t.Errorf("Train error = %v, want one ending in %q", err, tt.want)
			}
			if m != nil {
				t.Errorf("Train model = %v, want nil", m)
			}
		})
	}
	if _, err := Train(cancelled, tiny(t), Config{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Train error = %v, want context.Canceled", err)
	}
}

func BenchmarkTrain(b *testing.B) {
	r := synth.Sparse(600, 9000, 100_000, 11)
	for _, w := range []Weighting{NoWeighting, BM25} {
		b.Run(w.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Train(context.Background(), r, Config{Weighting: w}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkScore(b *testing.B) {
	r := synth.Sparse(600, 9000, 100_000, 11)
	m, err := Train(context.Background(), r, Config{})
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

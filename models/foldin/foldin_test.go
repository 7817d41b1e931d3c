package foldin

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/marquee/marquee/models/als"
)

// randomModel returns a model of n items and f factors whose float32
// factors als can take too, as float64.
func randomModel(kind Kind, n, f int, seed uint64) (*Model, *mat.Dense) {
	rng := rand.New(rand.NewPCG(seed, 1))
	m := &Model{Kind: kind, Feedback: Ratings, Factors: f, Reg: 0.5, BiasReg: 2, Alpha: 3, Epsilon: 1, Mean: 3.5,
		TrainedUntil: time.UnixMilli(1_700_000_000_123).UTC()}
	items := mat.NewDense(n, f, nil)
	for i := range n {
		m.Items = append(m.Items, fmt.Sprintf("t%d", i))
		for k := range f {
			v := float32(rng.NormFloat64() * 0.3)
			m.Vectors = append(m.Vectors, v)
			items.Set(i, k, float64(v))
		}
		if kind == Explicit {
			m.Bias = append(m.Bias, float32(rng.NormFloat64()*0.2))
		}
	}
	if err := m.Prepare(); err != nil {
		panic(err)
	}
	return m, items
}

func near(got, want []float64, tol float64) bool {
	for i := range want {
		if math.Abs(got[i]-want[i]) > tol*(1+math.Abs(want[i])) {
			return false
		}
	}
	return len(got) == len(want)
}

// TestFoldMatchesALS checks that folding in solves the same systems as the
// training code in models/als.
func TestFoldMatchesALS(t *testing.T) {
	const n, f = 60, 8
	feedback := []int32{3, 17, 42, 5}
	values := []float64{4, 1.5, 5, 0.5}
	users := mat.NewDense(1, f, nil)

	t.Run("implicit", func(t *testing.T) {
		m, items := randomModel(Implicit, n, f, 1)
		for _, logScale := range []bool{false, true} {
			m.LogScale = logScale
			ref, err := als.NewImplicit(users, items, als.ImplicitConfig{Factors: f, Regularization: m.Reg, Alpha: m.Alpha, LogScale: logScale, Epsilon: m.Epsilon})
			if err != nil {
				t.Fatal(err)
			}
			want, err := ref.FoldIn(feedback, values)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Fold(feedback, values)
			if err != nil {
				t.Fatal(err)
			}
			if !near(got.Factors, want.Factors, 1e-9) || got.Bias != 0 {
				t.Errorf("log scale %v: Fold got %v, want %v", logScale, got.Factors, want.Factors)
			}
		}
	})
	t.Run("explicit", func(t *testing.T) {
		m, items := randomModel(Explicit, n, f, 2)
		bias := make([]float64, n)
		for i, b := range m.Bias {
			bias[i] = float64(b)
		}
		ref, err := als.NewExplicit(m.Mean, users, items, []float64{0}, bias,
			als.ExplicitConfig{Factors: f, Regularization: m.Reg, BiasRegularization: m.BiasReg})
		if err != nil {
			t.Fatal(err)
		}
		want, err := ref.FoldIn(feedback, values)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Fold(feedback, values)
		if err != nil {
			t.Fatal(err)
		}
		if !near(got.Factors, want.Factors, 1e-9) || !near([]float64{got.Bias}, []float64{want.Bias}, 1e-9) {
			t.Errorf("Fold got %v %v, want %v %v", got.Factors, got.Bias, want.Factors, want.Bias)
		}

		scores := make([]float32, n)
		if err := m.Score(context.Background(), got, scores); err != nil {
			t.Fatal(err)
		}
		full := make([]float64, n)
		ref.ScoreFolded(want, full)
		for i := range full {
			if math.Abs(float64(scores[i])-full[i]) > 1e-4 {
				t.Fatalf("Score of item %d: got %v, want %v", i, scores[i], full[i])
			}
		}
	})
}

func TestFoldEdgeCases(t *testing.T) {
	m, _ := randomModel(Implicit, 10, 4, 3)
	tests := []struct {
		name    string
		items   []int32
		values  []float64
		wantErr bool
	}{
		{"no feedback", nil, nil, false},
		{"repeated item keeps the last value", []int32{1, 2, 1}, []float64{9, 1, 2}, false},
		{"row out of range", []int32{10}, []float64{1}, true},
		{"negative implicit value", []int32{1}, []float64{-1}, true},
		{"NaN", []int32{1}, []float64{math.NaN()}, true},
		{"lengths differ", []int32{1, 2}, []float64{1}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := m.Fold(tc.items, tc.values)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Fold: got error %v, want error %v", err, tc.wantErr)
			}
			if err == nil && len(u.Factors) != m.Factors {
				t.Errorf("Fold: got %d factors, want %d", len(u.Factors), m.Factors)
			}
		})
	}
	a, _ := m.Fold([]int32{1, 2, 1}, []float64{9, 1, 2})
	b, _ := m.Fold([]int32{2, 1}, []float64{1, 2})
	if !near(a.Factors, b.Factors, 1e-12) {
		t.Errorf("a repeated item does not keep its last value: got %v, want %v", a.Factors, b.Factors)
	}
}

func TestTop(t *testing.T) {
	m := &Model{Kind: Implicit, Feedback: Ratings, Factors: 1, Reg: 1, Alpha: 1,
		Items: []string{"a", "b", "c", "d", "e"}, Vectors: []float32{1, 5, 3, 5, 2}}
	if err := m.Prepare(); err != nil {
		t.Fatal(err)
	}
	u := User{Factors: []float64{1}}
	got, err := m.Top(context.Background(), u, 3, func(row int32) bool { return row == 2 })
	if err != nil {
		t.Fatal(err)
	}
	want := []Scored{{1, 5}, {3, 5}, {4, 2}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Top: got %v, want %v", got, want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Top(ctx, u, 3, nil); err == nil {
		t.Error("Top with a cancelled context: got no error")
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for _, kind := range []Kind{Implicit, Explicit} {
		m, _ := randomModel(kind, 30, 5, 4)
		m.LogScale, m.Binary, m.Feedback = true, kind == Implicit, Watches
		m.Items[3] = "日本語 🎬\x00"
		if err := m.Prepare(); err != nil {
			t.Fatal(err)
		}
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		got, err := Unmarshal(b)
		if err != nil {
			t.Fatalf("Unmarshal: %v", err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("kind %d: Unmarshal(MarshalBinary(m)):\n got %+v\nwant %+v", kind, got, m)
		}
		if i, ok := got.Index("日本語 🎬\x00"); !ok || i != 3 {
			t.Errorf("Index: got %d, %v, want 3, true", i, ok)
		}
	}
}

func TestUnmarshalMalformed(t *testing.T) {
	m, _ := randomModel(Explicit, 5, 3, 5)
	valid, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for cut := 0; cut < len(valid); cut++ {
		if _, err := Unmarshal(valid[:cut]); err == nil {
			t.Fatalf("Unmarshal of the first %d of %d bytes: got no error", cut, len(valid))
		}
	}
	if _, err := Unmarshal(append(valid, 0)); err == nil {
		t.Error("Unmarshal with a trailing byte: got no error")
	}
}

func FuzzUnmarshal(f *testing.F) {
	m, _ := randomModel(Implicit, 4, 2, 6)
	b, _ := m.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Unmarshal(b)
		if err != nil {
			return
		}
		if _, err := m.Fold([]int32{0}, []float64{1}); err != nil && len(m.Items) > 0 {
			t.Logf("Fold on a decoded model: %v", err)
		}
	})
}

// BenchmarkFoldAndTop folds in a user with 20 ratings and ranks 10,000
// items of 128 factors, the serving work of one new user.
func BenchmarkFoldAndTop(b *testing.B) {
	for _, kind := range []Kind{Implicit, Explicit} {
		b.Run(fmt.Sprint("kind=", kind), func(b *testing.B) {
			m, _ := randomModel(kind, 10_000, 128, 7)
			items, values := make([]int32, 20), make([]float64, 20)
			for k := range items {
				items[k], values[k] = int32(k*491), float64(k%5+1)
			}
			b.ReportAllocs()
			for b.Loop() {
				u, err := m.Fold(items, values)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := m.Top(context.Background(), u, 100, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

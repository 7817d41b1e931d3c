package topn

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"testing"
)

func TestSelect(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name    string
		scores  []float64
		n       int
		exclude []int32
		want    []int
	}{
		{"plain", []float64{0.1, 0.5, 0.3, 0.9}, 2, nil, []int{3, 1}},
		{"ties by lower index", []float64{1, 2, 2, 1, 2}, 4, nil, []int{1, 2, 4, 0}},
		{"tie at the cut", []float64{3, 1, 1, 1}, 2, nil, []int{0, 1}},
		{"excluded", []float64{0.1, 0.5, 0.3, 0.9}, 2, []int32{1, 3}, []int{2, 0}},
		{"exclusion beyond the scores", []float64{0.1, 0.5}, 5, []int32{0, 7}, []int{1}},
		{"n larger than scores", []float64{2, 1, 3}, 10, nil, []int{2, 0, 1}},
		{"n zero", []float64{2, 1, 3}, 0, nil, nil},
		{"NaN never selected", []float64{nan, 1, nan, 0}, 3, nil, []int{1, 3}},
		{"negative infinity kept", []float64{math.Inf(-1), 1}, 2, nil, []int{1, 0}},
		{"empty", nil, 3, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Select(tt.scores, tt.n, tt.exclude); !slices.Equal(got, tt.want) {
				t.Errorf("Select = %v, want %v", got, tt.want)
			}
			bits := NewBitset(len(tt.scores) + 8)
			for _, i := range tt.exclude {
				bits.Set(int(i))
			}
			if got := SelectBits(tt.scores, tt.n, bits); !slices.Equal(got, tt.want) {
				t.Errorf("SelectBits = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSelectMatchesSort compares Select with a full sort on random scores
// drawn from few distinct values, so that ties are frequent.
func TestSelectMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h Heap
	for trial := 0; trial < 200; trial++ {
		scores := make([]float64, rng.IntN(300))
		for i := range scores {
			scores[i] = float64(rng.IntN(20))
		}
		var exclude []int32
		for i := range scores {
			if rng.IntN(5) == 0 {
				exclude = append(exclude, int32(i))
			}
		}
		n := rng.IntN(40)

		got := h.Select(nil, scores, n, exclude)
		if want := bySort(scores, n, exclude); !slices.Equal(got, want) {
			t.Fatalf("trial %d: Select = %v, want %v", trial, got, want)
		}
	}
}

func bySort(scores []float64, n int, exclude []int32) []int {
	var idx []int
	for i := range scores {
		if !slices.Contains(exclude, int32(i)) {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	if len(idx) > n {
		idx = idx[:n]
	}
	if len(idx) == 0 {
		return nil
	}
	return idx
}

func TestHeapOfferAnyOrder(t *testing.T) {
	var h Heap
	h.Reset(3)
	for _, p := range []Pair{{5, 1}, {2, 3}, {9, 3}, {1, 3}, {4, 2}, {0, math.NaN()}} {
		h.Offer(p.Index, p.Score)
	}
	got := h.Drain(nil)
	want := []Pair{{1, 3}, {2, 3}, {9, 3}}
	if !slices.Equal(got, want) {
		t.Errorf("Drain = %v, want %v", got, want)
	}
	if h.Len() != 0 {
		t.Errorf("Len after Drain = %d, want 0", h.Len())
	}
}

func TestBitset(t *testing.T) {
	b := NewBitset(130)
	b.Set(0)
	b.Set(64)
	b.Set(129)
	for _, tt := range []struct {
		i    int
		want bool
	}{{0, true}, {1, false}, {64, true}, {129, true}, {128, false}, {-1, false}, {1000, false}} {
		if got := b.Has(tt.i); got != tt.want {
			t.Errorf("Has(%d) = %v, want %v", tt.i, got, tt.want)
		}
	}
}

func benchScores(n int) ([]float64, []int32) {
	rng := rand.New(rand.NewPCG(3, 4))
	scores := make([]float64, n)
	for i := range scores {
		scores[i] = rng.Float64()
	}
	var exclude []int32
	for i := 0; i < n; i += 45 {
		exclude = append(exclude, int32(i))
	}
	return scores, exclude
}

func BenchmarkSelect(b *testing.B) {
	scores, exclude := benchScores(9000)
	for _, n := range []int{10, 100} {
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			var h Heap
			dst := make([]int, 0, n)
			b.ReportAllocs()
			for b.Loop() {
				dst = h.Select(dst[:0], scores, n, exclude)
			}
		})
	}
}

func BenchmarkSelectBits(b *testing.B) {
	scores, exclude := benchScores(9000)
	bits := NewBitset(len(scores))
	for _, i := range exclude {
		bits.Set(int(i))
	}
	var h Heap
	dst := make([]int, 0, 10)
	b.ReportAllocs()
	for b.Loop() {
		dst = h.SelectBits(dst[:0], scores, 10, bits)
	}
}

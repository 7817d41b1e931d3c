package foldin

import (
	"cmp"
	"container/heap"
	"context"
	"slices"
)

// Scored is an item row with its score.
type Scored struct {
	Row   int32
	Score float32
}

// Top returns the n best-scored items for u, best first, leaving out the
// rows for which skip returns true; ties go to the lower row. It returns
// ctx.Err() when ctx is done before it finishes, so that a caller can bound
// the time it spends.
func (m *Model) Top(ctx context.Context, u User, n int, skip func(row int32) bool) ([]Scored, error) {
	scores := make([]float32, len(m.Items))
	if err := m.Score(ctx, u, scores); err != nil {
		return nil, err
	}
	h := make(minHeap, 0, n+1)
	for i, s := range scores {
		row := int32(i)
		if n <= 0 || skip != nil && skip(row) {
			continue
		}
		if len(h) < n {
			heap.Push(&h, Scored{row, s})
		} else if better(Scored{row, s}, h[0]) {
			h[0] = Scored{row, s}
			heap.Fix(&h, 0)
		}
	}
	slices.SortFunc(h, func(a, b Scored) int {
		if better(a, b) {
			return -1
		}
		return 1
	})
	return h, nil
}

// better orders by score, then by lower row.
func better(a, b Scored) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return cmp.Less(a.Row, b.Row)
}

// minHeap keeps the worst of the best items at its root.
type minHeap []Scored

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return better(h[j], h[i]) }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)        { *h = append(*h, x.(Scored)) }
func (h *minHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

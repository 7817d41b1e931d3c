// Package topn selects the indexes of the highest scores.
//
// Results are deterministic: a higher score comes first, and of equal scores
// the lower index comes first. NaN scores are never selected.
//
// The functions are safe for concurrent use. A Heap is not; give each
// goroutine its own and reuse it across calls to avoid allocations.
package topn

// Pair is an index with its score.
type Pair struct {
	Index int
	Score float64
}

// better reports whether a ranks before b.
func better(a, b Pair) bool {
	return a.Score > b.Score || (a.Score == b.Score && a.Index < b.Index)
}

// Heap keeps the n best pairs offered to it. The zero value keeps nothing;
// call Reset to set n.
type Heap struct {
	n     int
	pairs []Pair // a min-heap under better: pairs[0] ranks last
}

// Reset empties h and makes it keep the n best pairs from now on.
func (h *Heap) Reset(n int) {
	h.n = max(n, 0)
	h.pairs = h.pairs[:0]
}

// Len returns the number of pairs h holds.
func (h *Heap) Len() int { return len(h.pairs) }

// Offer adds the pair (i, score) when it ranks among the n best so far.
func (h *Heap) Offer(i int, score float64) {
	if score != score { // NaN
		return
	}
	p := Pair{Index: i, Score: score}
	if len(h.pairs) < h.n {
		h.pairs = append(h.pairs, p)
		h.up(len(h.pairs) - 1)
		return
	}
	if h.n > 0 && better(p, h.pairs[0]) {
		h.pairs[0] = p
		h.down(0, len(h.pairs))
	}
}

// Drain appends the pairs h holds to dst, best first, and empties h.
func (h *Heap) Drain(dst []Pair) []Pair {
	h.sortBestFirst()
	dst = append(dst, h.pairs...)
	h.pairs = h.pairs[:0]
	return dst
}

// sortBestFirst heap-sorts the pairs in place: moving the worst pair to the
// end each time leaves them ordered best first. They no longer form a heap.
func (h *Heap) sortBestFirst() {
	for end := len(h.pairs) - 1; end > 0; end-- {
		h.pairs[0], h.pairs[end] = h.pairs[end], h.pairs[0]
		h.down(0, end)
	}
}

func (h *Heap) up(j int) {
	for j > 0 {
		parent := (j - 1) / 2
		if !better(h.pairs[parent], h.pairs[j]) {
			return
		}
		h.pairs[parent], h.pairs[j] = h.pairs[j], h.pairs[parent]
		j = parent
	}
}

func (h *Heap) down(j, n int) {
	for {
		worst := j
		for _, c := range [2]int{2*j + 1, 2*j + 2} {
			if c < n && better(h.pairs[worst], h.pairs[c]) {
				worst = c
			}
		}
		if worst == j {
			return
		}
		h.pairs[j], h.pairs[worst] = h.pairs[worst], h.pairs[j]
		j = worst
	}
}

// Select returns the indexes of the n highest scores, best first, skipping
// the indexes in exclude, which must be in increasing order (a row of a
// features.CSR is). It returns fewer than n indexes when fewer scores are
// left.
func Select(scores []float64, n int, exclude []int32) []int {
	var h Heap
	return h.Select(nil, scores, n, exclude)
}

// Select is the package-level Select that appends to dst and keeps its
// scratch space in h, so a reused Heap and dst allocate nothing.
func (h *Heap) Select(dst []int, scores []float64, n int, exclude []int32) []int {
	h.Reset(n)
	next := 0 // position in exclude of the next index to skip
	for i, s := range scores {
		for next < len(exclude) && int(exclude[next]) < i {
			next++
		}
		if next < len(exclude) && int(exclude[next]) == i {
			continue
		}
		h.offerFast(i, s)
	}
	return h.drainIndexes(dst)
}

// SelectBits returns the indexes of the n highest scores, best first,
// skipping the indexes set in exclude.
func SelectBits(scores []float64, n int, exclude Bitset) []int {
	var h Heap
	return h.SelectBits(nil, scores, n, exclude)
}

// SelectBits is the package-level SelectBits that appends to dst and keeps
// its scratch space in h.
func (h *Heap) SelectBits(dst []int, scores []float64, n int, exclude Bitset) []int {
	h.Reset(n)
	for i, s := range scores {
		if !exclude.Has(i) {
			h.offerFast(i, s)
		}
	}
	return h.drainIndexes(dst)
}

// offerFast is Offer for indexes offered in increasing order: a score equal
// to the worst kept one then never ranks before it, so one comparison
// rejects most candidates.
func (h *Heap) offerFast(i int, s float64) {
	if len(h.pairs) == h.n && (h.n == 0 || !(s > h.pairs[0].Score)) {
		return
	}
	h.Offer(i, s)
}

func (h *Heap) drainIndexes(dst []int) []int {
	h.sortBestFirst()
	for _, p := range h.pairs {
		dst = append(dst, p.Index)
	}
	h.pairs = h.pairs[:0]
	return dst
}

// Bitset is a set of small non-negative integers, one bit each.
type Bitset []uint64

// NewBitset returns an empty set that can hold 0..n-1.
func NewBitset(n int) Bitset { return make(Bitset, (n+63)/64) }

// Set adds i to b. It panics when i is outside the range b was made for.
func (b Bitset) Set(i int) { b[i/64] |= 1 << (uint(i) % 64) }

// Has reports whether i is in b. Indexes outside the range b was made for
// are never in it.
func (b Bitset) Has(i int) bool {
	w := i / 64
	return i >= 0 && w < len(b) && b[w]&(1<<(uint(i)%64)) != 0
}

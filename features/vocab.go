package features

import "sort"

// Vocab maps external string IDs to dense indexes 0..Len()-1 and back. The
// indexes follow the sorted order of the IDs, so the same set of IDs always
// gives the same indexes. A Vocab is immutable and safe for concurrent use.
type Vocab struct {
	ids   []string
	index map[string]int
}

// NewVocab returns the vocabulary of the distinct IDs in ids.
func NewVocab(ids []string) *Vocab {
	sorted := append([]string(nil), ids...)
	sort.Strings(sorted)
	distinct := sorted[:0]
	for i, id := range sorted {
		if i == 0 || id != sorted[i-1] {
			distinct = append(distinct, id)
		}
	}
	v := &Vocab{ids: distinct, index: make(map[string]int, len(distinct))}
	for i, id := range distinct {
		v.index[id] = i
	}
	return v
}

// Len returns the number of IDs.
func (v *Vocab) Len() int { return len(v.ids) }

// Index returns the index of id and whether it is known.
func (v *Vocab) Index(id string) (int, bool) {
	i, ok := v.index[id]
	return i, ok
}

// ID returns the ID at index i. It panics when i is out of range.
func (v *Vocab) ID(i int) string { return v.ids[i] }

// IDs returns the IDs in index order. The caller must not modify the slice.
func (v *Vocab) IDs() []string { return v.ids }

package foldin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Artifact is the name under which the publish stage stores a run's encoded
// Model (see data.RunWriter.PutArtifact).
const Artifact = "foldin"

// Kind is the kind of model a Model folds into.
type Kind uint8

// Kinds of models.
const (
	// Implicit is implicit ALS (iALS): a user with feedback v on an item
	// prefers it with confidence 1 + Alpha·v, or 1 + Alpha·log(1 + v/Epsilon)
	// with LogScale, and the regularisation is Reg.
	Implicit Kind = 1
	// Explicit is explicit ALS with biases: a rating is predicted as
	// Mean + user bias + item bias + user·item, the factors regularised by
	// Reg times the user's number of ratings and the bias by BiasReg.
	Explicit Kind = 2
)

// Feedback names the events a model learned from.
type Feedback uint8

// Kinds of feedback.
const (
	Ratings Feedback = 1 // rating values
	Watches Feedback = 2 // watch strengths (features.WatchStrength)
)

// Model is the item side of a factor model and the settings of its
// fold-in. After Unmarshal or Prepare it is read-only and safe for
// concurrent use.
type Model struct {
	Kind     Kind
	Feedback Feedback
	Binary   bool // Implicit: every observed value counts as 1

	Items   []string  // item IDs, in row order
	Factors int       // length of each vector
	Vectors []float32 // len(Items)·Factors item factors, row by row
	Bias    []float32 // Explicit: item biases; nil for Implicit
	Mean    float64   // Explicit: global mean rating

	Reg      float64
	BiasReg  float64 // Explicit
	Alpha    float64 // Implicit
	LogScale bool    // Implicit
	Epsilon  float64 // Implicit, with LogScale

	// TrainedUntil is the time of the newest event the model learned from:
	// feedback after it is new to the model.
	TrainedUntil time.Time

	index map[string]int32
	gram  []float64 // Implicit: the f·f matrix of Σ y·yᵀ over every item
}

// Prepare checks m and builds the index and sums that folding needs. Call
// it once after filling in a Model by hand; Unmarshal calls it.
func (m *Model) Prepare() error {
	if err := m.check(); err != nil {
		return err
	}
	m.index = make(map[string]int32, len(m.Items))
	for i, id := range m.Items {
		if _, dup := m.index[id]; dup {
			return fmt.Errorf("foldin: item %q appears twice", id)
		}
		m.index[id] = int32(i)
	}
	if m.Kind == Implicit {
		m.gram = m.itemGram()
	}
	return nil
}

func (m *Model) check() error {
	f, n := m.Factors, len(m.Items)
	switch {
	case m.Kind != Implicit && m.Kind != Explicit:
		return fmt.Errorf("foldin: unknown model kind %d", m.Kind)
	case m.Feedback != Ratings && m.Feedback != Watches:
		return fmt.Errorf("foldin: unknown feedback %d", m.Feedback)
	case f < 1 || f > 1024:
		return fmt.Errorf("foldin: %d factors, want 1 to 1024", f)
	case len(m.Vectors) != n*f:
		return fmt.Errorf("foldin: %d factor values for %d items of %d factors", len(m.Vectors), n, f)
	case m.Kind == Explicit && len(m.Bias) != n:
		return fmt.Errorf("foldin: %d item biases for %d items", len(m.Bias), n)
	case !(m.Reg > 0) || m.Kind == Explicit && !(m.BiasReg > 0):
		return errors.New("foldin: the regularisation must be positive")
	case m.Kind == Implicit && (!(m.Alpha > 0) || m.LogScale && !(m.Epsilon > 0)):
		return errors.New("foldin: alpha and epsilon must be positive")
	}
	for _, v := range m.Vectors {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return errors.New("foldin: an item factor is not finite")
		}
	}
	return nil
}

// itemGram returns Σ y·yᵀ over every item vector y, as a full f·f matrix.
func (m *Model) itemGram() []float64 {
	f := m.Factors
	g := make([]float64, f*f)
	for i := range m.Items {
		y := m.Vectors[i*f : (i+1)*f]
		for k := range f {
			yk := float64(y[k])
			row := g[k*f : (k+1)*f]
			for l := k; l < f; l++ {
				row[l] += yk * float64(y[l])
			}
		}
	}
	for k := range f {
		for l := range k {
			g[k*f+l] = g[l*f+k]
		}
	}
	return g
}

// Index returns the row of an item, and false for an item the model does
// not know.
func (m *Model) Index(id string) (int32, bool) {
	i, ok := m.index[id]
	return i, ok
}

// User is the factor vector and bias of a folded-in user.
type User struct {
	Factors []float64
	Bias    float64 // always 0 for Implicit
}

// Fold solves the vector of a user who gave feedback values[k] on the items
// of rows items[k], as one ALS step does for a user of the training data.
// Items repeated keep their last value. A user without feedback gets zeros.
// It returns an error for a row out of range, a value that is not finite or,
// for Implicit, negative, or a system without a solution.
func (m *Model) Fold(items []int32, values []float64) (User, error) {
	if len(items) != len(values) {
		return User{}, fmt.Errorf("foldin: %d items but %d values", len(items), len(values))
	}
	for k, i := range items {
		v := values[k]
		if i < 0 || int(i) >= len(m.Items) {
			return User{}, fmt.Errorf("foldin: item row %d out of range [0, %d)", i, len(m.Items))
		}
		if math.IsNaN(v) || math.IsInf(v, 0) || m.Kind == Implicit && v < 0 {
			return User{}, fmt.Errorf("foldin: invalid feedback %v on item %q", v, m.Items[i])
		}
	}
	items, values = lastValues(items, values)
	if m.Kind == Implicit {
		return m.foldImplicit(items, values)
	}
	return m.foldExplicit(items, values)
}

// lastValues keeps the last value of each repeated item.
func lastValues(items []int32, values []float64) ([]int32, []float64) {
	last := make(map[int32]int, len(items))
	for k, i := range items {
		last[i] = k
	}
	if len(last) == len(items) {
		return items, values
	}
	outI, outV := make([]int32, 0, len(last)), make([]float64, 0, len(last))
	for k, i := range items {
		if last[i] == k {
			outI, outV = append(outI, i), append(outV, values[k])
		}
	}
	return outI, outV
}

func (m *Model) confidence(v float64) float64 {
	if m.Binary {
		v = 1
	}
	if m.LogScale {
		return 1 + m.Alpha*math.Log1p(v/m.Epsilon)
	}
	return 1 + m.Alpha*v
}

// foldImplicit solves (YᵀY + Reg·I + Σ (c−1)·y·yᵀ) x = Σ c·y over the
// user's items.
func (m *Model) foldImplicit(items []int32, values []float64) (User, error) {
	f := m.Factors
	a, b := make([]float64, f*f), make([]float64, f)
	if len(items) == 0 {
		return User{Factors: b}, nil
	}
	copy(a, m.gram)
	for k := range f {
		a[k*f+k] += m.Reg
	}
	for k, i := range items {
		c := m.confidence(values[k])
		y := m.row(i)
		addOuter(a, f, c-1, y, 0)
		for l := range f {
			b[l] += c * float64(y[l])
		}
	}
	if !solve(a, b, f) {
		return User{}, errNotPositiveDefinite
	}
	return User{Factors: b}, nil
}

// foldExplicit solves the ridge regression of the user's ratings minus the
// mean and item biases on the item factors with a constant 1 appended, whose
// weight is the user's bias.
func (m *Model) foldExplicit(items []int32, values []float64) (User, error) {
	f := m.Factors
	if len(items) == 0 {
		return User{Factors: make([]float64, f)}, nil
	}
	n := f + 1
	a, b := make([]float64, n*n), make([]float64, n)
	for k, i := range items {
		y := m.row(i)
		addOuter(a, n, 1, y, 1)
		r := values[k] - m.Mean - float64(m.Bias[i])
		for l := range f {
			b[l] += r * float64(y[l])
		}
		b[f] += r
	}
	for k := range f {
		a[k*n+k] += m.Reg * float64(len(items))
	}
	a[f*n+f] += m.BiasReg
	if !solve(a, b, n) {
		return User{}, errNotPositiveDefinite
	}
	return User{Factors: b[:f:f], Bias: b[f]}, nil
}

func (m *Model) row(i int32) []float32 {
	f := m.Factors
	return m.Vectors[int(i)*f : (int(i)+1)*f]
}

// addOuter adds w·x·xᵀ to the n·n matrix a, where x is y followed by tail
// ones (n = len(y) + tail).
func addOuter(a []float64, n int, w float64, y []float32, tail int) {
	x := func(k int) float64 {
		if k < len(y) {
			return float64(y[k])
		}
		return 1
	}
	for k := range len(y) + tail {
		wk := w * x(k)
		row := a[k*n : (k+1)*n]
		for l := range n {
			row[l] += wk * x(l)
		}
	}
}

var errNotPositiveDefinite = errors.New("foldin: the user's system is not positive definite; check the feedback scale")

// Score writes the score of every item for u into dst, which must hold one
// value per item. It stops early and returns ctx.Err() when ctx is done.
func (m *Model) Score(ctx context.Context, u User, dst []float32) error {
	f := m.Factors
	x := make([]float32, f)
	for k, v := range u.Factors {
		x[k] = float32(v)
	}
	const block = 2048
	for lo := 0; lo < len(m.Items); lo += block {
		if err := ctx.Err(); err != nil {
			return err
		}
		for i := lo; i < min(lo+block, len(m.Items)); i++ {
			y := m.Vectors[i*f : (i+1)*f]
			var s float32
			for k, v := range y {
				s += v * x[k]
			}
			if m.Kind == Explicit {
				s += float32(m.Mean+u.Bias) + m.Bias[i]
			}
			dst[i] = s
		}
	}
	return nil
}

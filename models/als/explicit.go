package als

import (
	"context"
	"fmt"
	"math/rand/v2"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/marquee/marquee/features"
	"github.com/marquee/marquee/models/internal/parallel"
)

// Explicit predicts Mean + UserBias[u] + ItemBias[i] + (row u of
// UserFactors)·(row i of ItemFactors).
type Explicit struct {
	Mean                     float64
	UserFactors, ItemFactors *mat.Dense
	UserBias, ItemBias       []float64
	Loss                     []float64 // training loss after each iteration; empty when rebuilt

	cfg ExplicitConfig
}

// rowBlock is the number of rows a worker solves between two context
// checks.
const rowBlock = 64

// TrainExplicit factorises r, a user-by-item matrix of ratings. Each
// iteration solves every user given the items, then every item given the
// users, and records the regularised squared error.
//
// It returns an error for a value of r that is not finite, for a matrix
// without ratings, and when training diverges.
func TrainExplicit(ctx context.Context, r *features.CSR, cfg ExplicitConfig) (*Explicit, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkInput(r, false); err != nil {
		return nil, err
	}
	if r.NNZ() == 0 {
		return nil, fmt.Errorf("als: no ratings to train on")
	}

	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6d61727175656531))
	m := &Explicit{
		Mean:        mean(r),
		UserFactors: newDense(r.Rows, cfg.Factors, nil),
		ItemFactors: randomFactors(r.Cols, cfg.Factors, rng),
		UserBias:    make([]float64, r.Rows),
		ItemBias:    make([]float64, r.Cols),
		cfg:         cfg,
	}
	if err := m.train(ctx, r); err != nil {
		return nil, cancelled(ctx, err)
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Explicit) train(ctx context.Context, r *features.CSR) error {
	rt := r.Transpose()
	users := newExplicitSide(r, m.Mean, m.cfg)
	items := newExplicitSide(rt, m.Mean, m.cfg)
	for it := 1; it <= m.cfg.Iterations; it++ {
		if err := users.solve(ctx, m.ItemFactors, m.ItemBias, m.UserFactors, m.UserBias); err != nil {
			return fmt.Errorf("solve users: %w", err)
		}
		if err := items.solve(ctx, m.UserFactors, m.UserBias, m.ItemFactors, m.ItemBias); err != nil {
			return fmt.Errorf("solve items: %w", err)
		}
		loss, err := m.loss(ctx, r)
		if err != nil {
			return fmt.Errorf("compute loss: %w", err)
		}
		if err := checkLoss(it, loss); err != nil {
			return err
		}
		m.Loss = append(m.Loss, loss)
		if m.cfg.Progress != nil {
			m.cfg.Progress(it, loss)
		}
	}
	return nil
}

// explicitSide solves the rows of one side of the matrix given the other
// side's factors and biases, with scratch space per worker.
type explicitSide struct {
	r       *features.CSR // rows of this side, columns of the other
	mu      float64
	cfg     ExplicitConfig
	systems []*system
	aug     [][]float64 // other side's factor vector with a trailing 1
}

func newExplicitSide(r *features.CSR, mu float64, cfg ExplicitConfig) *explicitSide {
	s := &explicitSide{r: r, mu: mu, cfg: cfg}
	for w := 0; w < cfg.Workers; w++ {
		s.systems = append(s.systems, newSystem(cfg.Factors+1))
		s.aug = append(s.aug, make([]float64, cfg.Factors+1))
	}
	return s
}

func (s *explicitSide) solve(ctx context.Context, other *mat.Dense, otherBias []float64, out *mat.Dense, outBias []float64) error {
	p := ridge{other: other, otherBias: otherBias, mu: s.mu, reg: s.cfg.Regularization, biasReg: s.cfg.BiasRegularization}
	return parallel.Rows(ctx, s.r.Rows, s.cfg.Workers, rowBlock, func(w, lo, hi int) error {
		for row := lo; row < hi; row++ {
			cols, vals := s.r.Row(row)
			b, err := p.solve(s.systems[w], s.aug[w], cols, vals, out.RawRowView(row))
			if err != nil {
				return fmt.Errorf("row %d: %w", row, err)
			}
			outBias[row] = b
		}
		return nil
	})
}

// ridge is the least-squares problem of one row given the other side's
// factors and biases.
type ridge struct {
	other        *mat.Dense
	otherBias    []float64
	mu           float64
	reg, biasReg float64
}

// solve writes into x the factors, and returns the bias, that minimise the
// squared error of the residuals vals - mu - otherBias[cols] against
// other[cols], plus reg·len(cols) times the squared norm of the factors and
// biasReg times the squared bias. The factors and bias are those of a row
// with a constant-1 partner appended to each of the other side's vectors. A
// row without ratings gets zero factors and bias.
func (p ridge) solve(sys *system, aug []float64, cols []int32, vals []float64, x []float64) (float64, error) {
	f := len(x)
	if len(cols) == 0 {
		clear(x)
		return 0, nil
	}
	sys.reset()
	for k, c := range cols {
		copy(aug, p.other.RawRowView(int(c)))
		aug[f] = 1
		sys.addOuter(1, aug)
		floats.AddScaled(sys.b, vals[k]-p.mu-p.otherBias[c], aug)
	}
	for k := 0; k < f; k++ {
		sys.addToDiagonal(k, p.reg*float64(len(cols)))
	}
	sys.addToDiagonal(f, p.biasReg)
	if !sys.solve() {
		return 0, errNotPositiveDefinite
	}
	copy(x, sys.b[:f])
	return sys.b[f], nil
}

// loss returns the squared error over the ratings of r plus the penalties
// of every row's factors and bias on both sides.
func (m *Explicit) loss(ctx context.Context, r *features.CSR) (float64, error) {
	perUser := make([]float64, r.Rows)
	itemCounts := make([]float64, r.Cols)
	for _, c := range r.Indices {
		itemCounts[c]++
	}
	err := parallel.Rows(ctx, r.Rows, m.cfg.Workers, rowBlock, func(_, lo, hi int) error {
		for u := lo; u < hi; u++ {
			cols, vals := r.Row(u)
			var l float64
			for k, i := range cols {
				e := vals[k] - m.Predict(u, int(i))
				l += e * e
			}
			perUser[u] = l + m.penalty(float64(len(cols)), m.UserFactors.RawRowView(u), m.UserBias[u])
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	var items float64
	for i, n := range itemCounts {
		items += m.penalty(n, m.ItemFactors.RawRowView(i), m.ItemBias[i])
	}
	return sum(perUser) + items, nil
}

// penalty returns the regularisation term of a row with n ratings.
func (m *Explicit) penalty(n float64, x []float64, b float64) float64 {
	return m.cfg.Regularization*n*sumSquares(x) + m.cfg.BiasRegularization*b*b
}

func (m *Explicit) check() error {
	return firstError(
		checkFactors("user", m.UserFactors), checkFactors("item", m.ItemFactors),
		checkBiases("user", m.UserBias), checkBiases("item", m.ItemBias),
	)
}

// NewExplicit rebuilds a model from stored parameters: users and items hold
// one factor vector a row and must have as many columns as each other and
// as many rows as their biases. cfg supplies the regularisation of FoldIn.
// The model holds copies of the matrices and slices.
func NewExplicit(mean float64, users, items *mat.Dense, userBias, itemBias []float64, cfg ExplicitConfig) (*Explicit, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	uf, itf, err := copyFactors(users, items)
	if err != nil {
		return nil, err
	}
	cfg.Factors = cols(uf)
	m := &Explicit{Mean: mean, UserFactors: uf, ItemFactors: itf, UserBias: clone(userBias), ItemBias: clone(itemBias), cfg: cfg}
	if rows(uf) != len(userBias) || rows(itf) != len(itemBias) {
		return nil, fmt.Errorf("als: %d user and %d item factor rows, but %d user and %d item biases",
			rows(uf), rows(itf), len(userBias), len(itemBias))
	}
	if err := firstError(m.check(), checkBiases("mean", []float64{mean})); err != nil {
		return nil, err
	}
	return m, nil
}

// Predict returns the predicted rating of item i by user u.
func (m *Explicit) Predict(u, i int) float64 {
	return m.Mean + m.UserBias[u] + m.ItemBias[i] + floats.Dot(m.UserFactors.RawRowView(u), m.ItemFactors.RawRowView(i))
}

// Score writes the predicted rating of every item by user u into dst.
func (m *Explicit) Score(u int, dst []float64) {
	m.ScoreFolded(Folded{Factors: m.UserFactors.RawRowView(u), Bias: m.UserBias[u]}, dst)
}

// Folded is the factor vector and bias of a user solved outside training.
type Folded struct {
	Factors []float64
	Bias    float64 // always 0 for an Implicit model
}

// FoldIn solves the factors and bias of a user who rated items[k] with
// values[k], keeping the item side fixed. It solves the same ridge
// regression as a training step. A user without ratings gets zeros, which
// predict Mean + ItemBias. It returns an error for an item index out of
// range or a value that is not finite.
func (m *Explicit) FoldIn(items []int32, values []float64) (Folded, error) {
	if err := checkFoldIn(items, values, rows(m.ItemFactors), false); err != nil {
		return Folded{}, err
	}
	x := make([]float64, m.cfg.Factors)
	sys, aug := newSystem(m.cfg.Factors+1), make([]float64, m.cfg.Factors+1)
	p := ridge{other: m.ItemFactors, otherBias: m.ItemBias, mu: m.Mean, reg: m.cfg.Regularization, biasReg: m.cfg.BiasRegularization}
	b, err := p.solve(sys, aug, items, values, x)
	if err != nil {
		return Folded{}, fmt.Errorf("fold in: %w", err)
	}
	return Folded{Factors: x, Bias: b}, nil
}

// ScoreFolded writes the predicted rating of every item by the user u into
// dst.
func (m *Explicit) ScoreFolded(u Folded, dst []float64) {
	scoreRow(m.ItemFactors, u.Factors, dst)
	for i, b := range m.ItemBias {
		dst[i] += m.Mean + u.Bias + b
	}
}

func checkFoldIn(items []int32, values []float64, n int, nonNegative bool) error {
	if len(items) != len(values) {
		return fmt.Errorf("als: %d items but %d values", len(items), len(values))
	}
	for k, i := range items {
		if i < 0 || int(i) >= n {
			return fmt.Errorf("als: item %d out of range [0, %d)", i, n)
		}
		if !validValue(values[k], nonNegative) {
			return fmt.Errorf("als: invalid value %v for item %d: %s", values[k], i, wantValue(nonNegative))
		}
	}
	return nil
}

// copyFactors returns copies of users and items after checking that they
// have the same number of columns.
func copyFactors(users, items *mat.Dense) (*mat.Dense, *mat.Dense, error) {
	if cols(users) == 0 || cols(users) != cols(items) {
		return nil, nil, fmt.Errorf("als: %d user factor columns but %d item factor columns", cols(users), cols(items))
	}
	return copyDense(users), copyDense(items), nil
}

func copyDense(m *mat.Dense) *mat.Dense {
	if m.IsEmpty() {
		return &mat.Dense{}
	}
	return mat.DenseCopyOf(m)
}

func cols(m *mat.Dense) int {
	_, c := m.Dims()
	return c
}

package als

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/marquee/marquee/features"
	"github.com/marquee/marquee/models/internal/parallel"
)

// Implicit scores item i for user u as (row u of UserFactors)·(row i of
// ItemFactors).
type Implicit struct {
	UserFactors, ItemFactors *mat.Dense
	Loss                     []float64 // training loss after each iteration; empty when rebuilt

	cfg      ImplicitConfig
	itemGram []float64 // ItemFactorsᵀ·ItemFactors, for FoldIn
}

// TrainImplicit factorises r, a user-by-item matrix of non-negative
// feedback strengths, or of any finite values with NegativeFeedback, where
// values <= 0 are dislikes. Each iteration solves every user given the
// items, then every item given the users, and records the weighted loss
// sum over all pairs of c_ui·(p_ui - x_u·y_i)² + Regularization·(|X|² + |Y|²).
func TrainImplicit(ctx context.Context, r *features.CSR, cfg ImplicitConfig) (*Implicit, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkInput(r, !cfg.NegativeFeedback); err != nil {
		return nil, err
	}

	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6d61727175656532))
	m := &Implicit{
		ItemFactors: randomFactors(r.Cols, cfg.Factors, rng),
		UserFactors: randomFactors(r.Rows, cfg.Factors, rng),
		cfg:         cfg,
	}
	if err := m.train(ctx, r.Map(cfg.signedConfidence)); err != nil {
		return nil, cancelled(ctx, err)
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	m.itemGram = gram(m.ItemFactors, cfg.Factors)
	return m, nil
}

// train runs the iterations on c, the matrix of signed confidences.
func (m *Implicit) train(ctx context.Context, c *features.CSR) error {
	ct := c.Transpose()
	users := newImplicitSide(c, m.cfg)
	items := newImplicitSide(ct, m.cfg)
	itemGram := gram(m.ItemFactors, m.cfg.Factors)
	for it := 1; it <= m.cfg.Iterations; it++ {
		if err := users.solve(ctx, m.ItemFactors, itemGram, m.UserFactors); err != nil {
			return fmt.Errorf("solve users: %w", err)
		}
		if err := items.solve(ctx, m.UserFactors, gram(m.UserFactors, m.cfg.Factors), m.ItemFactors); err != nil {
			return fmt.Errorf("solve items: %w", err)
		}
		itemGram = gram(m.ItemFactors, m.cfg.Factors)
		loss, err := m.loss(ctx, c, itemGram)
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

// implicitSide solves the rows of one side of the matrix given the other
// side's factors, with scratch space per worker.
type implicitSide struct {
	c       *features.CSR // confidences: rows of this side, columns of the other
	cfg     ImplicitConfig
	scratch []*cgScratch
}

func newImplicitSide(c *features.CSR, cfg ImplicitConfig) *implicitSide {
	s := &implicitSide{c: c, cfg: cfg}
	for w := 0; w < cfg.Workers; w++ {
		s.scratch = append(s.scratch, newCGScratch(cfg.Factors))
	}
	return s
}

func (s *implicitSide) solve(ctx context.Context, other *mat.Dense, g []float64, out *mat.Dense) error {
	return parallel.Rows(ctx, s.c.Rows, s.cfg.Workers, rowBlock, func(w, lo, hi int) error {
		p := rowProblem{other: other, gram: g, reg: s.cfg.Regularization}
		for row := lo; row < hi; row++ {
			p.cols, p.conf = s.c.Row(row)
			x := out.RawRowView(row)
			if len(p.cols) == 0 {
				// With no observations the solution is zero: the right-hand
				// side is zero and the matrix positive definite.
				clear(x)
				continue
			}
			p.conjugateGradient(s.scratch[w], x, s.cfg.CGSteps)
		}
		return nil
	})
}

// rowProblem is the system of one row:
// (G + Σ_k (|c_k| - 1)·y_k·y_kᵀ + reg·I)·x = Σ_{k: c_k > 0} c_k·y_k
// where y_k is row cols[k] of other, G is otherᵀ·other, and a negative c_k
// is the confidence of a dislike.
type rowProblem struct {
	other *mat.Dense
	gram  []float64
	reg   float64
	cols  []int32
	conf  []float64
}

type cgScratch struct {
	r, p, ap []float64
}

func newCGScratch(f int) *cgScratch {
	return &cgScratch{r: make([]float64, f), p: make([]float64, f), ap: make([]float64, f)}
}

// mul writes the row's matrix times v into dst.
func (p *rowProblem) mul(v, dst []float64) {
	f := len(v)
	copy(dst, v)
	blas64.Gemv(blas.NoTrans, 1, blas64.General{Rows: f, Cols: f, Stride: f, Data: p.gram},
		blas64.Vector{N: f, Inc: 1, Data: v}, p.reg, blas64.Vector{N: f, Inc: 1, Data: dst})
	for k, c := range p.cols {
		y := p.other.RawRowView(int(c))
		floats.AddScaled(dst, (math.Abs(p.conf[k])-1)*floats.Dot(y, v), y)
	}
}

// conjugateGradient improves x in place by up to steps conjugate-gradient
// steps, starting from the x it is given.
func (p *rowProblem) conjugateGradient(s *cgScratch, x []float64, steps int) {
	// r = b - A·x, with b = Σ c_k·y_k over the liked items.
	p.mul(x, s.ap)
	for k := range s.r {
		s.r[k] = -s.ap[k]
	}
	for k, c := range p.cols {
		if p.conf[k] > 0 {
			floats.AddScaled(s.r, p.conf[k], p.other.RawRowView(int(c)))
		}
	}
	copy(s.p, s.r)
	rr := floats.Dot(s.r, s.r)

	for step := 0; step < steps && rr > 1e-20; step++ {
		p.mul(s.p, s.ap)
		alpha := rr / floats.Dot(s.p, s.ap)
		floats.AddScaled(x, alpha, s.p)
		floats.AddScaled(s.r, -alpha, s.ap)
		next := floats.Dot(s.r, s.r)
		floats.AddScaledTo(s.p, s.r, next/rr, s.p)
		rr = next
	}
}

// loss returns the weighted loss over all pairs. The sum of (x_u·y_i)² over
// all items is x_uᵀ·G·x_u, so only observed pairs are visited one by one.
func (m *Implicit) loss(ctx context.Context, c *features.CSR, itemGram []float64) (float64, error) {
	f := m.cfg.Factors
	perUser := make([]float64, c.Rows)
	err := parallel.Rows(ctx, c.Rows, m.cfg.Workers, rowBlock, func(_, lo, hi int) error {
		gx := make([]float64, f)
		for u := lo; u < hi; u++ {
			x := m.UserFactors.RawRowView(u)
			for k := range gx {
				gx[k] = floats.Dot(itemGram[k*f:(k+1)*f], x)
			}
			l := floats.Dot(x, gx)
			cols, conf := c.Row(u)
			for k, i := range cols {
				s := floats.Dot(x, m.ItemFactors.RawRowView(int(i)))
				pref := 0.0
				if conf[k] > 0 {
					pref = 1
				}
				l += math.Abs(conf[k])*(pref-s)*(pref-s) - s*s
			}
			perUser[u] = l + m.cfg.Regularization*sumSquares(x)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	var items float64
	for i := 0; i < rows(m.ItemFactors); i++ {
		items += sumSquares(m.ItemFactors.RawRowView(i))
	}
	return sum(perUser) + m.cfg.Regularization*items, nil
}

func (m *Implicit) check() error {
	return firstError(checkFactors("user", m.UserFactors), checkFactors("item", m.ItemFactors))
}

// NewImplicit rebuilds a model from stored factors: users and items hold one
// factor vector a row and must have as many columns as each other. cfg
// supplies the confidence and regularisation of FoldIn. The model holds
// copies of the matrices.
func NewImplicit(users, items *mat.Dense, cfg ImplicitConfig) (*Implicit, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	uf, itf, err := copyFactors(users, items)
	if err != nil {
		return nil, err
	}
	cfg.Factors = cols(uf)
	m := &Implicit{UserFactors: uf, ItemFactors: itf, cfg: cfg}
	if err := m.check(); err != nil {
		return nil, err
	}
	m.itemGram = gram(itf, cfg.Factors)
	return m, nil
}

// Score writes the score of every item for user u into dst.
func (m *Implicit) Score(u int, dst []float64) {
	scoreRow(m.ItemFactors, m.UserFactors.RawRowView(u), dst)
}

// FoldIn solves the factors of a user with feedback values[k] on items[k],
// keeping the item side fixed. It solves the user's system of a training
// step exactly, by Cholesky factorisation, where training takes a few
// conjugate-gradient steps. A user without feedback gets zeros. It returns
// an error for an item index out of range or a value that is not finite, or
// negative without NegativeFeedback.
func (m *Implicit) FoldIn(items []int32, values []float64) (Folded, error) {
	f := m.cfg.Factors
	if err := checkFoldIn(items, values, rows(m.ItemFactors), !m.cfg.NegativeFeedback); err != nil {
		return Folded{}, err
	}
	sys := newSystem(f)
	for k := 0; k < f; k++ {
		copy(sys.a[k*f+k:(k+1)*f], m.itemGram[k*f+k:(k+1)*f])
	}
	sys.addDiagonal(m.cfg.Regularization)
	for k, i := range items {
		y := m.ItemFactors.RawRowView(int(i))
		c := m.cfg.signedConfidence(values[k])
		sys.addOuter(math.Abs(c)-1, y)
		if c > 0 {
			floats.AddScaled(sys.b, c, y)
		}
	}
	if !sys.solve() {
		return Folded{}, fmt.Errorf("fold in: %w", errNotPositiveDefinite)
	}
	return Folded{Factors: sys.b}, nil
}

// ScoreFolded writes the score of every item for the user u into dst.
func (m *Implicit) ScoreFolded(u Folded, dst []float64) {
	scoreRow(m.ItemFactors, u.Factors, dst)
}

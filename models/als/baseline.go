package als

import (
	"context"
	"fmt"

	"github.com/marquee/marquee/features"
)

// Baseline predicts Mean + UserBias[u] + ItemBias[i].
type Baseline struct {
	Mean     float64
	UserBias []float64
	ItemBias []float64
	Loss     []float64 // training loss after each iteration; empty when rebuilt
}

// TrainBaseline fits the biases of r, a user-by-item matrix of ratings, by
// alternating passes: item biases given user biases, then user biases given
// item biases.
func TrainBaseline(ctx context.Context, r *features.CSR, cfg BaselineConfig) (*Baseline, error) {
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

	m := &Baseline{Mean: mean(r), UserBias: make([]float64, r.Rows), ItemBias: make([]float64, r.Cols)}
	rt := r.Transpose()
	for it := 1; it <= cfg.Iterations; it++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fitBiases(rt, m.Mean, m.UserBias, m.ItemBias, cfg.ItemRegularization)
		fitBiases(r, m.Mean, m.ItemBias, m.UserBias, cfg.UserRegularization)
		loss := m.loss(r, cfg)
		if err := checkLoss(it, loss); err != nil {
			return nil, err
		}
		m.Loss = append(m.Loss, loss)
		if cfg.Progress != nil {
			cfg.Progress(it, loss)
		}
	}
	return m, nil
}

// NewBaseline rebuilds a model from stored biases.
func NewBaseline(mean float64, userBias, itemBias []float64) (*Baseline, error) {
	m := &Baseline{Mean: mean, UserBias: clone(userBias), ItemBias: clone(itemBias)}
	if err := firstError(checkBiases("user", m.UserBias), checkBiases("item", m.ItemBias),
		checkBiases("mean", []float64{mean})); err != nil {
		return nil, err
	}
	return m, nil
}

// Predict returns the predicted rating of item i by user u.
func (m *Baseline) Predict(u, i int) float64 {
	return m.Mean + m.UserBias[u] + m.ItemBias[i]
}

// Score writes the predicted rating of every item by user u into dst.
func (m *Baseline) Score(u int, dst []float64) {
	for i, b := range m.ItemBias {
		dst[i] = m.Mean + m.UserBias[u] + b
	}
}

// fitBiases sets out[row] to the regularised mean residual of every row of
// r, given the fixed biases other of its columns.
func fitBiases(r *features.CSR, mu float64, other, out []float64, reg float64) {
	for row := 0; row < r.Rows; row++ {
		cols, vals := r.Row(row)
		var s float64
		for k, c := range cols {
			s += vals[k] - mu - other[c]
		}
		out[row] = s / (reg + float64(len(cols)))
	}
}

func (m *Baseline) loss(r *features.CSR, cfg BaselineConfig) float64 {
	var l float64
	for u := 0; u < r.Rows; u++ {
		cols, vals := r.Row(u)
		for k, i := range cols {
			e := vals[k] - m.Predict(u, int(i))
			l += e * e
		}
	}
	return l + cfg.UserRegularization*sumSquares(m.UserBias) + cfg.ItemRegularization*sumSquares(m.ItemBias)
}

func mean(r *features.CSR) float64 {
	return sum(r.Values) / float64(r.NNZ())
}

func sumSquares(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return s
}

func clone(x []float64) []float64 { return append([]float64(nil), x...) }

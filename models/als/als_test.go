package als

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/marquee/marquee/features"
	"github.com/marquee/marquee/models"
	"github.com/marquee/marquee/models/internal/synth"
	"github.com/marquee/marquee/models/topn"
)

func smallImplicit() ImplicitConfig {
	return ImplicitConfig{Factors: 8, Iterations: 10, Regularization: 0.1, Seed: 7}
}

func smallExplicit() ExplicitConfig {
	return ExplicitConfig{Factors: 8, Iterations: 10, Regularization: 0.05, Seed: 7}
}

// checkWithinBlock fails unless the top n items of every user lie in the
// user's block.
func checkWithinBlock(t *testing.T, s models.Scorer, r *features.CSR, n int) {
	t.Helper()
	scores := make([]float64, r.Cols)
	for u := 0; u < r.Rows; u++ {
		s.Score(u, scores)
		seen, _ := r.Row(u)
		for _, i := range topn.Select(scores, n, seen) {
			if got, want := synth.Block(i, r.Cols), synth.Block(u, r.Rows); got != want {
				t.Errorf("user %d: recommended item %d of block %d, want block %d", u, i, got, want)
			}
		}
	}
}

func TestLearnsBlocks(t *testing.T) {
	ctx := context.Background()
	implicit := synth.TwoBlocks(40, 60, 0.3, 0, 1)
	ratings := synth.TwoBlocks(40, 60, 0.3, 0.1, 1)
	tests := []struct {
		name  string
		r     *features.CSR
		train func(r *features.CSR) (models.Scorer, error)
	}{
		{"implicit", implicit, func(r *features.CSR) (models.Scorer, error) {
			return TrainImplicit(ctx, r, ImplicitConfig{Factors: 4, Regularization: 5})
		}},
		{"explicit", ratings, func(r *features.CSR) (models.Scorer, error) { return TrainExplicit(ctx, r, smallExplicit()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.train(tt.r)
			if err != nil {
				t.Fatal(err)
			}
			checkWithinBlock(t, m, tt.r, 5)
		})
	}
}

func TestImplicitDeterministic(t *testing.T) {
	r := synth.Sparse(50, 80, 600, 2)
	ctx := context.Background()
	base := smallImplicit()
	base.Workers = 1
	want, err := TrainImplicit(ctx, r, base)
	if err != nil {
		t.Fatal(err)
	}

	for _, workers := range []int{1, 2, 5} {
		cfg := base
		cfg.Workers = workers
		got, err := TrainImplicit(ctx, r, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !mat.Equal(got.UserFactors, want.UserFactors) || !mat.Equal(got.ItemFactors, want.ItemFactors) {
			t.Errorf("workers %d: factors differ from a run with 1 worker", workers)
		}
		if !floats.Equal(got.Loss, want.Loss) {
			t.Errorf("workers %d: Loss = %v, want %v", workers, got.Loss, want.Loss)
		}
	}

	other := base
	other.Seed++
	got, err := TrainImplicit(ctx, r, other)
	if err != nil {
		t.Fatal(err)
	}
	if mat.Equal(got.ItemFactors, want.ItemFactors) {
		t.Error("a different seed gave the same factors")
	}
}

func TestExplicitDeterministic(t *testing.T) {
	r := synth.LowRank(50, 80, 3, 0.2, 0.3, 2).Train
	ctx := context.Background()
	base := smallExplicit()
	base.Workers = 1
	want, err := TrainExplicit(ctx, r, base)
	if err != nil {
		t.Fatal(err)
	}

	for _, workers := range []int{1, 2, 5} {
		cfg := base
		cfg.Workers = workers
		got, err := TrainExplicit(ctx, r, cfg)
		if err != nil {
			t.Fatal(err)
		}
		same := mat.Equal(got.UserFactors, want.UserFactors) && mat.Equal(got.ItemFactors, want.ItemFactors) &&
			floats.Equal(got.UserBias, want.UserBias) && floats.Equal(got.ItemBias, want.ItemBias)
		if !same {
			t.Errorf("workers %d: factors or biases differ from a run with 1 worker", workers)
		}
	}
}

// TestLossDecreases relies on every half-iteration lowering its quadratic
// objective: exactly for explicit, and by conjugate-gradient steps from the
// previous solution for implicit.
func TestLossDecreases(t *testing.T) {
	ctx := context.Background()
	r := synth.LowRank(60, 90, 3, 0.2, 0.3, 3).Train
	var progress []float64
	cfgE := smallExplicit()
	cfgE.Progress = func(iter int, loss float64) {
		if iter != len(progress)+1 {
			t.Errorf("Progress iter = %d, want %d", iter, len(progress)+1)
		}
		progress = append(progress, loss)
	}
	explicit, err := TrainExplicit(ctx, r, cfgE)
	if err != nil {
		t.Fatal(err)
	}
	implicit, err := TrainImplicit(ctx, r, smallImplicit())
	if err != nil {
		t.Fatal(err)
	}
	baseline, err := TrainBaseline(ctx, r, BaselineConfig{})
	if err != nil {
		t.Fatal(err)
	}

	if !floats.Equal(progress, explicit.Loss) {
		t.Errorf("Progress saw %v, want Loss %v", progress, explicit.Loss)
	}
	for name, loss := range map[string][]float64{"explicit": explicit.Loss, "implicit": implicit.Loss, "baseline": baseline.Loss} {
		if len(loss) != 10 {
			t.Errorf("%s: %d losses, want 10", name, len(loss))
		}
		for k := 1; k < len(loss); k++ {
			if loss[k] > loss[k-1]*(1+1e-9) {
				t.Errorf("%s: loss rose from %v to %v at iteration %d", name, loss[k-1], loss[k], k+1)
			}
		}
	}
}

func TestExplicitBeatsBaseline(t *testing.T) {
	ctx := context.Background()
	data := synth.LowRank(200, 150, 4, 0.25, 0.3, 4)
	baseline, err := TrainBaseline(ctx, data.Train, BaselineConfig{})
	if err != nil {
		t.Fatal(err)
	}
	explicit, err := TrainExplicit(ctx, data.Train, ExplicitConfig{Factors: 8, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}

	b, e := rmse(baseline, data.Test), rmse(explicit, data.Test)
	if e >= 0.9*b {
		t.Errorf("explicit RMSE = %.4f, want below 0.9 × baseline's %.4f", e, b)
	}
}

func rmse(p models.Predictor, test *features.CSR) float64 {
	var sum float64
	for u := 0; u < test.Rows; u++ {
		cols, vals := test.Row(u)
		for k, i := range cols {
			e := p.Predict(u, int(i)) - vals[k]
			sum += e * e
		}
	}
	return math.Sqrt(sum / float64(test.NNZ()))
}

func TestCancel(t *testing.T) {
	r := synth.Sparse(50, 80, 600, 5)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	// midway cancels its context from the Progress callback after the
	// first iteration.
	midway := func() (context.Context, func(int, float64)) {
		ctx, cancel := context.WithCancel(context.Background())
		return ctx, func(int, float64) { cancel() }
	}
	tests := []struct {
		name  string
		train func() (any, error)
	}{
		{"implicit before", func() (any, error) { return TrainImplicit(cancelled, r, smallImplicit()) }},
		{"explicit before", func() (any, error) { return TrainExplicit(cancelled, r, smallExplicit()) }},
		{"baseline before", func() (any, error) { return TrainBaseline(cancelled, r, BaselineConfig{}) }},
		{"implicit midway", func() (any, error) {
			ctx, progress := midway()
			cfg := smallImplicit()
			cfg.Progress = progress
			return TrainImplicit(ctx, r, cfg)
		}},
		{"explicit midway", func() (any, error) {
			ctx, progress := midway()
			cfg := smallExplicit()
			cfg.Progress = progress
			return TrainExplicit(ctx, r, cfg)
		}},
		{"baseline midway", func() (any, error) {
			ctx, progress := midway()
			return TrainBaseline(ctx, r, BaselineConfig{Progress: progress})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.train()
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error = %v, want context.Canceled", err)
			}
			if !isNilModel(m) {
				t.Errorf("model = %v, want nil", m)
			}
		})
	}
}

func isNilModel(m any) bool {
	switch m := m.(type) {
	case *Implicit:
		return m == nil
	case *Explicit:
		return m == nil
	case *Baseline:
		return m == nil
	}
	return false
}

func TestNotFinite(t *testing.T) {
	ctx := context.Background()
	r := synth.Sparse(30, 40, 300, 6)
	withNaN := r.Map(func(v float64) float64 { return v })
	withNaN.Values[17] = math.NaN()
	negative := r.Map(func(v float64) float64 { return -v })

	tests := []struct {
		name    string
		train   func() error
		wantErr string
	}{
		{"implicit NaN input", func() error { _, err := TrainImplicit(ctx, withNaN, smallImplicit()); return err }, "als: invalid value NaN at user"},
		{"implicit negative input", func() error { _, err := TrainImplicit(ctx, negative, smallImplicit()); return err }, "als: invalid value -"},
		{"explicit NaN input", func() error { _, err := TrainExplicit(ctx, withNaN, smallExplicit()); return err }, "als: invalid value NaN at user"},
		{"baseline NaN input", func() error { _, err := TrainBaseline(ctx, withNaN, BaselineConfig{}); return err }, "als: invalid value NaN at user"},
		{"implicit huge alpha", func() error {
			cfg := smallImplicit()
			cfg.Alpha = 1e300
			_, err := TrainImplicit(ctx, r, cfg)
			return err
		}, "als: training diverged: loss is NaN"},
		{"explicit huge regularization", func() error {
			cfg := smallExplicit()
			cfg.Regularization = 1e308
			_, err := TrainExplicit(ctx, r, cfg)
			return err
		}, "als:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.train()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"implicit factors", ImplicitConfig{Factors: -1}.Defaults().Validate(), "als: Factors is -1, want > 0"},
		{"implicit alpha", ImplicitConfig{Alpha: math.Inf(1)}.Defaults().Validate(), "als: Alpha is +Inf, want a finite value > 0"},
		{"implicit steps", ImplicitConfig{CGSteps: -2}.Defaults().Validate(), "als: CGSteps is -2, want > 0"},
		{"explicit regularization", ExplicitConfig{Regularization: -0.5}.Defaults().Validate(), "als: Regularization is -0.5, want a finite value > 0"},
		{"explicit bias regularization", ExplicitConfig{BiasRegularization: math.NaN()}.Defaults().Validate(), "als: BiasRegularization is NaN, want a finite value > 0"},
		{"baseline iterations", BaselineConfig{Iterations: -3}.Defaults().Validate(), "als: Iterations is -3, want > 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil || tt.err.Error() != tt.want {
				t.Errorf("Validate = %v, want %q", tt.err, tt.want)
			}
		})
	}
	for _, err := range []error{
		ImplicitConfig{}.Defaults().Validate(), ExplicitConfig{}.Defaults().Validate(), BaselineConfig{}.Defaults().Validate(),
	} {
		if err != nil {
			t.Errorf("defaults do not validate: %v", err)
		}
	}
}

// TestExplicitFoldInRecoversUser rebuilds a model from known item factors
// and biases and checks that a user's exact ratings give back the user's
// vector and bias.
func TestExplicitFoldInRecoversUser(t *testing.T) {
	const f, items = 6, 80
	rng := rand.New(rand.NewPCG(8, 8))
	itemFactors := mat.NewDense(items, f, nil)
	itemBias := make([]float64, items)
	for i := 0; i < items; i++ {
		for k := 0; k < f; k++ {
			itemFactors.Set(i, k, rng.NormFloat64())
		}
		itemBias[i] = rng.NormFloat64() / 2
	}
	want := Folded{Factors: []float64{0.5, -0.3, 0.2, 0.8, -0.6, 0.1}, Bias: 0.4}
	m, err := NewExplicit(3.5, mat.NewDense(1, f, nil), itemFactors, []float64{0}, itemBias,
		ExplicitConfig{Regularization: 1e-9, BiasRegularization: 1e-9})
	if err != nil {
		t.Fatal(err)
	}
	var cols []int32
	var vals []float64
	for i := 0; i < items; i += 2 {
		cols = append(cols, int32(i))
		vals = append(vals, 3.5+want.Bias+itemBias[i]+floats.Dot(want.Factors, itemFactors.RawRowView(i)))
	}

	got, err := m.FoldIn(cols, vals)
	if err != nil {
		t.Fatal(err)
	}
	if !floats.EqualApprox(got.Factors, want.Factors, 1e-6) || math.Abs(got.Bias-want.Bias) > 1e-6 {
		t.Errorf("FoldIn = %v, want %v", got, want)
	}
}

// TestFoldInMatchesTraining folds in a trained user's own row and compares
// the scores with those of the trained user.
func TestFoldInMatchesTraining(t *testing.T) {
	ctx := context.Background()
	r := synth.LowRank(80, 100, 3, 0.3, 0.2, 9).Train
	explicit, err := TrainExplicit(ctx, r, ExplicitConfig{Factors: 6, Iterations: 20})
	if err != nil {
		t.Fatal(err)
	}
	implicit, err := TrainImplicit(ctx, r, ImplicitConfig{Factors: 6, Iterations: 20, Regularization: 1})
	if err != nil {
		t.Fatal(err)
	}
	type folder interface {
		models.Scorer
		FoldIn([]int32, []float64) (Folded, error)
		ScoreFolded(Folded, []float64)
	}

	for name, m := range map[string]folder{"explicit": explicit, "implicit": implicit} {
		want, got := make([]float64, r.Cols), make([]float64, r.Cols)
		for _, u := range []int{0, 17, 42} {
			cols, vals := r.Row(u)
			folded, err := m.FoldIn(cols, vals)
			if err != nil {
				t.Fatal(err)
			}
			m.Score(u, want)
			m.ScoreFolded(folded, got)
			if c := correlation(got, want); c < 0.99 {
				t.Errorf("%s user %d: folded-in scores correlate %.4f with trained ones, want >= 0.99", name, u, c)
			}
		}
	}
}

func correlation(a, b []float64) float64 {
	ma, mb := floats.Sum(a)/float64(len(a)), floats.Sum(b)/float64(len(b))
	var ab, aa, bb float64
	for k := range a {
		ab += (a[k] - ma) * (b[k] - mb)
		aa += (a[k] - ma) * (a[k] - ma)
		bb += (b[k] - mb) * (b[k] - mb)
	}
	return ab / math.Sqrt(aa*bb)
}

func TestFoldInErrors(t *testing.T) {
	m, err := NewImplicit(mat.NewDense(2, 2, nil), mat.NewDense(3, 2, []float64{1, 0, 0, 1, 1, 1}), ImplicitConfig{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		items  []int32
		values []float64
		want   string
	}{
		{"out of range", []int32{3}, []float64{1}, "als: item 3 out of range [0, 3)"},
		{"negative index", []int32{-1}, []float64{1}, "als: item -1 out of range [0, 3)"},
		{"lengths", []int32{0, 1}, []float64{1}, "als: 2 items but 1 values"},
		{"NaN", []int32{0}, []float64{math.NaN()}, "als: invalid value NaN for item 0: want a finite value >= 0"},
		{"negative value", []int32{0}, []float64{-1}, "als: invalid value -1 for item 0: want a finite value >= 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.FoldIn(tt.items, tt.values)
			if err == nil || err.Error() != tt.want {
				t.Errorf("FoldIn error = %v, want %q", err, tt.want)
			}
		})
	}

	got, err := m.FoldIn(nil, nil)
	if err != nil || !floats.Equal(got.Factors, []float64{0, 0}) {
		t.Errorf("FoldIn of nothing = %v, %v, want zeros", got, err)
	}
}

func TestRebuild(t *testing.T) {
	ctx := context.Background()
	r := synth.LowRank(30, 40, 2, 0.3, 0.2, 10).Train
	explicit, err := TrainExplicit(ctx, r, smallExplicit())
	if err != nil {
		t.Fatal(err)
	}
	implicit, err := TrainImplicit(ctx, r, smallImplicit())
	if err != nil {
		t.Fatal(err)
	}
	baseline, err := TrainBaseline(ctx, r, BaselineConfig{})
	if err != nil {
		t.Fatal(err)
	}

	e2, err := NewExplicit(explicit.Mean, explicit.UserFactors, explicit.ItemFactors, explicit.UserBias, explicit.ItemBias, smallExplicit())
	if err != nil {
		t.Fatal(err)
	}
	i2, err := NewImplicit(implicit.UserFactors, implicit.ItemFactors, smallImplicit())
	if err != nil {
		t.Fatal(err)
	}
	b2, err := NewBaseline(baseline.Mean, baseline.UserBias, baseline.ItemBias)
	if err != nil {
		t.Fatal(err)
	}

	pairs := map[string][2]models.Scorer{"explicit": {explicit, e2}, "implicit": {implicit, i2}, "baseline": {baseline, b2}}
	for name, p := range pairs {
		want, got := make([]float64, r.Cols), make([]float64, r.Cols)
		for u := 0; u < r.Rows; u++ {
			p[0].Score(u, want)
			p[1].Score(u, got)
			if !floats.Equal(got, want) {
				t.Fatalf("%s user %d: rebuilt scores differ", name, u)
			}
		}
	}
	for u := 0; u < r.Rows; u++ {
		scores := make([]float64, r.Cols)
		explicit.Score(u, scores)
		for i, s := range scores {
			if p := explicit.Predict(u, i); math.Abs(p-s) > 1e-12 {
				t.Fatalf("Predict(%d, %d) = %v, want Score's %v", u, i, p, s)
			}
		}
	}
}

func TestRebuildErrors(t *testing.T) {
	d := func(r, c int) *mat.Dense { return mat.NewDense(r, c, nil) }
	nan := d(2, 3)
	nan.Set(1, 2, math.NaN())
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"columns", errOf(NewImplicit(d(2, 3), d(4, 2), ImplicitConfig{})), "als: 3 user factor columns but 2 item factor columns"},
		{"not finite", errOf(NewImplicit(nan, d(4, 3), ImplicitConfig{})), "als: user factors of row 1 are not finite"},
		{"biases", errOf(NewExplicit(3, d(2, 3), d(4, 3), make([]float64, 2), make([]float64, 5), ExplicitConfig{})),
			"als: 2 user and 4 item factor rows, but 2 user and 5 item biases"},
		{"baseline bias", errOf(NewBaseline(3, []float64{math.Inf(1)}, nil)), "als: user bias of row 0 is +Inf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil || tt.err.Error() != tt.want {
				t.Errorf("error = %v, want %q", tt.err, tt.want)
			}
		})
	}
}

func errOf[T any](_ T, err error) error { return err }

func BenchmarkTrainImplicit(b *testing.B) {
	r := synth.Sparse(600, 9000, 100_000, 11)
	for _, f := range []int{64, 128} {
		cfg := ImplicitConfig{Factors: f}
		b.Run("factors="+strconv.Itoa(f), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := TrainImplicit(context.Background(), r, cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkTrainExplicit(b *testing.B) {
	r := synth.Sparse(600, 9000, 100_000, 11)
	cfg := ExplicitConfig{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := TrainExplicit(context.Background(), r, cfg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkImplicitFoldIn(b *testing.B) {
	r := synth.Sparse(600, 9000, 100_000, 11)
	m, err := TrainImplicit(context.Background(), r, ImplicitConfig{Factors: 64, Iterations: 2})
	if err != nil {
		b.Fatal(err)
	}
	cols, vals := r.Row(0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.FoldIn(cols, vals); err != nil {
			b.Fatal(err)
		}
	}
}

// TestNegativeFeedback trains on two blocks of tastes where every user also
// dislikes a third of the items they rated, and checks that the disliked
// items score below the liked ones.
func TestNegativeFeedback(t *testing.T) {
	ctx := context.Background()
	likes := synth.TwoBlocks(40, 60, 0.3, 0, 1)
	var entries []features.Entry
	for u := 0; u < likes.Rows; u++ {
		cols, _ := likes.Row(u)
		for k, i := range cols {
			v := 2.0
			if k%3 == 0 {
				v = -2 // a dislike
			}
			entries = append(entries, features.Entry{Row: u, Col: int(i), Value: v})
		}
	}
	r, err := features.NewCSR(likes.Rows, likes.Cols, entries)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ImplicitConfig{Factors: 8, Regularization: 1, Alpha: 5, NegativeFeedback: true, Seed: 3}
	m, err := TrainImplicit(ctx, r, cfg)
	if err != nil {
		t.Fatal(err)
	}

	var liked, disliked float64
	var nLiked, nDisliked int
	scores := make([]float64, r.Cols)
	for u := 0; u < r.Rows; u++ {
		m.Score(u, scores)
		cols, vals := r.Row(u)
		for k, i := range cols {
			if vals[k] > 0 {
				liked += scores[i]
				nLiked++
			} else {
				disliked += scores[i]
				nDisliked++
			}
		}
	}
	if liked/float64(nLiked) <= disliked/float64(nDisliked)+0.3 {
		t.Errorf("mean score of liked items %.3f, of disliked %.3f: want liked clearly above",
			liked/float64(nLiked), disliked/float64(nDisliked))
	}

	if _, err := TrainImplicit(ctx, r, ImplicitConfig{Factors: 8}); err == nil || !strings.Contains(err.Error(), "invalid value -2") {
		t.Errorf("negative values without NegativeFeedback: error = %v, want an invalid value", err)
	}
	folded, err := m.FoldIn([]int32{0, 1}, []float64{2, -2})
	if err != nil || len(folded.Factors) != 8 {
		t.Errorf("FoldIn with a dislike = %v, %v; want factors", folded, err)
	}
}

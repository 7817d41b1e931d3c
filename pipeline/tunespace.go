package pipeline

import (
	"maps"
	"math"
	"math/rand/v2"
	"slices"
)

// dimension is one parameter of a search.
type dimension struct {
	name string
	// grid holds the values of a grid search, and the choices of a random
	// search unless log is set.
	grid []any
	// log makes a random search draw log-uniformly between the first and
	// the last grid value, rounding for integer parameters.
	log bool
	get func(p TrainParams) any
	set func(p *TrainParams, v any)
}

// space is the searched parameters of one model.
type space []dimension

// searchSpaces holds the main parameters of every tunable model.
var searchSpaces = map[string]space{
	ModelEASE: {
		{name: "lambda", grid: []any{50.0, 150.0, 400.0, 1000.0, 3000.0, 10000.0}, log: true,
			get: func(p TrainParams) any { return p.EASE.Lambda }, set: func(p *TrainParams, v any) { p.EASE.Lambda = v.(float64) }},
		{name: "min_count", grid: []any{1, 2, 3, 5, 10},
			get: func(p TrainParams) any { return p.EASE.MinCount }, set: func(p *TrainParams, v any) { p.EASE.MinCount = v.(int) }},
		{name: "input", grid: []any{InputCentered, InputRatings, InputBinary},
			get: func(p TrainParams) any { return p.EASE.Input }, set: func(p *TrainParams, v any) { p.EASE.Input = v.(string) }},
		{name: "center", grid: []any{2.0, 2.5, 3.0, 3.5},
			get: func(p TrainParams) any { return p.EASE.Center }, set: func(p *TrainParams, v any) { p.EASE.Center = v.(float64) }},
	},
	ModelIALS: {
		{name: "factors", grid: []any{32, 64, 128, 256},
			get: func(p TrainParams) any { return p.IALS.Factors }, set: func(p *TrainParams, v any) { p.IALS.Factors = v.(int) }},
		{name: "regularization", grid: []any{0.3, 3.0, 30.0, 300.0}, log: true,
			get: func(p TrainParams) any { return p.IALS.Regularization }, set: func(p *TrainParams, v any) { p.IALS.Regularization = v.(float64) }},
		{name: "alpha", grid: []any{0.1, 0.5, 2.0, 10.0}, log: true,
			get: func(p TrainParams) any { return p.IALS.Alpha }, set: func(p *TrainParams, v any) { p.IALS.Alpha = v.(float64) }},
		{name: "cg_steps", grid: []any{2, 3, 4},
			get: func(p TrainParams) any { return p.IALS.CGSteps }, set: func(p *TrainParams, v any) { p.IALS.CGSteps = v.(int) }},
		{name: "half_life_days", grid: []any{0.0, 30.0, 180.0, 730.0},
			get: func(p TrainParams) any { return p.IALS.HalfLifeDays }, set: func(p *TrainParams, v any) { p.IALS.HalfLifeDays = v.(float64) }},
		{name: "center", grid: []any{0.0, 2.5, 3.0},
			get: func(p TrainParams) any { return p.IALS.Center }, set: func(p *TrainParams, v any) { p.IALS.Center = v.(float64) }},
	},
	ModelItemKNN: {
		{name: "k", grid: []any{10, 20, 50, 100, 200, 500}, log: true,
			get: func(p TrainParams) any { return p.KNN.K }, set: func(p *TrainParams, v any) { p.KNN.K = v.(int) }},
		{name: "shrink", grid: []any{1.0, 10.0, 30.0, 100.0},
			get: func(p TrainParams) any { return p.KNN.Shrink }, set: func(p *TrainParams, v any) { p.KNN.Shrink = v.(float64) }},
		{name: "weighting", grid: []any{"none", "tfidf", "bm25"},
			get: func(p TrainParams) any { return p.KNN.Weighting }, set: func(p *TrainParams, v any) { p.KNN.Weighting = v.(string) }},
		{name: "k1", grid: []any{0.5, 1.2, 2.0, 3.0},
			get: func(p TrainParams) any { return p.KNN.K1 }, set: func(p *TrainParams, v any) { p.KNN.K1 = v.(float64) }},
		{name: "b", grid: []any{0.25, 0.5, 0.75, 1.0},
			get: func(p TrainParams) any { return p.KNN.B }, set: func(p *TrainParams, v any) { p.KNN.B = v.(float64) }},
	},
	ModelALS: {
		{name: "factors", grid: []any{8, 16, 32, 64, 128},
			get: func(p TrainParams) any { return p.ALS.Factors }, set: func(p *TrainParams, v any) { p.ALS.Factors = v.(int) }},
		{name: "regularization", grid: []any{0.02, 0.05, 0.15, 0.4, 1.0}, log: true,
			get: func(p TrainParams) any { return p.ALS.Regularization }, set: func(p *TrainParams, v any) { p.ALS.Regularization = v.(float64) }},
		{name: "bias_regularization", grid: []any{0.1, 1.0, 10.0, 30.0}, log: true,
			get: func(p TrainParams) any { return p.ALS.BiasRegularization }, set: func(p *TrainParams, v any) { p.ALS.BiasRegularization = v.(float64) }},
		{name: "iterations", grid: []any{10, 15, 25},
			get: func(p TrainParams) any { return p.ALS.Iterations }, set: func(p *TrainParams, v any) { p.ALS.Iterations = v.(int) }},
	},
}

// points returns n points of the space: first the values of defaults, then
// n-1 drawn by search.
func (s space) points(search string, n int, defaults TrainParams, rng *rand.Rand) []map[string]any {
	first := map[string]any{}
	for _, d := range s {
		first[d.name] = d.get(defaults)
	}
	out := []map[string]any{first}
	if search == SearchGrid {
		grid := s.grid()
		rng.Shuffle(len(grid), func(a, b int) { grid[a], grid[b] = grid[b], grid[a] })
		for _, p := range grid {
			if len(out) == n {
				break
			}
			if !maps.Equal(p, first) {
				out = append(out, p)
			}
		}
		return out
	}
	for len(out) < n {
		p := map[string]any{}
		for _, d := range s {
			p[d.name] = d.draw(rng)
		}
		out = append(out, p)
	}
	return out
}

// grid returns every combination of the grid values, in a fixed order.
func (s space) grid() []map[string]any {
	out := []map[string]any{{}}
	for _, d := range s {
		var next []map[string]any
		for _, p := range out {
			for _, v := range d.grid {
				q := maps.Clone(p)
				q[d.name] = v
				next = append(next, q)
			}
		}
		out = next
	}
	return out
}

func (d dimension) draw(rng *rand.Rand) any {
	if !d.log {
		return d.grid[rng.IntN(len(d.grid))]
	}
	lo, hi := asFloat(d.grid[0]), asFloat(d.grid[len(d.grid)-1])
	v := math.Exp(math.Log(lo) + rng.Float64()*(math.Log(hi)-math.Log(lo)))
	if _, isInt := d.grid[0].(int); isInt {
		return int(math.Round(v))
	}
	// Three significant digits keep the recorded values readable.
	scale := math.Pow(10, math.Floor(math.Log10(v))-2)
	return math.Round(v/scale) * scale
}

func asFloat(v any) float64 {
	if i, ok := v.(int); ok {
		return float64(i)
	}
	return v.(float64)
}

// apply returns base with the values of point set, and every parameter left
// at zero filled with its default.
func (s space) apply(base TrainParams, point map[string]any) (TrainParams, error) {
	p := base
	p.Models = slices.Clone(base.Models)
	for _, d := range s {
		if v, ok := point[d.name]; ok {
			d.set(&p, v)
		}
	}
	return p.WithDefaults()
}

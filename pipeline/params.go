package pipeline

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/marquee/marquee/models/als"
	"github.com/marquee/marquee/models/itemknn"
)

// Model names the train stage knows.
const (
	ModelPopularity = "popularity" // distinct users per title
	ModelItemKNN    = "itemknn"    // item-based cosine kNN on ratings
	ModelIALS       = "ials"       // implicit ALS on ratings taken as interactions
	ModelIALSWatch  = "ials-watch" // implicit ALS on watch events
	ModelALS        = "als"        // explicit ALS with biases, for ratings
	ModelBaseline   = "baseline"   // global mean plus user and item biases
)

// AllModels lists every model in training order.
var AllModels = []string{ModelPopularity, ModelItemKNN, ModelIALS, ModelIALSWatch, ModelALS, ModelBaseline}

// rankingModels are the models whose lists can be published.
var rankingModels = []string{ModelIALS, ModelIALSWatch, ModelItemKNN, ModelALS, ModelPopularity}

// ratingModels are the models that predict ratings and get an RMSE.
var ratingModels = []string{ModelALS, ModelBaseline}

// ParseModels checks a comma-separated list of model names.
func ParseModels(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" || s == "all" {
		return AllModels, nil
	}
	var names []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(AllModels, name) {
			return nil, fmt.Errorf("unknown model %q: choose from %s", name, strings.Join(AllModels, ", "))
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names, nil
}

// IALSParams are the parameters of implicit ALS, as recorded in manifests.
type IALSParams struct {
	Factors        int     `json:"factors"`
	Iterations     int     `json:"iterations"`
	Regularization float64 `json:"regularization"`
	Alpha          float64 `json:"alpha"`
	CGSteps        int     `json:"cg_steps"`
	LogScale       bool    `json:"log_scale"`
	Epsilon        float64 `json:"epsilon"`
	// Binary trains on 1 for every rated title instead of the rating value.
	Binary bool `json:"binary"`
}

func (p IALSParams) config(seed uint64, workers int) als.ImplicitConfig {
	return als.ImplicitConfig{
		Factors: p.Factors, Iterations: p.Iterations, Regularization: p.Regularization,
		Alpha: p.Alpha, CGSteps: p.CGSteps, LogScale: p.LogScale, Epsilon: p.Epsilon,
		Seed: seed, Workers: workers,
	}.Defaults()
}

func (p IALSParams) withDefaults() IALSParams {
	c := p.config(0, 1)
	return IALSParams{Factors: c.Factors, Iterations: c.Iterations, Regularization: c.Regularization,
		Alpha: c.Alpha, CGSteps: c.CGSteps, LogScale: c.LogScale, Epsilon: c.Epsilon, Binary: p.Binary}
}

// ALSParams are the parameters of explicit ALS.
type ALSParams struct {
	Factors            int     `json:"factors"`
	Iterations         int     `json:"iterations"`
	Regularization     float64 `json:"regularization"`
	BiasRegularization float64 `json:"bias_regularization"`
}

func (p ALSParams) config(seed uint64, workers int) als.ExplicitConfig {
	return als.ExplicitConfig{
		Factors: p.Factors, Iterations: p.Iterations, Regularization: p.Regularization,
		BiasRegularization: p.BiasRegularization, Seed: seed, Workers: workers,
	}.Defaults()
}

func (p ALSParams) withDefaults() ALSParams {
	c := p.config(0, 1)
	return ALSParams{Factors: c.Factors, Iterations: c.Iterations, Regularization: c.Regularization, BiasRegularization: c.BiasRegularization}
}

// BaselineParams are the parameters of the bias-only baseline.
type BaselineParams struct {
	Iterations         int     `json:"iterations"`
	UserRegularization float64 `json:"user_regularization"`
	ItemRegularization float64 `json:"item_regularization"`
}

func (p BaselineParams) config() als.BaselineConfig {
	return als.BaselineConfig{Iterations: p.Iterations, UserRegularization: p.UserRegularization, ItemRegularization: p.ItemRegularization}.Defaults()
}

func (p BaselineParams) withDefaults() BaselineParams {
	c := p.config()
	return BaselineParams{Iterations: c.Iterations, UserRegularization: c.UserRegularization, ItemRegularization: c.ItemRegularization}
}

// KNNParams are the parameters of item-kNN.
type KNNParams struct {
	K         int     `json:"k"`
	Shrink    float64 `json:"shrink"`
	Binary    bool    `json:"binary"`
	Weighting string  `json:"weighting"` // none, tfidf or bm25
	K1        float64 `json:"k1"`
	B         float64 `json:"b"`
}

func (p KNNParams) config(workers int) (itemknn.Config, error) {
	w, err := parseWeighting(p.Weighting)
	if err != nil {
		return itemknn.Config{}, err
	}
	return itemknn.Config{K: p.K, Shrink: p.Shrink, Binary: p.Binary, Weighting: w, K1: p.K1, B: p.B, Workers: workers}.Defaults(), nil
}

func (p KNNParams) withDefaults() (KNNParams, error) {
	c, err := p.config(1)
	if err != nil {
		return p, err
	}
	return KNNParams{K: c.K, Shrink: c.Shrink, Binary: c.Binary, Weighting: c.Weighting.String(), K1: c.K1, B: c.B}, nil
}

func parseWeighting(s string) (itemknn.Weighting, error) {
	switch s {
	case "", "none":
		return itemknn.NoWeighting, nil
	case "tfidf":
		return itemknn.TFIDF, nil
	case "bm25":
		return itemknn.BM25, nil
	}
	return 0, fmt.Errorf("invalid item-kNN weighting %q: use none, tfidf or bm25", s)
}

// TrainParams are the parameters of every model of a run.
type TrainParams struct {
	Models    []string       `json:"models"`
	IALS      IALSParams     `json:"ials"`
	IALSWatch IALSParams     `json:"ials_watch"`
	ALS       ALSParams      `json:"als"`
	Baseline  BaselineParams `json:"baseline"`
	KNN       KNNParams      `json:"itemknn"`
}

// WithDefaults returns p with every zero parameter replaced by its model's
// default, so a manifest records the values actually used.
func (p TrainParams) WithDefaults() (TrainParams, error) {
	if len(p.Models) == 0 {
		p.Models = AllModels
	}
	p.IALS = p.IALS.withDefaults()
	p.IALSWatch = p.IALSWatch.withDefaults()
	p.ALS = p.ALS.withDefaults()
	p.Baseline = p.Baseline.withDefaults()
	knn, err := p.KNN.withDefaults()
	if err != nil {
		return p, err
	}
	p.KNN = knn
	return p, nil
}

// errNoInput means a model has no training data in this run, such as a
// watch model on a dataset without watch events.
var errNoInput = errors.New("no training data")

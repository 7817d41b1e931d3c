package pipeline

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/marquee/marquee/features"
	"github.com/marquee/marquee/models/als"
	"github.com/marquee/marquee/models/ease"
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
	ModelEASE       = "ease"       // closed-form item-to-item model on centred ratings
)

// AllModels lists every model in training order.
var AllModels = []string{ModelPopularity, ModelItemKNN, ModelIALS, ModelIALSWatch, ModelALS, ModelBaseline, ModelEASE}

// rankingModels are the models whose lists can be published.
var rankingModels = []string{ModelEASE, ModelIALS, ModelIALSWatch, ModelItemKNN, ModelALS, ModelPopularity}

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
	// HalfLifeDays, when positive, decays the confidence of an interaction
	// by its age relative to the user's newest one (see
	// features.Transform); 0 means no decay.
	HalfLifeDays float64 `json:"half_life_days,omitempty"`
	// Center, when positive, trains on the rating minus Center, and takes
	// the values at or below 0 as dislikes (als.ImplicitConfig's
	// NegativeFeedback); 0 means off.
	//
	// NOTE: the fold-in of models/foldin at serving time applies neither
	// Center nor HalfLifeDays, so a published model trained with them folds
	// new users in on raw values.
	Center float64 `json:"center,omitempty"`
}

// transform returns the input transform of the parameters.
func (p IALSParams) transform() features.Transform {
	return features.Transform{Binary: p.Binary, Offset: p.Center, HalfLife: days(p.HalfLifeDays)}
}

// days converts a number of days into a duration.
func days(d float64) time.Duration { return time.Duration(d * float64(24*time.Hour)) }

func (p IALSParams) config(seed uint64, workers int) als.ImplicitConfig {
	return als.ImplicitConfig{
		Factors: p.Factors, Iterations: p.Iterations, Regularization: p.Regularization,
		Alpha: p.Alpha, CGSteps: p.CGSteps, LogScale: p.LogScale, Epsilon: p.Epsilon,
		NegativeFeedback: p.Center > 0, Seed: seed, Workers: workers,
	}.Defaults()
}

func (p IALSParams) withDefaults() IALSParams {
	c := p.config(0, 1)
	return IALSParams{Factors: c.Factors, Iterations: c.Iterations, Regularization: c.Regularization,
		Alpha: c.Alpha, CGSteps: c.CGSteps, LogScale: c.LogScale, Epsilon: c.Epsilon, Binary: p.Binary,
		HalfLifeDays: p.HalfLifeDays, Center: p.Center}
}

// Inputs of EASE: how ratings become its input values.
const (
	InputRatings  = "ratings"  // the rating values as they are
	InputBinary   = "binary"   // 1 for every rated title
	InputCentered = "centered" // the rating minus Center, so low ratings count against a title
)

// DefaultEASECenter is the value subtracted from ratings by the centered
// input when EASEParams.Center is zero: the middle of the 0.5 to 5 scale.
const DefaultEASECenter = 2.5

// EASEParams are the parameters of EASE.
type EASEParams struct {
	Lambda    float64 `json:"lambda"`
	MinCount  int     `json:"min_count"`
	Neighbors int     `json:"neighbors"`
	// Input is ratings, binary or centered (the default).
	Input  string  `json:"input"`
	Center float64 `json:"center,omitempty"`
	// HalfLifeDays, when positive, decays every input value by its age
	// relative to the user's newest interaction; 0 means no decay.
	HalfLifeDays float64 `json:"half_life_days,omitempty"`
}

func (p EASEParams) config(workers int) ease.Config {
	return ease.Config{Lambda: p.Lambda, MinCount: p.MinCount, Neighbors: p.Neighbors, Workers: workers}.Defaults()
}

func (p EASEParams) withDefaults() (EASEParams, error) {
	c := p.config(1)
	out := EASEParams{Lambda: c.Lambda, MinCount: c.MinCount, Neighbors: c.Neighbors, Input: p.Input,
		Center: p.Center, HalfLifeDays: p.HalfLifeDays}
	if out.Input == "" {
		out.Input = InputCentered
	}
	if out.Input == InputCentered && out.Center == 0 {
		out.Center = DefaultEASECenter
	}
	_, err := out.transform()
	return out, err
}

// transform returns the input transform of the parameters. Parameters
// without an input, such as those of a manifest written before EASE
// existed, take the default input.
func (p EASEParams) transform() (features.Transform, error) {
	if p.Input == "" {
		p.Input = InputCentered
		if p.Center == 0 {
			p.Center = DefaultEASECenter
		}
	}
	t := features.Transform{HalfLife: days(p.HalfLifeDays)}
	switch p.Input {
	case InputRatings:
	case InputBinary:
		t.Binary = true
	case InputCentered:
		t.Offset = p.Center
	default:
		return t, fmt.Errorf("invalid EASE input %q: use ratings, binary or centered", p.Input)
	}
	if err := t.Validate(); err != nil {
		return t, err
	}
	return t, nil
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
	EASE      EASEParams     `json:"ease"`
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
	if p.EASE, err = p.EASE.withDefaults(); err != nil {
		return p, err
	}
	return p, nil
}

// errNoInput means a model has no training data in this run, such as a
// watch model on a dataset without watch events.
var errNoInput = errors.New("no training data")

// setModel sets the parameters of the tunable model name to those of from.
// Other names leave p as it is.
func (p *TrainParams) setModel(name string, from TrainParams) {
	switch name {
	case ModelEASE:
		p.EASE = from.EASE
	case ModelIALS:
		p.IALS = from.IALS
	case ModelItemKNN:
		p.KNN = from.KNN
	case ModelALS:
		p.ALS = from.ALS
	}
}

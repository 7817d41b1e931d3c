package pipeline

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/marquee/marquee/features"
)

// Search strategies of Tune.
const (
	SearchRandom = "random" // values drawn at random, ranges on a log scale
	SearchGrid   = "grid"   // points of a fixed grid, drawn without repetition
)

// ValidationDir is the folder, inside a split, of the validation split that
// Tune carves out of the training file.
const ValidationDir = "validation"

// TunableModels are the models Tune can search, in the order it tunes them.
var TunableModels = []string{ModelEASE, ModelIALS, ModelItemKNN, ModelALS}

// TuneConfig sets up a search. Zero fields take the defaults given.
type TuneConfig struct {
	Models []string // default TunableModels
	Search string   // random (default) or grid
	// Trials is the number of parameter sets tried per model, the same for
	// every model; default 20. The first is always the model's defaults.
	Trials  int
	Seed    uint64 // seed of the search and of training
	Workers int    // goroutines; 0 means one per CPU
}

func (c TuneConfig) withDefaults() (TuneConfig, error) {
	if len(c.Models) == 0 {
		c.Models = TunableModels
	}
	for _, m := range c.Models {
		if !slices.Contains(TunableModels, m) {
			return c, fmt.Errorf("model %q cannot be tuned: choose from %s", m, strings.Join(TunableModels, ", "))
		}
	}
	if c.Search == "" {
		c.Search = SearchRandom
	}
	if c.Search != SearchRandom && c.Search != SearchGrid {
		return c, fmt.Errorf("invalid search %q: use random or grid", c.Search)
	}
	if c.Trials == 0 {
		c.Trials = 20
	}
	if c.Trials < 1 {
		return c, fmt.Errorf("invalid trials %d: want > 0", c.Trials)
	}
	return c, nil
}

// Trial is one parameter set tried on the validation split.
type Trial struct {
	Model   string         `json:"model"`
	Params  map[string]any `json:"params"` // the searched values; the others keep their defaults
	Metrics Metrics        `json:"metrics"`
	Seconds float64        `json:"seconds"`
}

// Objectives of a search.
const (
	ObjectiveNDCG = "ndcg_at_10" // higher is better
	ObjectiveRMSE = "rmse"       // lower is better
)

// ModelTuning sums up the search of one model. Default and Tuned are scored
// on the test split after training on the whole training split.
type ModelTuning struct {
	Objective string         `json:"objective"`
	Best      map[string]any `json:"best_params"`
	BestValue float64        `json:"best_validation"`
	Default   Metrics        `json:"default_test"`
	Tuned     Metrics        `json:"tuned_test"`
}

// Tuning is the record of a search in a run's manifest.
type Tuning struct {
	Search     string                 `json:"search"`
	Trials     int                    `json:"trials_per_model"`
	Seed       uint64                 `json:"seed"`
	Validation SplitResult            `json:"validation"`
	Models     map[string]ModelTuning `json:"models"`
	Results    []Trial                `json:"trials"`
	// Params are the default parameters with the best values of every
	// tuned model; `marquee pipeline train --tuned` trains with them.
	Params TrainParams `json:"params"`
}

// mergeTuning returns the tuning next, with the models that the earlier
// tuning prev of the same run searched and next did not, so that tuning
// models one call at a time keeps every result. The two merge only when
// they searched alike (same search, trials and seed); otherwise next
// replaces prev and the dropped models are logged.
func mergeTuning(prev, next *Tuning, log *slog.Logger) *Tuning {
	var keptModels []string
	for name := range prev.Models {
		if _, ok := next.Models[name]; !ok {
			keptModels = append(keptModels, name)
		}
	}
	if len(keptModels) == 0 {
		return next
	}
	slices.Sort(keptModels)
	if prev.Search != next.Search || prev.Trials != next.Trials || prev.Seed != next.Seed {
		log.Warn("tune: the earlier tuning of this run used other settings and is replaced; its models are no longer tuned",
			"models", keptModels, "earlier_search", prev.Search, "earlier_trials", prev.Trials, "earlier_seed", prev.Seed)
		return next
	}
	for _, name := range keptModels {
		next.Models[name] = prev.Models[name]
		next.Params.setModel(name, prev.Params)
	}
	for _, trial := range prev.Results {
		if slices.Contains(keptModels, trial.Model) {
			next.Results = append(next.Results, trial)
		}
	}
	log.Info("tune: kept the earlier tuning of models not searched again", "models", keptModels)
	return next
}

// Tune carves a validation split out of the training file in splitDir by
// the same protocol, writes it under splitDir/validation, and searches the
// main parameters of each model on it, the same number of trials for every
// model. Then it trains each model with its defaults and with its best
// parameters on the whole training split and scores both on the test split.
// Ranking models are searched for NDCG@10, explicit ALS for RMSE.
func Tune(ctx context.Context, splitDir string, splitCfg features.SplitConfig, cfg TuneConfig, log *slog.Logger) (*Tuning, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("tune: %w", err)
	}
	s, err := readSplit(splitDir)
	if err != nil {
		return nil, fmt.Errorf("tune: %w", err)
	}
	val, res, err := writeValidation(s, filepath.Join(splitDir, ValidationDir), splitCfg)
	if err != nil {
		return nil, fmt.Errorf("tune: %w", err)
	}
	log.Info("tune: validation split written", "train_ratings", res.TrainRatings, "test_ratings", res.TestRatings)

	t := &Tuning{Search: cfg.Search, Trials: cfg.Trials, Seed: cfg.Seed, Validation: res, Models: map[string]ModelTuning{}}
	if t.Params, err = (TrainParams{Models: cfg.Models}).WithDefaults(); err != nil {
		return nil, fmt.Errorf("tune: %w", err)
	}
	for _, name := range cfg.Models {
		if err := t.tuneModel(ctx, name, s, val, cfg, log); err != nil {
			return nil, fmt.Errorf("tune %s: %w", name, err)
		}
	}
	return t, nil
}

// writeValidation splits the training ratings of s by cfg and writes the
// two halves under dir, with an empty watch file: the search covers the
// rating models only.
func writeValidation(s *split, dir string, cfg features.SplitConfig) (*split, SplitResult, error) {
	train, test := features.Split(s.train, cfg)
	for name, xs := range map[string][]features.Interaction{TrainFile: train, TestFile: test, TrainWatchesFile: nil} {
		if err := writeInteractions(filepath.Join(dir, name), xs); err != nil {
			return nil, SplitResult{}, err
		}
	}
	users := map[string]bool{}
	for _, x := range test {
		users[x.UserID] = true
	}
	res := SplitResult{TrainRatings: len(train), TestRatings: len(test), TestUsers: len(users)}
	return &split{train: train, test: test}, res, nil
}

// tuneModel runs the trials of one model and scores its default and best
// parameters on the test split.
func (t *Tuning) tuneModel(ctx context.Context, name string, s, val *split, cfg TuneConfig, log *slog.Logger) error {
	space := searchSpaces[name]
	points := space.points(cfg.Search, cfg.Trials, t.Params, rand.New(rand.NewPCG(cfg.Seed, nameSeed(name))))
	objective := ObjectiveNDCG
	if name == ModelALS {
		objective = ObjectiveRMSE
	}
	valIn, err := newInputs(val.train, nil)
	if err != nil {
		return err
	}

	mt := ModelTuning{Objective: objective, BestValue: math.NaN()}
	for k, point := range points {
		params, err := space.apply(t.Params, point)
		if err != nil {
			return err
		}
		start := time.Now()
		m, err := fitAndScore(ctx, name, valIn, val, params, cfg)
		if err != nil {
			return fmt.Errorf("trial %d %v: %w", k+1, point, err)
		}
		t.Results = append(t.Results, Trial{Model: name, Params: point, Metrics: m, Seconds: time.Since(start).Seconds()})
		v := objectiveValue(objective, m)
		if math.IsNaN(mt.BestValue) || better(objective, v, mt.BestValue) {
			mt.BestValue, mt.Best = v, point
		}
		log.Info("tune: trial done", "model", name, "trial", k+1, "of", len(points), objective, v, "params", point)
	}

	best, err := space.apply(t.Params, mt.Best)
	if err != nil {
		return err
	}
	if mt.Default, mt.Tuned, err = scoreOnTest(ctx, name, s, t.Params, best, cfg); err != nil {
		return err
	}
	t.Params = best
	t.Models[name] = mt
	log.Info("tune: model done", "model", name, "best", mt.Best, "default_test_"+objective, objectiveValue(objective, mt.Default),
		"tuned_test_"+objective, objectiveValue(objective, mt.Tuned))
	return nil
}

// scoreOnTest trains with the default and the tuned parameters on the
// training split and scores both on the test split.
func scoreOnTest(ctx context.Context, name string, s *split, defaults, tuned TrainParams, cfg TuneConfig) (Metrics, Metrics, error) {
	in, err := newInputs(s.train, nil)
	if err != nil {
		return Metrics{}, Metrics{}, err
	}
	def, err := fitAndScore(ctx, name, in, s, defaults, cfg)
	if err != nil {
		return Metrics{}, Metrics{}, fmt.Errorf("defaults on test: %w", err)
	}
	best, err := fitAndScore(ctx, name, in, s, tuned, cfg)
	if err != nil {
		return Metrics{}, Metrics{}, fmt.Errorf("tuned on test: %w", err)
	}
	return def, best, nil
}

func fitAndScore(ctx context.Context, name string, in *inputs, s *split, p TrainParams, cfg TuneConfig) (Metrics, error) {
	f, err := fit(ctx, name, in, p, cfg.Seed, cfg.Workers)
	if err != nil {
		return Metrics{}, err
	}
	return evaluateModel(ctx, f, s, cfg.Workers)
}

func objectiveValue(objective string, m Metrics) float64 {
	if objective == ObjectiveRMSE {
		if m.RMSE == nil {
			return math.NaN()
		}
		return *m.RMSE
	}
	return m.NDCG
}

func better(objective string, v, than float64) bool {
	if objective == ObjectiveRMSE {
		return v < than
	}
	return v > than
}

// nameSeed gives every model its own stream of random draws, so adding a
// model to a search leaves the draws of the others unchanged.
func nameSeed(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

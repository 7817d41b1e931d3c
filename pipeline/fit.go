package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/marquee/marquee/features"
	"github.com/marquee/marquee/models"
	"github.com/marquee/marquee/models/als"
	"github.com/marquee/marquee/models/ease"
	"github.com/marquee/marquee/models/itemknn"
	"github.com/marquee/marquee/models/popularity"
)

// fitted is a trained model with the dataset that names its rows and
// columns. Exactly one of the model fields is set.
type fitted struct {
	name    string
	data    *features.Dataset
	loss    []float64
	seconds float64

	implicit *als.Implicit
	explicit *als.Explicit
	baseline *als.Baseline
	knn      *itemknn.Model
	pop      *popularity.Model
	ease     *ease.Model
}

// scorer returns the model as a Scorer.
func (f *fitted) scorer() models.Scorer {
	switch {
	case f.implicit != nil:
		return f.implicit
	case f.explicit != nil:
		return f.explicit
	case f.baseline != nil:
		return f.baseline
	case f.knn != nil:
		return f.knn
	case f.ease != nil:
		return f.ease
	}
	return f.pop
}

// predictor returns the model as a Predictor, or nil for ranking-only models.
func (f *fitted) predictor() models.Predictor {
	switch {
	case f.explicit != nil:
		return f.explicit
	case f.baseline != nil:
		return f.baseline
	}
	return nil
}

// inputs are the datasets models train on. It keeps the transformed
// datasets it builds, so it is not safe for concurrent use.
type inputs struct {
	ratings *features.Dataset // current ratings
	watches *features.Dataset // watch strengths; nil without watch events

	rawRatings, rawWatches []features.Interaction
	transformed            map[transformKey]*features.Dataset
}

// transformKey names a dataset built from transformed interactions.
type transformKey struct {
	watches bool
	t       features.Transform
}

func newInputs(ratings, watches []features.Interaction) (*inputs, error) {
	in := &inputs{rawRatings: ratings, rawWatches: watches, transformed: map[transformKey]*features.Dataset{}}
	var err error
	if in.ratings, err = features.NewDataset(ratings); err != nil {
		return nil, err
	}
	if len(watches) > 0 {
		if in.watches, err = features.NewDataset(watches); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// dataset returns the dataset of a model's events before any transform, or
// nil when there is none.
func (in *inputs) dataset(name string) *features.Dataset {
	if name == ModelIALSWatch {
		return in.watches
	}
	return in.ratings
}

// modelData returns the dataset a model trains on: its events with the
// input transform of its parameters applied, or nil when there are none. It
// has the users and items of dataset(name).
func (in *inputs) modelData(name string, p TrainParams) (*features.Dataset, error) {
	d := in.dataset(name)
	if d == nil {
		return nil, nil
	}
	var t features.Transform
	switch name {
	case ModelIALS:
		t = p.IALS.transform()
	case ModelIALSWatch:
		t = p.IALSWatch.transform()
	case ModelEASE:
		var err error
		if t, err = p.EASE.transform(); err != nil {
			return nil, err
		}
	}
	if t.Identity() {
		return d, nil
	}

	key := transformKey{watches: name == ModelIALSWatch, t: t}
	if cached, ok := in.transformed[key]; ok {
		return cached, nil
	}

	raw := in.rawRatings
	if key.watches {
		raw = in.rawWatches
	}
	out, err := features.NewDataset(t.Apply(raw))
	if err != nil {
		return nil, err
	}
	in.transformed[key] = out
	return out, nil
}

// fit trains one model with a seed and worker count.
func fit(ctx context.Context, name string, in *inputs, p TrainParams, seed uint64, workers int) (*fitted, error) {
	d, err := in.modelData(name, p)
	if err != nil {
		return nil, fmt.Errorf("train %s: %w", name, err)
	}
	if d == nil || d.R.NNZ() == 0 {
		return nil, fmt.Errorf("train %s: %w", name, errNoInput)
	}
	start := time.Now()
	f := &fitted{name: name, data: d}
	switch name {
	case ModelPopularity:
		f.pop, err = popularity.Train(ctx, d.R)
	case ModelItemKNN:
		var cfg itemknn.Config
		if cfg, err = p.KNN.config(workers); err == nil {
			f.knn, err = itemknn.Train(ctx, d.R, cfg)
		}
	case ModelIALS, ModelIALSWatch:
		params := p.IALS
		if name == ModelIALSWatch {
			params = p.IALSWatch
		}
		f.implicit, err = als.TrainImplicit(ctx, d.R, params.config(seed, workers))
		if err == nil {
			f.loss = f.implicit.Loss
		}
	case ModelALS:
		f.explicit, err = als.TrainExplicit(ctx, d.R, p.ALS.config(seed, workers))
		if err == nil {
			f.loss = f.explicit.Loss
		}
	case ModelBaseline:
		f.baseline, err = als.TrainBaseline(ctx, d.R, p.Baseline.config())
		if err == nil {
			f.loss = f.baseline.Loss
		}
	case ModelEASE:
		f.ease, err = ease.Train(ctx, d.R, p.EASE.config(workers))
	default:
		err = fmt.Errorf("unknown model %q", name)
	}
	if err != nil {
		return nil, fmt.Errorf("train %s: %w", name, err)
	}
	f.seconds = time.Since(start).Seconds()
	return f, nil
}

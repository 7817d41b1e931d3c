package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/marquee/marquee/features"
	"github.com/marquee/marquee/models"
	"github.com/marquee/marquee/models/als"
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

// inputs are the datasets models train on.
type inputs struct {
	ratings *features.Dataset // current ratings
	watches *features.Dataset // watch strengths; nil without watch events
}

func newInputs(ratings, watches []features.Interaction) (*inputs, error) {
	in := &inputs{}
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

// dataset returns the dataset a model trains on, or nil when there is none.
func (in *inputs) dataset(name string) *features.Dataset {
	if name == ModelIALSWatch {
		return in.watches
	}
	return in.ratings
}

// fit trains one model with a seed and worker count.
func fit(ctx context.Context, name string, in *inputs, p TrainParams, seed uint64, workers int) (*fitted, error) {
	d := in.dataset(name)
	if d == nil || d.R.NNZ() == 0 {
		return nil, fmt.Errorf("train %s: %w", name, errNoInput)
	}
	start := time.Now()
	f := &fitted{name: name, data: d}
	var err error
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
		r := d.R
		if params.Binary {
			r = r.Map(func(float64) float64 { return 1 })
		}
		f.implicit, err = als.TrainImplicit(ctx, r, params.config(seed, workers))
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
	default:
		err = fmt.Errorf("unknown model %q", name)
	}
	if err != nil {
		return nil, fmt.Errorf("train %s: %w", name, err)
	}
	f.seconds = time.Since(start).Seconds()
	return f, nil
}

package als

import (
	"fmt"
	"math"

	"github.com/marquee/marquee/models/internal/parallel"
)

// ExplicitConfig sets up explicit training. A zero field takes the default
// given with it.
type ExplicitConfig struct {
	Factors    int // length of each factor vector; default 32
	Iterations int // default 15

	// Regularization, times a row's number of ratings, weighs the squared
	// norm of the row's factors (weighted-lambda regularisation); default
	// 0.15. BiasRegularization weighs the squared bias, unscaled; default 1.
	Regularization     float64
	BiasRegularization float64

	Seed    uint64 // seed of the random initial item factors
	Workers int    // goroutines; default one per CPU

	// Progress, when set, is called after every iteration, counting from 1,
	// with the training loss.
	Progress func(iter int, loss float64)
}

// Defaults returns c with every zero field replaced by its default.
func (c ExplicitConfig) Defaults() ExplicitConfig {
	c.Factors = orInt(c.Factors, 32)
	c.Iterations = orInt(c.Iterations, 15)
	c.Regularization = orFloat(c.Regularization, 0.15)
	c.BiasRegularization = orFloat(c.BiasRegularization, 1)
	c.Workers = parallel.Workers(c.Workers)
	return c
}

// Validate reports the first field whose value is out of range.
func (c ExplicitConfig) Validate() error {
	return firstError(
		positiveInt("Factors", c.Factors),
		positiveInt("Iterations", c.Iterations),
		positiveFloat("Regularization", c.Regularization),
		positiveFloat("BiasRegularization", c.BiasRegularization),
		positiveInt("Workers", c.Workers),
	)
}

// ImplicitConfig sets up implicit training. A zero field takes the default
// given with it.
//
// NOTE: the defaults of Regularization and Alpha were tuned on MovieLens
// ml-latest-small ratings (0.5 to 5, 610 users) under a per-user temporal
// split. Other value scales and data sizes likely need other values.
type ImplicitConfig struct {
	Factors        int     // length of each factor vector; default 128
	Iterations     int     // default 15
	Regularization float64 // weight of the squared norm of every factor vector; default 30
	CGSteps        int     // conjugate-gradient steps per row solve; default 3
	Seed           uint64  // seed of the random initial factors
	Workers        int     // goroutines; default one per CPU

	// The confidence of an observed value v is 1 + Alpha*v, or with LogScale
	// 1 + Alpha*log(1 + v/Epsilon).
	Alpha    float64 // default 1
	LogScale bool
	Epsilon  float64 // default 1

	// NegativeFeedback accepts values <= 0 as dislikes: preference 0 where
	// a positive value has preference 1, with the confidence of -v. Without
	// it, negative values are an error.
	NegativeFeedback bool

	// Progress, when set, is called after every iteration, counting from 1,
	// with the training loss.
	Progress func(iter int, loss float64)
}

// Defaults returns c with every zero field replaced by its default.
func (c ImplicitConfig) Defaults() ImplicitConfig {
	c.Factors = orInt(c.Factors, 128)
	c.Iterations = orInt(c.Iterations, 15)
	c.Regularization = orFloat(c.Regularization, 30)
	c.CGSteps = orInt(c.CGSteps, 3)
	c.Alpha = orFloat(c.Alpha, 1)
	c.Epsilon = orFloat(c.Epsilon, 1)
	c.Workers = parallel.Workers(c.Workers)
	return c
}

// Validate reports the first field whose value is out of range.
func (c ImplicitConfig) Validate() error {
	return firstError(
		positiveInt("Factors", c.Factors),
		positiveInt("Iterations", c.Iterations),
		positiveFloat("Regularization", c.Regularization),
		positiveInt("CGSteps", c.CGSteps),
		positiveFloat("Alpha", c.Alpha),
		positiveFloat("Epsilon", c.Epsilon),
		positiveInt("Workers", c.Workers),
	)
}

// signedConfidence returns the confidence of an observed value v, negated
// for a dislike. Since every confidence is at least 1, the sign carries the
// preference: 1 when positive, 0 when negative.
func (c ImplicitConfig) signedConfidence(v float64) float64 {
	if c.NegativeFeedback && v <= 0 {
		return -c.confidence(-v)
	}
	return c.confidence(v)
}

// confidence returns the weight of an observed value v.
func (c ImplicitConfig) confidence(v float64) float64 {
	if c.LogScale {
		return 1 + c.Alpha*math.Log1p(v/c.Epsilon)
	}
	return 1 + c.Alpha*v
}

// BaselineConfig sets up bias-only training. A zero field takes the default
// given with it.
type BaselineConfig struct {
	Iterations int // alternating passes over users and items; default 10

	// A bias is the sum of its residuals divided by the number of ratings
	// plus the regularisation, so rarely rated items stay near the mean.
	UserRegularization float64 // default 10
	ItemRegularization float64 // default 25

	// Progress, when set, is called after every iteration, counting from 1,
	// with the training loss.
	Progress func(iter int, loss float64)
}

// Defaults returns c with every zero field replaced by its default.
func (c BaselineConfig) Defaults() BaselineConfig {
	c.Iterations = orInt(c.Iterations, 10)
	c.UserRegularization = orFloat(c.UserRegularization, 10)
	c.ItemRegularization = orFloat(c.ItemRegularization, 25)
	return c
}

// Validate reports the first field whose value is out of range.
func (c BaselineConfig) Validate() error {
	return firstError(
		positiveInt("Iterations", c.Iterations),
		positiveFloat("UserRegularization", c.UserRegularization),
		positiveFloat("ItemRegularization", c.ItemRegularization),
	)
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func orFloat(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

func positiveInt(name string, v int) error {
	if v <= 0 {
		return fmt.Errorf("als: %s is %d, want > 0", name, v)
	}
	return nil
}

func positiveFloat(name string, v float64) error {
	if !(v > 0) || math.IsInf(v, 0) {
		return fmt.Errorf("als: %s is %v, want a finite value > 0", name, v)
	}
	return nil
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

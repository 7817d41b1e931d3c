// Package models holds Marquee's recommendation algorithms and their
// evaluation, free of any I/O: they train on a features.Dataset and score in
// its index space. Each algorithm lives in a subpackage (als, itemknn,
// popularity); topn selects the best items and eval computes ranking and
// rating metrics.
//
// Training takes a context: a cancelled run returns ctx.Err() and never a
// partial model. Training with the same data, parameters and seed gives the
// same model.
package models

// Scorer scores every item for a user; a higher score is a better match.
// Implementations are safe for concurrent use after training.
type Scorer interface {
	// Score writes the score of each item for user u into dst, whose length
	// is the number of items of the training matrix.
	Score(u int, dst []float64)
}

// Predictor predicts the rating a user would give an item.
type Predictor interface {
	// Predict returns the predicted rating of item i by user u.
	Predict(u, i int) float64
}

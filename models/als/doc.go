// Package als factorises the user-by-item matrix by alternating least
// squares.
//
// It holds three models:
//
//   - Baseline predicts a rating as the global mean plus a user and an item
//     bias, each regularised; it is the reference for rating error.
//   - Explicit fits r_ui ≈ mu + b_u + b_i + x_u·y_i on the observed ratings,
//     learning the biases jointly with the factors by giving each factor
//     vector a constant-1 partner. Every row's penalty is the regularisation
//     times its number of ratings (weighted-lambda regularisation).
//   - Implicit fits a preference of 1 for every observed pair and 0 for every
//     other pair, weighted by a confidence that grows with the observed value
//     (Hu, Koren and Volinsky, 2008). Each row is solved by a fixed number of
//     conjugate-gradient steps that start from its previous factors, with the
//     Gram matrix of the other side computed once per half-iteration
//     (Takács, Pilászy and Tikk, 2011).
//
// Training is parallel over rows, and each row's solve depends only on the
// other side's factors, fixed during a half-iteration, so the factors do not
// depend on the number of workers. Factors start from a random draw seeded
// by the config, so equal data, config and seed give bit-identical factors.
//
// Training checks its context before every block of rows. A cancelled run
// returns ctx.Err() and no model. A run whose loss or factors stop being
// finite returns no model either, and an error naming the loss or the row. Training never logs; a config
// may carry a Progress function, called after each iteration on the calling
// goroutine.
//
// A trained model is safe for concurrent use while its exported fields stay
// unchanged.
package als

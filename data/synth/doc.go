// Package synth generates a synthetic catalog, user base and event log for
// demos and tests, so that neither needs a downloaded dataset. It is the
// engine of "marquee data generate".
//
// The data come from a latent model. Each genre has a random direction in a
// small latent space. Each title has 1 to 3 genres and a unit vector near
// the mean of their directions. Each user has 1 to 3 favourite genres and a
// taste vector built the same way. Titles have a Zipf popularity over a random
// ranking. A user's interactions are distinct titles drawn with
// probability proportional to popularity × exp(TasteWeight × affinity),
// where affinity is the cosine of the two vectors. An interaction is either
// a rating, the affinity plus user and title biases and noise rounded to a
// half star in [0.5, 5], or a watch session of start, progress and complete
// or partial events, complete more often as affinity grows. Titles have
// generated names, years, types (mostly movies, some series) and durations;
// users have names, preferred genres and e-mails of the form
// user123@example.com, and no password, so they cannot sign in.
//
// [NewWorld] builds the model from a [Config] and keeps it as the ground
// truth ([World.Affinity], [World.Popularity], [World.TopTitles]) for tests
// that check a model recovers it. [World.Write] streams the records through
// the storage port in batches.
//
// Output is deterministic: the same Config gives the same records, IDs and
// times on a given platform, whatever the batch size. Every random draw
// comes from a PCG stream seeded by Config.Seed, turned into floats and
// normal variates by this package rather than by math/rand/v2's methods,
// whose output a Go release may change; times derive from Config.End, never
// from the clock. Floating-point results can differ in the last bit between
// CPU architectures (arm64 fuses multiply-adds), which can change a rare
// draw there.
package synth

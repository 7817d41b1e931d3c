package synth

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/marquee/marquee/data"
)

// Shape of the latent model. The noise levels set how far a title or a
// user strays from the mean of its genres' vectors.
const (
	titleNoise     = 0.6
	userNoise      = 0.6
	titleBiasSD    = 0.3 // rating offset of a title, in stars
	userBiasSD     = 0.35
	ratingNoiseSD  = 0.5
	interactionsSD = 1.0 // sigma of the log-normal law of interactions per user
	minInteraction = 5   // interactions per user at least, or Titles when fewer
	joinShare      = 0.75
	meanAgeYears   = 12.0
	firstYear      = 1920
)

// World is the latent structure behind a synthetic dataset: the catalog,
// the users, and the taste vectors and popularity that events are drawn
// from. It is the ground truth a test compares a trained model with. A World
// does not change after NewWorld and is safe for concurrent use.
type World struct {
	cfg      Config
	names    names
	startSec int64 // first second of the event log
	endSec   int64 // first second after it

	titles     []data.Title
	titleIndex map[string]int
	titleVec   []float64 // Titles rows of Dim, each of unit length
	logPop     []float64 // log popularity; the popularities sum to 1
	titleBias  []float64

	users        []data.User
	userIndex    map[string]int
	userVec      []float64 // Users rows of Dim, each of unit length
	userBias     []float64
	interactions []int
	idPrefix     string // of watch event IDs
}

// NewWorld applies the defaults to cfg, validates it and builds the world it
// describes. It returns a *ConfigError for an invalid config.
func NewWorld(cfg Config) (*World, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}

	w := &World{cfg: cfg, names: newNames()}
	w.setSpan()
	genreVecs := unitVectors(newRNG(cfg.Seed, streamGenres), len(cfg.Genres), cfg.Dim)
	w.makeTitles(newRNG(cfg.Seed, streamTitles), genreVecs)
	w.makeUsers(newRNG(cfg.Seed, streamUsers), genreVecs)
	w.idPrefix = "synth-" + strconv.FormatUint(cfg.Seed, 10) + "-"
	return w, nil
}

// Config returns the configuration with its defaults applied.
func (w *World) Config() Config { return w.cfg }

// setSpan sets the whole seconds of [End-Span, End).
func (w *World) setSpan() {
	first := w.cfg.End.Add(-w.cfg.Span)
	w.startSec = first.Unix()
	if first.Nanosecond() > 0 {
		w.startSec++
	}
	w.endSec = w.cfg.End.Unix()
	if w.cfg.End.Nanosecond() > 0 {
		w.endSec++
	}
}

// makeTitles draws the catalog, each title's vector near the mean of its
// genres' vectors, and a Zipf popularity over a random ranking.
func (w *World) makeTitles(r rng, genreVecs []float64) {
	n, dim := w.cfg.Titles, w.cfg.Dim
	weights := genreWeights(len(w.cfg.Genres))
	created := time.Unix(w.startSec, 0).UTC()
	endYear := w.cfg.End.UTC().Year()

	w.titles = make([]data.Title, n)
	w.titleIndex = make(map[string]int, n)
	w.titleVec = make([]float64, n*dim)
	w.titleBias = make([]float64, n)
	for i := range n {
		genres := pickDistinct(r, weights, 1+r.intN(3))
		blend(r, genreVecs, genres, titleNoise, w.titleVec[i*dim:(i+1)*dim])
		kind, minutes := titleKind(r, w.cfg.SeriesShare)
		w.titles[i] = data.Title{
			ID:          paddedID("t", i+1, n),
			Name:        w.names.title(r),
			Year:        max(firstYear, endYear-int(-math.Log(r.openFloat())*meanAgeYears)),
			Genres:      genreNames(w.cfg.Genres, genres),
			Type:        kind,
			DurationSec: minutes * 60,
			CreatedAt:   created,
			UpdatedAt:   created,
		}
		w.titleIndex[w.titles[i].ID] = i
		w.titleBias[i] = titleBiasSD * r.normal()
	}
	w.logPop = zipfLogPopularity(r, n, w.cfg.Zipf)
}

// titleKind returns "series" with probability seriesShare, else "movie",
// and a running time in minutes: one episode for a series.
func titleKind(r rng, seriesShare float64) (kind string, minutes int) {
	if r.float() < seriesShare {
		return "series", r.between(20, 60)
	}
	return "movie", min(200, max(70, int(math.Round(105+20*r.normal()))))
}

// zipfLogPopularity ranks n titles at random and returns the log of each
// one's popularity, rank^-s normalised to sum to 1.
func zipfLogPopularity(r rng, n int, s float64) []float64 {
	rank := make([]int, n)
	for i := range rank {
		rank[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := r.intN(i + 1)
		rank[i], rank[j] = rank[j], rank[i]
	}

	logPop := make([]float64, n)
	var total float64
	for i, k := range rank {
		logPop[i] = -s * math.Log(float64(k+1))
		total += math.Exp(logPop[i])
	}
	logTotal := math.Log(total)
	for i := range logPop {
		logPop[i] -= logTotal
	}
	return logPop
}

// makeUsers draws users, each with 1 to 3 favourite genres, a taste vector
// near the mean of those genres' vectors, a join time in the first three
// quarters of the span, and a log-normal number of interactions.
func (w *World) makeUsers(r rng, genreVecs []float64) {
	n, dim := w.cfg.Users, w.cfg.Dim
	weights := genreWeights(len(w.cfg.Genres))
	spanSec := float64(w.endSec - w.startSec)

	w.users = make([]data.User, n)
	w.userIndex = make(map[string]int, n)
	w.userVec = make([]float64, n*dim)
	w.userBias = make([]float64, n)
	w.interactions = make([]int, n)
	for i := range n {
		favourites := pickDistinct(r, weights, 1+r.intN(3))
		blend(r, genreVecs, favourites, userNoise, w.userVec[i*dim:(i+1)*dim])
		joined := time.Unix(w.startSec+int64(r.float()*joinShare*spanSec), 0).UTC()
		w.users[i] = data.User{
			ID:              paddedID("u", i+1, n),
			Email:           "user" + strconv.Itoa(i+1) + "@example.com",
			Name:            w.names.person(r),
			Role:            data.RoleUser,
			PreferredGenres: genreNames(w.cfg.Genres, favourites),
			CreatedAt:       joined,
			UpdatedAt:       joined,
		}
		w.userIndex[w.users[i].ID] = i
		w.userBias[i] = userBiasSD * r.normal()
		w.interactions[i] = w.interactionCount(r)
	}
}

// interactionCount draws a log-normal count with mean MeanInteractions,
// clamped to [minInteraction, Titles].
func (w *World) interactionCount(r rng) int {
	mu := math.Log(w.cfg.MeanInteractions) - interactionsSD*interactionsSD/2
	count := int(math.Round(math.Exp(mu + interactionsSD*r.normal())))
	return min(w.cfg.Titles, max(minInteraction, count))
}

// genreWeights makes the genre at position i drawn with weight 1/sqrt(i+1).
func genreWeights(n int) []float64 {
	weights := make([]float64, n)
	for i := range weights {
		weights[i] = 1 / math.Sqrt(float64(i+1))
	}
	return weights
}

// pickDistinct draws up to k distinct indexes in proportion to weights.
func pickDistinct(r rng, weights []float64, k int) []int {
	left := slices.Clone(weights)
	var total float64
	for _, wt := range left {
		total += wt
	}
	picked := make([]int, 0, k)
	for len(picked) < min(k, len(weights)) {
		i := r.pick(left, total)
		picked = append(picked, i)
		total -= left[i]
		left[i] = 0
	}
	return picked
}

func genreNames(all []string, picked []int) []string {
	names := make([]string, len(picked))
	for i, g := range picked {
		names[i] = all[g]
	}
	return names
}

// unitVectors returns n random directions in dim dimensions, one per row.
func unitVectors(r rng, n, dim int) []float64 {
	vecs := make([]float64, n*dim)
	for i := range vecs {
		vecs[i] = r.normal()
	}
	for i := range n {
		normalize(vecs[i*dim : (i+1)*dim])
	}
	return vecs
}

// blend sets dst to the unit vector along the mean of the picked rows of
// vecs plus Gaussian noise whose expected length is noise.
func blend(r rng, vecs []float64, picked []int, noise float64, dst []float64) {
	dim := len(dst)
	scale := noise / math.Sqrt(float64(dim))
	for d := range dst {
		var sum float64
		for _, g := range picked {
			sum += vecs[g*dim+d]
		}
		dst[d] = sum/float64(len(picked)) + scale*r.normal()
	}
	normalize(dst)
}

func normalize(v []float64) {
	var sq float64
	for _, x := range v {
		sq += x * x
	}
	if sq == 0 {
		v[0], sq = 1, 1
	}
	inv := 1 / math.Sqrt(sq)
	for i := range v {
		v[i] *= inv
	}
}

// affinity returns the cosine between a user's taste and a title, in [-1, 1].
func (w *World) affinity(u, t int) float64 {
	dim := w.cfg.Dim
	uv, tv := w.userVec[u*dim:(u+1)*dim], w.titleVec[t*dim:(t+1)*dim]
	var dot float64
	for d := range uv {
		dot += uv[d] * tv[d]
	}
	return dot
}

// Titles returns the catalog in ID order. The caller must not modify it.
func (w *World) Titles() []data.Title { return w.titles }

// Users returns the users in ID order. The caller must not modify them.
func (w *World) Users() []data.User { return w.users }

// Affinity returns how much a user likes a title, the cosine of their latent
// vectors in [-1, 1], and false for an unknown user or title. Ratings and
// the chance of watching to the end grow with it.
func (w *World) Affinity(userID, contentID string) (float64, bool) {
	u, okU := w.userIndex[userID]
	t, okT := w.titleIndex[contentID]
	if !okU || !okT {
		return 0, false
	}
	return w.affinity(u, t), true
}

// Popularity returns a title's share of the popularity law, summing to 1
// over the catalog, and false for an unknown title. Users choose titles with
// probability proportional to Popularity × exp(TasteWeight × Affinity).
func (w *World) Popularity(contentID string) (float64, bool) {
	t, ok := w.titleIndex[contentID]
	if !ok {
		return 0, false
	}
	return math.Exp(w.logPop[t]), true
}

// TopTitles returns the IDs of the n titles with the highest affinity for a
// user, best first, ties broken by ID: what the user would like most,
// regardless of popularity. It returns nil for an unknown user.
func (w *World) TopTitles(userID string, n int) []string {
	u, ok := w.userIndex[userID]
	if !ok || n <= 0 {
		return nil
	}
	order := make([]int, len(w.titles))
	scores := make([]float64, len(w.titles))
	for t := range order {
		order[t], scores[t] = t, w.affinity(u, t)
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(scores[b], scores[a]), cmp.Compare(a, b))
	})

	ids := make([]string, min(n, len(order)))
	for i := range ids {
		ids[i] = w.titles[order[i]].ID
	}
	return ids
}

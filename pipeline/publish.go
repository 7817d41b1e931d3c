package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/features"
	"github.com/marquee/marquee/models/foldin"
	"github.com/marquee/marquee/models/itemknn"
	"github.com/marquee/marquee/models/topn"
)

// PublishConfig sets what the publish stage writes. Zero values select the
// defaults.
type PublishConfig struct {
	// Model names the model whose lists users get; empty means the ranking
	// model with the best NDCG@10 in this run's evaluation.
	Model     string
	TopN      int           // titles per user list; default 100
	SimilarN  int           // titles per similar list; default 50
	TrendingN int           // titles per trending list; default 100
	HalfLife  time.Duration // age at which an interaction counts half in trending; default 7 days
	BatchSize int           // lists per write; default 10,000
	// Artifacts are written with the lists under their names, such as the
	// run's summary.
	Artifacts map[string][]byte
	// Fence, when not zero, is the fencing token of the scheduler's lease:
	// the commit goes through data.FencedCommitter, which rejects it when
	// a newer lease of the lock was issued meanwhile.
	Fence int64
}

func (c PublishConfig) withDefaults() PublishConfig {
	if c.TopN <= 0 {
		c.TopN = 100
	}
	if c.SimilarN <= 0 {
		c.SimilarN = 50
	}
	if c.TrendingN <= 0 {
		c.TrendingN = 100
	}
	if c.HalfLife <= 0 {
		c.HalfLife = 7 * 24 * time.Hour
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 10_000
	}
	return c
}

// PublishableModels returns the models whose lists can be published: the
// ranking models. The bias-only baseline is scored for RMSE and ranking,
// as a reference, and is never published.
func PublishableModels() []string {
	return slices.Clone(rankingModels)
}

// ChooseModel returns the model to publish: the one named, or the ranking
// model with the best NDCG@10 among those evaluated on at least one user.
func ChooseModel(named string, metrics map[string]Metrics) (string, error) {
	if named != "" {
		for _, m := range rankingModels {
			if m == named {
				return named, nil
			}
		}
		return "", fmt.Errorf("model %q cannot be published: choose from %s", named, strings.Join(rankingModels, ", "))
	}
	best, bestNDCG, evaluated := "", -1.0, false
	for _, name := range rankingModels {
		m, ok := metrics[name]
		evaluated = evaluated || ok
		// A model scored on no user has an NDCG of 0 that means nothing.
		if ok && m.Users > 0 && m.NDCG > bestNDCG {
			best, bestNDCG = name, m.NDCG
		}
	}
	switch {
	case best == "" && evaluated:
		return "", errors.New("no model was scored on any test user, because no user has a relevant test rating in the split: " +
			"widen the export window, or name a model with --model")
	case best == "":
		return "", errors.New("no evaluated ranking model to publish: run `marquee pipeline evaluate` or name one with --model")
	}
	return best, nil
}

// Publish refits the chosen model on every interaction of the export, so
// that serving uses the newest data, and writes a run of lists to the
// store: each user's top N without the titles the user already rated or
// watched to the end, the titles most similar to each title (item-kNN), and
// trending lists over the whole catalog and per genre. It also writes item
// factors as the artifact foldin.Artifact, from which serving folds in
// users newer than the run: those of the model for ials, ials-watch and
// als, and for other models those of iALS fitted on the same data.
// Users are scored by workers goroutines while the lists already made are
// written. The run becomes current only after every list is written; on
// error the partial run is aborted and the current run stays.
func Publish(ctx context.Context, runID, exportDir, splitDir, modelsDir string, lists data.Lists, model string, p TrainParams,
	cfg PublishConfig, seed uint64, workers int, log *slog.Logger) (int, error) {
	cfg = cfg.withDefaults()
	s, err := readSplit(splitDir)
	if err != nil {
		return 0, fmt.Errorf("publish: %w", err)
	}
	watches, err := ReadInteractions(filepath.Join(splitDir, AllWatchesFile))
	if err != nil {
		return 0, fmt.Errorf("publish: %w", err)
	}
	titles, err := ReadTitles(exportDir)
	if err != nil {
		return 0, fmt.Errorf("publish: %w", err)
	}
	ratings := append(append([]features.Interaction(nil), s.train...), s.test...)
	features.SortInteractions(ratings)
	in, err := newInputs(ratings, watches)
	if err != nil {
		return 0, fmt.Errorf("publish: %w", err)
	}

	log.Info("publish: refitting on all data", "model", model, "ratings", len(ratings), "watches", len(watches))
	f, err := fit(ctx, model, in, p, seed, workers)
	if err != nil {
		return 0, fmt.Errorf("publish: %w", err)
	}
	if _, err := f.save(filepath.Join(modelsDir, "serving", model)); err != nil {
		return 0, fmt.Errorf("publish: %w", err)
	}
	knn, err := similarModel(ctx, f, in, p, workers)
	if err != nil {
		return 0, fmt.Errorf("publish: %w", err)
	}
	factors, err := foldInFactors(ctx, f, in, p, seed, workers, log)
	if err != nil {
		return 0, fmt.Errorf("publish: %w", err)
	}

	w, err := lists.NewRun(ctx, runID)
	if err != nil {
		return 0, fmt.Errorf("publish: %w", err)
	}
	n, err := writeLists(ctx, w, f, knn, ratings, watches, titles, cfg, workers, log)
	if err == nil {
		err = writeFoldIn(ctx, w, factors, p, ratings, watches, log)
	}
	for name, b := range cfg.Artifacts {
		if err == nil {
			err = w.PutArtifact(ctx, name, b)
		}
	}
	if err == nil {
		err = commit(ctx, w, cfg.Fence)
	}
	if err != nil {
		if abortErr := w.Abort(context.WithoutCancel(ctx)); abortErr != nil {
			log.Error("publish: abort failed", "run_id", runID, "err", abortErr)
		}
		return 0, fmt.Errorf("publish: %w", err)
	}
	log.Info("publish: run is current", "lists", n, "model", model)
	return n, nil
}

// commit commits w, through its fenced commit when fence is set.
func commit(ctx context.Context, w data.RunWriter, fence int64) error {
	if fence == 0 {
		return wrapCommit(w.Commit(ctx))
	}
	fw, ok := w.(data.FencedCommitter)
	if !ok {
		return fmt.Errorf("commit: the list store %T cannot check a fencing token", w)
	}
	return wrapCommit(fw.CommitFenced(ctx, fence))
}

func wrapCommit(err error) error {
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// similarModel returns item-kNN on all ratings, or on watches when there are
// no ratings, reusing f when it already is that model.
func similarModel(ctx context.Context, f *fitted, in *inputs, p TrainParams, workers int) (*fitted, error) {
	if f.knn != nil {
		return f, nil
	}
	d := in.ratings
	if d.R.NNZ() == 0 && in.watches != nil {
		d = in.watches
	}
	cfg, err := p.KNN.config(workers)
	if err != nil {
		return nil, err
	}
	m, err := itemknn.Train(ctx, d.R, cfg)
	if err != nil {
		return nil, fmt.Errorf("train similar items: %w", err)
	}
	return &fitted{name: ModelItemKNN, data: d, knn: m}, nil
}

// batcher writes lists in batches of a fixed size.
type batcher struct {
	ctx   context.Context
	w     data.RunWriter
	size  int
	buf   []data.ListEntry
	total int
}

func (b *batcher) add(e data.ListEntry) error {
	b.buf = append(b.buf, e)
	if len(b.buf) >= b.size {
		return b.flush()
	}
	return nil
}

func (b *batcher) flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	if err := b.w.Put(b.ctx, b.buf); err != nil {
		return err
	}
	b.total += len(b.buf)
	b.buf = b.buf[:0]
	return nil
}

func writeLists(ctx context.Context, w data.RunWriter, f, knn *fitted, ratings, watches []features.Interaction,
	titles []data.Title, cfg PublishConfig, workers int, log *slog.Logger) (int, error) {
	b := &batcher{ctx: ctx, w: w, size: cfg.BatchSize}
	if err := writeUserLists(ctx, b, f, seenItems(f.data, ratings, watches), cfg.TopN, workers, log); err != nil {
		return 0, err
	}
	if err := writeSimilarLists(ctx, b, knn, cfg.SimilarN); err != nil {
		return 0, err
	}
	for _, e := range trendingLists(ratings, watches, titles, cfg) {
		if err := b.add(e); err != nil {
			return 0, err
		}
	}
	if err := b.flush(); err != nil {
		return 0, err
	}
	return b.total, nil
}

// seenItems returns, per user index of d, the item indexes of d the user
// rated or watched to the end, sorted. A watch strength of 1 or more means
// the title was watched to the end at least once (see
// features.WatchStrength).
func seenItems(d *features.Dataset, ratings, watches []features.Interaction) [][]int32 {
	seen := make([][]int32, d.Users.Len())
	add := func(user, item string) {
		u, okU := d.Users.Index(user)
		i, okI := d.Items.Index(item)
		if okU && okI {
			seen[u] = append(seen[u], int32(i))
		}
	}
	for _, x := range ratings {
		add(x.UserID, x.ItemID)
	}
	for _, x := range watches {
		if x.Value >= 1 {
			add(x.UserID, x.ItemID)
		}
	}
	for u := range seen {
		s := seen[u]
		sort.Slice(s, func(a, b int) bool { return s[a] < s[b] })
		seen[u] = compactInt32(s)
	}
	return seen
}

func compactInt32(s []int32) []int32 {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// userChunk is the number of users a scoring goroutine takes at a time.
const userChunk = 256

// writeUserLists scores users on workers goroutines, userChunk users at a
// time, and writes their lists from this goroutine as the chunks come in,
// so that scoring and writing overlap.
func writeUserLists(ctx context.Context, b *batcher, f *fitted, seen [][]int32, n, workers int, log *slog.Logger) error {
	d := f.data
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan []data.ListEntry, 2*max(1, workers))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range parallelism(workers) {
		wg.Go(func() {
			scoreUsers(ctx, f, seen, n, &next, chunks)
		})
	}
	go func() {
		wg.Wait()
		close(chunks)
	}()

	prog := newProgress(log, "publish: user lists", d.Users.Len())
	var err error
	for chunk := range chunks {
		for _, e := range chunk {
			if err == nil {
				err = b.add(e)
			}
		}
		if err != nil {
			cancel() // stop the scorers; drain the channel so they can exit
			continue
		}
		prog.Add(len(chunk))
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// scoreUsers takes chunks of users from next until none is left or ctx is
// done, and sends each chunk's lists to out.
func scoreUsers(ctx context.Context, f *fitted, seen [][]int32, n int, next *atomic.Int64, out chan<- []data.ListEntry) {
	d, scorer := f.data, f.scorer()
	scores := make([]float64, d.Items.Len())
	var heap topn.Heap
	var top []int
	for {
		lo := int(next.Add(userChunk)) - userChunk
		if lo >= d.Users.Len() || ctx.Err() != nil {
			return
		}
		chunk := make([]data.ListEntry, 0, userChunk)
		for u := lo; u < min(lo+userChunk, d.Users.Len()); u++ {
			scorer.Score(u, scores)
			top = heap.Select(top[:0], scores, n, seen[u])
			items := make([]data.ScoredItem, len(top))
			for k, i := range top {
				items[k] = data.ScoredItem{ID: d.Items.ID(i), Score: float32(scores[i])}
			}
			chunk = append(chunk, data.ListEntry{Kind: data.ListUser, Key: d.Users.ID(u), Items: items})
		}
		select {
		case out <- chunk:
		case <-ctx.Done():
			return
		}
	}
}

// parallelism returns the number of goroutines for workers, where 0 means
// one per CPU.
func parallelism(workers int) int {
	if workers > 0 {
		return workers
	}
	return runtime.GOMAXPROCS(0)
}

// foldInFactors returns the factor model whose item factors serving folds
// new users in with. That is the published model when it has factors, else
// iALS fitted on the same data, so that new users of a run of EASE,
// item-kNN or popularity still get lists of their own. It returns nil, and
// logs why, when iALS cannot be fitted, as on data without ratings.
func foldInFactors(ctx context.Context, f *fitted, in *inputs, p TrainParams, seed uint64, workers int, log *slog.Logger) (*fitted, error) {
	if f.implicit != nil || f.explicit != nil {
		return f, nil
	}
	log.Info("publish: fitting iALS for fold-in, since the published model has no item factors", "model", f.name)
	factors, err := fit(ctx, ModelIALS, in, p, seed, workers)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		log.Warn("publish: no fold-in artifact: fitting iALS failed; users newer than the run get trending titles", "err", err)
		return nil, nil
	}
	return factors, nil
}

// writeFoldIn writes the fold-in artifact of a factor model, or nothing
// when f is nil.
func writeFoldIn(ctx context.Context, w data.RunWriter, f *fitted, p TrainParams, ratings, watches []features.Interaction,
	log *slog.Logger) error {
	if f == nil {
		return nil
	}
	m := foldInModel(f, p, newestTime(ratings, watches))
	if m == nil {
		return nil
	}
	b, err := m.MarshalBinary()
	if err != nil {
		return fmt.Errorf("fold-in artifact: %w", err)
	}
	if err := w.PutArtifact(ctx, foldin.Artifact, b); err != nil {
		return err
	}
	log.Info("publish: wrote the fold-in artifact", "items", len(m.Items), "factors", m.Factors, "bytes", len(b))
	return nil
}

// foldInModel returns the item side of a factor model with the settings it
// was trained with, or nil for a model without factors.
func foldInModel(f *fitted, p TrainParams, trainedUntil time.Time) *foldin.Model {
	m := &foldin.Model{Feedback: foldin.Ratings, Items: f.data.Items.IDs(), TrainedUntil: trainedUntil}
	var items *mat.Dense
	switch {
	case f.implicit != nil:
		params := p.IALS
		if f.name == ModelIALSWatch {
			params, m.Feedback = p.IALSWatch, foldin.Watches
		}
		cfg := params.config(0, 1)
		m.Kind, m.Binary, items = foldin.Implicit, params.Binary, f.implicit.ItemFactors
		m.Reg, m.Alpha, m.LogScale, m.Epsilon = cfg.Regularization, cfg.Alpha, cfg.LogScale, cfg.Epsilon
	case f.explicit != nil:
		cfg := p.ALS.config(0, 1)
		m.Kind, m.Mean, items = foldin.Explicit, f.explicit.Mean, f.explicit.ItemFactors
		m.Reg, m.BiasReg = cfg.Regularization, cfg.BiasRegularization
		m.Bias = make([]float32, len(f.explicit.ItemBias))
		for i, b := range f.explicit.ItemBias {
			m.Bias[i] = float32(b)
		}
	default:
		return nil
	}
	rows, cols := items.Dims()
	m.Factors = cols
	m.Vectors = make([]float32, 0, rows*cols)
	for i := range rows {
		for _, v := range items.RawRowView(i) {
			m.Vectors = append(m.Vectors, float32(v))
		}
	}
	return m
}

// newestTime returns the time of the newest interaction.
func newestTime(sets ...[]features.Interaction) time.Time {
	var t time.Time
	for _, xs := range sets {
		for _, x := range xs {
			if x.Time.After(t) {
				t = x.Time
			}
		}
	}
	return t
}

func writeSimilarLists(ctx context.Context, b *batcher, knn *fitted, n int) error {
	d := knn.data
	for i := 0; i < d.Items.Len(); i++ {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		idx, scores := knn.knn.Similar(i, n)
		if len(idx) == 0 {
			continue
		}
		items := make([]data.ScoredItem, len(idx))
		for k, j := range idx {
			items[k] = data.ScoredItem{ID: d.Items.ID(j), Score: float32(scores[k])}
		}
		if err := b.add(data.ListEntry{Kind: data.ListSimilar, Key: d.Items.ID(i), Items: items}); err != nil {
			return err
		}
	}
	return nil
}

// trendingLists ranks titles by their decayed number of distinct users, an
// interaction HalfLife older than the newest one counting half, ties broken
// by the all-time number of users and then by ID. It returns the list over
// the whole catalog ("all") and one list per genre.
func trendingLists(ratings, watches []features.Interaction, titles []data.Title, cfg PublishConfig) []data.ListEntry {
	var now time.Time
	type pair struct{ user, item string }
	newest := map[pair]time.Time{}
	for _, xs := range [][]features.Interaction{ratings, watches} {
		for _, x := range xs {
			k := pair{x.UserID, x.ItemID}
			if x.Time.After(newest[k]) {
				newest[k] = x.Time
			}
			if x.Time.After(now) {
				now = x.Time
			}
		}
	}

	type score struct {
		decayed float64
		users   int
	}
	scores := map[string]*score{}
	for k, t := range newest {
		s := scores[k.item]
		if s == nil {
			s = &score{}
			scores[k.item] = s
		}
		s.decayed += halfLifeWeight(now.Sub(t), cfg.HalfLife)
		s.users++
	}
	ids := make([]string, 0, len(scores))
	for id := range scores {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(a, b int) bool {
		x, y := scores[ids[a]], scores[ids[b]]
		if x.decayed != y.decayed {
			return x.decayed > y.decayed
		}
		if x.users != y.users {
			return x.users > y.users
		}
		return ids[a] < ids[b]
	})

	genres := map[string][]string{}
	for _, t := range titles {
		genres[t.ID] = t.Genres
	}
	byKey := map[string][]data.ScoredItem{}
	var keys []string
	for _, id := range ids {
		item := data.ScoredItem{ID: id, Score: float32(scores[id].decayed)}
		listed := map[string]bool{}
		for _, genre := range append([]string{"all"}, genres[id]...) {
			key := data.GenreKey(genre)
			if listed[key] {
				continue // a title with "Drama" and "drama" enters the list once
			}
			listed[key] = true
			if len(byKey[key]) == 0 {
				keys = append(keys, key)
			}
			if len(byKey[key]) < cfg.TrendingN {
				byKey[key] = append(byKey[key], item)
			}
		}
	}
	out := make([]data.ListEntry, 0, len(keys))
	for _, key := range keys {
		out = append(out, data.ListEntry{Kind: data.ListTrending, Key: key, Items: byKey[key]})
	}
	return out
}

func halfLifeWeight(age, halfLife time.Duration) float64 {
	if age <= 0 {
		return 1
	}
	return math.Exp2(-age.Hours() / halfLife.Hours())
}

package models_test

import (
	"context"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/marquee/marquee/features"
	"github.com/marquee/marquee/internal/testenv"
	"github.com/marquee/marquee/models"
	"github.com/marquee/marquee/models/als"
	"github.com/marquee/marquee/models/ease"
	"github.com/marquee/marquee/models/eval"
	"github.com/marquee/marquee/models/itemknn"
	"github.com/marquee/marquee/models/popularity"
)

// loadMovieLens reads a ratings.csv of userId,movieId,rating,timestamp.
func loadMovieLens(t testing.TB) []features.Interaction {
	t.Helper()
	f, err := os.Open(filepath.Join(testenv.MovieLensDir(t), "ratings.csv"))
	if err != nil {
		t.Fatalf("open MovieLens ratings: %v", err)
	}
	defer f.Close()

	r := csv.NewReader(f)
	r.FieldsPerRecord = 4
	if _, err := r.Read(); err != nil {
		t.Fatalf("read header: %v", err)
	}
	var xs []features.Interaction
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return xs
		}
		if err != nil {
			t.Fatalf("read ratings: %v", err)
		}
		xs = append(xs, parseRating(t, rec))
	}
}

func parseRating(t testing.TB, rec []string) features.Interaction {
	t.Helper()
	rating, err := strconv.ParseFloat(rec[2], 64)
	if err != nil {
		t.Fatalf("parse rating %q: %v", rec[2], err)
	}
	ts, err := strconv.ParseInt(rec[3], 10, 64)
	if err != nil {
		t.Fatalf("parse timestamp %q: %v", rec[3], err)
	}
	return features.Interaction{UserID: rec[0], ItemID: rec[1], Value: rating, Time: time.Unix(ts, 0).UTC()}
}

type movieLens struct {
	train, test []features.Interaction
	d           *features.Dataset
}

func splitMovieLens(t testing.TB) movieLens {
	t.Helper()
	train, test := features.Split(loadMovieLens(t), features.DefaultSplit)
	d, err := features.NewDataset(train)
	if err != nil {
		t.Fatal(err)
	}
	return movieLens{train: train, test: test, d: d}
}

func (ml movieLens) rank(t testing.TB, s models.Scorer) eval.Ranking {
	t.Helper()
	lists, err := eval.Lists(context.Background(), s, ml.d, ml.test, eval.RecallK, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := eval.Rank(lists, ml.train, ml.test, eval.Config{})
	if r.NonCandidates() > 0 {
		t.Errorf("%d listed items are not candidates", r.NonCandidates())
	}
	return r
}

// TestMovieLens trains every model with its defaults on the temporal split
// of MovieLens ml-latest-small and checks the orderings the pipeline relies
// on.
func TestMovieLens(t *testing.T) {
	ml := splitMovieLens(t)
	ctx := context.Background()
	t.Logf("%d train and %d test ratings; %d users, %d items",
		len(ml.train), len(ml.test), ml.d.Users.Len(), ml.d.Items.Len())

	ranking := map[string]eval.Ranking{}
	scorers := []struct {
		name  string
		train func() (models.Scorer, error)
	}{
		{"popularity", func() (models.Scorer, error) { return popularity.Train(ctx, ml.d.R) }},
		{"itemknn", func() (models.Scorer, error) { return itemknn.Train(ctx, ml.d.R, itemknn.Config{}) }},
		{"ials", func() (models.Scorer, error) { return als.TrainImplicit(ctx, ml.d.R, als.ImplicitConfig{}) }},
		{"ease", func() (models.Scorer, error) {
			// EASE takes ratings minus 2.5, so that low ratings count against a title.
			centered := ml.d.R.Map(func(v float64) float64 { return v - 2.5 })
			return ease.Train(ctx, centered, ease.Config{})
		}},
	}
	for _, s := range scorers {
		start := time.Now()
		m, err := s.train()
		if err != nil {
			t.Fatalf("train %s: %v", s.name, err)
		}
		r := ml.rank(t, m)
		ranking[s.name] = r
		t.Logf("%-10s NDCG@10 %.4f  Recall@20 %.4f  HitRate@10 %.4f  MAP@10 %.4f  Coverage@10 %.4f  users %d  (%v)",
			s.name, r.NDCG, r.Recall, r.HitRate, r.MAP, r.Coverage, r.Users, time.Since(start).Round(time.Millisecond))
	}
	for _, name := range []string{"itemknn", "ials"} {
		if got, pop := ranking[name].NDCG, ranking["popularity"].NDCG; got <= pop {
			t.Errorf("%s NDCG@10 = %.4f, want above popularity's %.4f", name, got, pop)
		}
		if got, e := ranking[name].NDCG, ranking["ease"].NDCG; e <= got {
			t.Errorf("EASE NDCG@10 = %.4f, want above %s's %.4f", e, name, got)
		}
	}

	baseline, err := als.TrainBaseline(ctx, ml.d.R, als.BaselineConfig{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	explicit, err := als.TrainExplicit(ctx, ml.d.R, als.ExplicitConfig{})
	if err != nil {
		t.Fatal(err)
	}
	b, e := eval.RMSE(baseline, ml.d, ml.test), eval.RMSE(explicit, ml.d, ml.test)
	t.Logf("RMSE baseline %.4f, explicit ALS %.4f (%v) on %d ratings, %d skipped",
		b.RMSE, e.RMSE, time.Since(start).Round(time.Millisecond), e.Ratings, e.Skipped)
	t.Logf("NDCG@10 of ranking by predicted rating, for reference: baseline %.4f, explicit ALS %.4f",
		ml.rank(t, baseline).NDCG, ml.rank(t, explicit).NDCG)
	if e.RMSE >= b.RMSE {
		t.Errorf("explicit ALS RMSE = %.4f, want below the baseline's %.4f", e.RMSE, b.RMSE)
	}
}

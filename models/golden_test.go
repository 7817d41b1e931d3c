package models_test

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/marquee/marquee/features"
	"github.com/marquee/marquee/models"
	"github.com/marquee/marquee/models/als"
	"github.com/marquee/marquee/models/ease"
	"github.com/marquee/marquee/models/itemknn"
	"github.com/marquee/marquee/models/popularity"
	"github.com/marquee/marquee/models/topn"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.txt from the current models")

const goldenPath = "testdata/golden.txt"

// TestGolden trains every model with a fixed seed on a tiny matrix and
// compares each user's top 3 unseen items, with scores, to the golden file.
// Run go test -run Golden -update after a deliberate change of results.
func TestGolden(t *testing.T) {
	d := loadTiny(t)
	ctx := context.Background()
	scorers := []struct {
		name  string
		train func() (models.Scorer, error)
	}{
		{"popularity", func() (models.Scorer, error) { return popularity.Train(ctx, d.R) }},
		{"itemknn", func() (models.Scorer, error) { return itemknn.Train(ctx, d.R, itemknn.Config{Shrink: 1}) }},
		{"itemknn-bm25-binary", func() (models.Scorer, error) {
			return itemknn.Train(ctx, d.R, itemknn.Config{Shrink: 1, Binary: true, Weighting: itemknn.BM25})
		}},
		{"baseline", func() (models.Scorer, error) { return als.TrainBaseline(ctx, d.R, als.BaselineConfig{}) }},
		{"explicit", func() (models.Scorer, error) {
			return als.TrainExplicit(ctx, d.R, als.ExplicitConfig{Factors: 3, Regularization: 0.05, Seed: 42})
		}},
		{"implicit", func() (models.Scorer, error) {
			return als.TrainImplicit(ctx, d.R, als.ImplicitConfig{Factors: 3, Regularization: 1, Seed: 42})
		}},
		{"ease", func() (models.Scorer, error) { return ease.Train(ctx, d.R, ease.Config{Lambda: 1, MinCount: 1}) }},
	}

	var b strings.Builder
	b.WriteString("# model user: top 3 unseen items with scores; regenerate with go test -run Golden -update\n")
	for _, s := range scorers {
		m, err := s.train()
		if err != nil {
			t.Fatalf("train %s: %v", s.name, err)
		}
		writeTop(&b, s.name, m, d)
	}
	got := b.String()

	if *update {
		if err := os.WriteFile(goldenPath, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("top items changed; got:\n%s\nwant:\n%s", got, want)
	}
}

func writeTop(b *strings.Builder, name string, s models.Scorer, d *features.Dataset) {
	scores := make([]float64, d.Items.Len())
	for u := 0; u < d.Users.Len(); u++ {
		s.Score(u, scores)
		seen, _ := d.R.Row(u)
		fmt.Fprintf(b, "%s %s:", name, d.Users.ID(u))
		for _, i := range topn.Select(scores, 3, seen) {
			fmt.Fprintf(b, " %s=%.4f", d.Items.ID(i), scores[i])
		}
		b.WriteString("\n")
	}
}

// loadTiny reads testdata/tiny.csv, a CSV of user,item,value with a header.
func loadTiny(t *testing.T) *features.Dataset {
	t.Helper()
	f, err := os.Open("testdata/tiny.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var xs []features.Interaction
	for _, rec := range recs[1:] {
		v, err := strconv.ParseFloat(rec[2], 64)
		if err != nil {
			t.Fatal(err)
		}
		xs = append(xs, features.Interaction{UserID: rec[0], ItemID: rec[1], Value: v})
	}
	d, err := features.NewDataset(xs)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/features"
	"github.com/marquee/marquee/pipeline/tables"
)

// Files of a split, relative to its directory.
const (
	TrainFile        = "train.parquet"
	TestFile         = "test.parquet"
	TrainWatchesFile = "train_watches.parquet"
	AllWatchesFile   = "all_watches.parquet"
)

// SplitResult describes a written split.
type SplitResult struct {
	TrainRatings int `json:"train_ratings"`
	TestRatings  int `json:"test_ratings"`
	TestUsers    int `json:"test_users"`
	TrainWatches int `json:"train_watches"`
}

// Split resolves the exported event log into current ratings, holds out each
// user's most recent ratings as test (see features.Split), and writes
// train.parquet and test.parquet under dir. Watch events are turned into
// implicit-feedback strengths: train_watches.parquet keeps only events older
// than the user's first test rating, so that no watch model sees the test
// period, and all_watches.parquet keeps every event, for the models the
// publish stage fits on all data.
func Split(ctx context.Context, exportDir, dir string, cfg features.SplitConfig, log *slog.Logger) (SplitResult, error) {
	events, err := ReadEvents(ctx, exportDir)
	if err != nil {
		return SplitResult{}, fmt.Errorf("split: %w", err)
	}
	ratings := features.CurrentRatings(events)
	train, test := features.Split(ratings, cfg)

	cutoff := make(map[string]time.Time)
	for _, x := range test {
		if t, ok := cutoff[x.UserID]; !ok || x.Time.Before(t) {
			cutoff[x.UserID] = x.Time
		}
	}
	var early []data.Event
	for _, e := range events {
		if t, ok := cutoff[e.UserID]; e.Type == data.EventWatch && (!ok || e.Time.Before(t)) {
			early = append(early, e)
		}
	}
	watches := features.WatchStrength(early)
	allWatches := features.WatchStrength(events)

	files := map[string][]features.Interaction{TrainFile: train, TestFile: test, TrainWatchesFile: watches, AllWatchesFile: allWatches}
	for name, xs := range files {
		if err := tables.Write(filepath.Join(dir, name), interactionRows(xs)); err != nil {
			return SplitResult{}, fmt.Errorf("split: %w", err)
		}
	}
	res := SplitResult{TrainRatings: len(train), TestRatings: len(test), TestUsers: len(cutoff), TrainWatches: len(watches)}
	log.Info("split: done", "train_ratings", res.TrainRatings, "test_ratings", res.TestRatings,
		"test_users", res.TestUsers, "train_watches", res.TrainWatches, "dir", dir)
	return res, nil
}

// ReadInteractions reads one file of a split.
func ReadInteractions(path string) ([]features.Interaction, error) {
	rows, err := tables.Read[tables.InteractionRow](path)
	if err != nil {
		return nil, err
	}
	xs := make([]features.Interaction, len(rows))
	for i, r := range rows {
		xs[i] = features.Interaction{UserID: r.UserID, ItemID: r.ItemID, Value: r.Rating, Time: time.UnixMilli(r.EventTime).UTC()}
	}
	return xs, nil
}

func interactionRows(xs []features.Interaction) []tables.InteractionRow {
	rows := make([]tables.InteractionRow, len(xs))
	for i, x := range xs {
		rows[i] = tables.InteractionRow{UserID: x.UserID, ItemID: x.ItemID, Rating: x.Value, EventTime: x.Time.UnixMilli()}
	}
	return rows
}

// writeInteractions writes xs as a split file.
func writeInteractions(path string, xs []features.Interaction) error {
	return tables.Write(path, interactionRows(xs))
}

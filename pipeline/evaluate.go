package pipeline

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"

	"github.com/marquee/marquee/features"
	"github.com/marquee/marquee/models/eval"
)

// Metrics are one model's scores under the evaluation protocol. RMSE is nil
// for models that do not predict ratings.
type Metrics struct {
	NDCG     float64  `json:"ndcg_at_10"`
	Recall   float64  `json:"recall_at_20"`
	HitRate  float64  `json:"hit_rate_at_10"`
	MAP      float64  `json:"map_at_10"`
	Coverage float64  `json:"coverage_at_10"`
	LongTail float64  `json:"long_tail_at_10"`
	RMSE     *float64 `json:"rmse,omitempty"`

	Users         int `json:"users"`
	MissingLists  int `json:"missing_lists"`
	NonCandidates int `json:"non_candidates"`
}

func rankingMetrics(r eval.Ranking) Metrics {
	return Metrics{NDCG: r.NDCG, Recall: r.Recall, HitRate: r.HitRate, MAP: r.MAP, Coverage: r.Coverage,
		LongTail: r.LongTail, Users: r.Users, MissingLists: r.MissingLists, NonCandidates: r.NonCandidates()}
}

// split is a written split, read back.
type split struct {
	train, test, watches []features.Interaction
}

func readSplit(dir string) (*split, error) {
	var s split
	var err error
	if s.train, err = ReadInteractions(filepath.Join(dir, TrainFile)); err != nil {
		return nil, fmt.Errorf("read split: %w", err)
	}
	if s.test, err = ReadInteractions(filepath.Join(dir, TestFile)); err != nil {
		return nil, fmt.Errorf("read split: %w", err)
	}
	if s.watches, err = ReadInteractions(filepath.Join(dir, TrainWatchesFile)); err != nil {
		return nil, fmt.Errorf("read split: %w", err)
	}
	return &s, nil
}

// candidates returns the training interactions that define a model's
// candidate items and each user's seen items.
func (s *split) candidates(name string) []features.Interaction {
	if name == ModelIALSWatch {
		return s.watches
	}
	return s.train
}

// Evaluate scores the models saved under modelsDir on the split in
// splitDir: ranking metrics for every model, and RMSE for the models that
// predict ratings. A model that was not trained is left out.
func Evaluate(ctx context.Context, splitDir, modelsDir string, p TrainParams, workers int, log *slog.Logger) (map[string]Metrics, error) {
	s, err := readSplit(splitDir)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	in, err := newInputs(s.train, s.watches)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}

	out := map[string]Metrics{}
	for _, name := range p.Models {
		dir := filepath.Join(modelsDir, name)
		if _, err := os.Stat(filepath.Join(dir, modelInfoFile)); errors.Is(err, os.ErrNotExist) {
			log.Info("evaluate: model not trained in this run, skipped", "model", name)
			continue
		}
		d, err := in.modelData(name, p)
		if err != nil {
			return nil, fmt.Errorf("evaluate: %w", err)
		}
		f, err := load(dir, name, d, p)
		if err != nil {
			return nil, fmt.Errorf("evaluate: %w", err)
		}
		m, err := evaluateModel(ctx, f, s, workers)
		if err != nil {
			return nil, fmt.Errorf("evaluate %s: %w", name, err)
		}
		attrs := []any{"model", name, "ndcg_at_10", m.NDCG, "recall_at_20", m.Recall}
		if m.RMSE != nil {
			attrs = append(attrs, "rmse", *m.RMSE)
		}
		log.Info("evaluate: model scored", attrs...)
		out[name] = m
	}
	return out, nil
}

func evaluateModel(ctx context.Context, f *fitted, s *split, workers int) (Metrics, error) {
	lists, err := eval.Lists(ctx, f.scorer(), f.data, s.test, eval.RecallK, workers)
	if err != nil {
		return Metrics{}, err
	}
	m := rankingMetrics(eval.Rank(lists, s.candidates(f.name), s.test, eval.Config{}))
	if p := f.predictor(); p != nil && slices.Contains(ratingModels, f.name) {
		r := eval.RMSE(p, f.data, s.test)
		if !math.IsNaN(r.RMSE) {
			m.RMSE = &r.RMSE
		}
	}
	return m, nil
}

// EvaluateRecs scores lists written by any tool: a CSV file with the header
// user_id,rank,item_id, ranks starting at 1. It uses the same split and the
// same evaluator as Marquee's own models.
func EvaluateRecs(splitDir, path string) (Metrics, error) {
	s, err := readSplit(splitDir)
	if err != nil {
		return Metrics{}, fmt.Errorf("evaluate %s: %w", path, err)
	}
	lists, err := readRecs(path)
	if err != nil {
		return Metrics{}, fmt.Errorf("evaluate %s: %w", path, err)
	}
	m := rankingMetrics(eval.Rank(lists, s.train, s.test, eval.Config{}))
	if m.Users > 0 && m.MissingLists == m.Users {
		return m, fmt.Errorf("evaluate %s: none of its %d users is a test user of the split, so every score would be 0: check that it uses the split's user ids", path, len(lists))
	}
	return m, nil
}

// EvaluatePredictions scores rating predictions written by any tool: a CSV
// file with the header user_id,item_id,prediction. Like Marquee's own RMSE,
// it is taken over the test ratings whose user and item both appear in
// training. Such a rating without a prediction is an error, and other
// predictions are ignored.
func EvaluatePredictions(splitDir, path string) (Metrics, error) {
	s, err := readSplit(splitDir)
	if err != nil {
		return Metrics{}, fmt.Errorf("evaluate %s: %w", path, err)
	}
	preds, err := readPredictions(path)
	if err != nil {
		return Metrics{}, fmt.Errorf("evaluate %s: %w", path, err)
	}
	d, err := features.NewDataset(s.train)
	if err != nil {
		return Metrics{}, fmt.Errorf("evaluate %s: %w", path, err)
	}
	var sum float64
	n := 0
	for _, x := range s.test {
		_, okU := d.Users.Index(x.UserID)
		_, okI := d.Items.Index(x.ItemID)
		if !okU || !okI {
			continue
		}
		p, ok := preds[[2]string{x.UserID, x.ItemID}]
		if !ok {
			return Metrics{}, fmt.Errorf("evaluate %s: no prediction for user %q, item %q", path, x.UserID, x.ItemID)
		}
		sum += (p - x.Value) * (p - x.Value)
		n++
	}
	rmse := math.Sqrt(sum / float64(n))
	return Metrics{RMSE: &rmse}, nil
}

// readPredictions reads a user_id,item_id,prediction CSV.
func readPredictions(path string) (map[[2]string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 3
	header, err := r.Read()
	if err != nil {
		return nil, headerError(err)
	}
	if header[0] != "user_id" || header[1] != "item_id" || header[2] != "prediction" {
		return nil, fmt.Errorf("header is %q, want user_id,item_id,prediction", header)
	}
	preds := map[[2]string]float64{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return preds, nil
		}
		if err != nil {
			return nil, err
		}
		v, err := strconv.ParseFloat(rec[2], 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			line, _ := r.FieldPos(2)
			return nil, fmt.Errorf("line %d: prediction %q is not a finite number", line, rec[2])
		}
		preds[[2]string{rec[0], rec[1]}] = v
	}
}

// readRecs reads a user_id,rank,item_id CSV into ranked lists.
func readRecs(path string) (map[string][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 3
	header, err := r.Read()
	if err != nil {
		return nil, headerError(err)
	}
	if header[0] != "user_id" || header[1] != "rank" || header[2] != "item_id" {
		return nil, fmt.Errorf("header is %q, want user_id,rank,item_id", header)
	}

	type ranked struct {
		rank int
		item string
	}
	byUser := map[string][]ranked{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		line, _ := r.FieldPos(0)
		rank, err := strconv.Atoi(rec[1])
		if err != nil || rank < 1 {
			return nil, fmt.Errorf("line %d: rank %q is not an integer >= 1", line, rec[1])
		}
		byUser[rec[0]] = append(byUser[rec[0]], ranked{rank, rec[2]})
	}

	lists := make(map[string][]string, len(byUser))
	for user, rs := range byUser {
		sort.SliceStable(rs, func(a, b int) bool { return rs[a].rank < rs[b].rank })
		for i := 1; i < len(rs); i++ {
			if rs[i].rank == rs[i-1].rank {
				return nil, fmt.Errorf("user %q has two items at rank %d", user, rs[i].rank)
			}
		}
		list := make([]string, len(rs))
		for i, x := range rs {
			list[i] = x.item
		}
		lists[user] = list
	}
	return lists, nil
}

// headerError explains a failure to read a CSV header; an empty file is
// the usual cause.
func headerError(err error) error {
	if errors.Is(err, io.EOF) {
		return errors.New("the file is empty: want a header line, then one row per entry")
	}
	return fmt.Errorf("read header: %w", err)
}

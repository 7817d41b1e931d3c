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
	"regexp"
	"slices"
	"strconv"
	"strings"

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
//
// Ranks are taken as given: an item at rank 15 is outside the top 10, and a
// rank without an item counts as a non-relevant position that adds nothing
// to coverage. Two items at one rank of a user are an error. An item listed
// twice for a user counts once, at its better rank.
func EvaluateRecs(splitDir, path string) (Metrics, error) {
	s, err := readSplit(splitDir)
	if err != nil {
		return Metrics{}, fmt.Errorf("evaluate %s: %w", path, err)
	}
	lists, err := readRecs(path)
	if err != nil {
		return Metrics{}, fmt.Errorf("evaluate %s: %w", path, err)
	}

	r := eval.Rank(lists, s.train, s.test, eval.Config{})
	// A rank without an item is "" in its list, which is not a training
	// item, so Rank counted it as an unknown item.
	r.Unknown -= emptyRanks(lists)
	m := rankingMetrics(r)
	if m.Users > 0 && m.MissingLists == m.Users {
		return m, fmt.Errorf("evaluate %s: none of its %d users is a test user of the split, so every score would be 0: check that it uses the split's user ids", path, len(lists))
	}
	return m, nil
}

// emptyRanks counts the ranks without an item in lists.
func emptyRanks(lists map[string][]string) int {
	n := 0
	for _, list := range lists {
		for _, item := range list {
			if item == "" {
				n++
			}
		}
	}
	return n
}

// RatingMetrics is the rating error of predictions written by another tool.
type RatingMetrics struct {
	// RMSE is nil when no test rating could be scored.
	RMSE    *float64 `json:"rmse,omitempty"`
	Ratings int      `json:"ratings"` // test ratings scored
	Skipped int      `json:"skipped"` // test ratings whose user or item is not in training
}

// EvaluatePredictions scores rating predictions written by any tool: a CSV
// file with the header user_id,item_id,prediction. Like Marquee's own RMSE,
// it is taken over the test ratings whose user and item both appear in
// training. Such a rating without a prediction is an error, and other
// predictions are ignored. A prediction must be a plain decimal number whose
// square is a finite float64, and each (user_id, item_id) pair may occur
// once.
func EvaluatePredictions(splitDir, path string) (RatingMetrics, error) {
	s, err := readSplit(splitDir)
	if err != nil {
		return RatingMetrics{}, fmt.Errorf("evaluate %s: %w", path, err)
	}
	preds, err := readPredictions(path)
	if err != nil {
		return RatingMetrics{}, fmt.Errorf("evaluate %s: %w", path, err)
	}
	d, err := features.NewDataset(s.train)
	if err != nil {
		return RatingMetrics{}, fmt.Errorf("evaluate %s: %w", path, err)
	}

	var sum float64
	var m RatingMetrics
	for _, x := range s.test {
		_, okU := d.Users.Index(x.UserID)
		_, okI := d.Items.Index(x.ItemID)
		if !okU || !okI {
			m.Skipped++
			continue
		}
		p, ok := preds[[2]string{x.UserID, x.ItemID}]
		if !ok {
			return RatingMetrics{}, fmt.Errorf("evaluate %s: no prediction for user_id %q, item_id %q, a test rating whose user and item are both in training: add a row for the pair", path, x.UserID, x.ItemID)
		}
		sum += (p.value - x.Value) * (p.value - x.Value)
		if math.IsInf(sum, 0) {
			return RatingMetrics{}, fmt.Errorf("evaluate %s: line %d, field prediction: %v makes the sum of squared errors overflow float64: write predictions on the rating scale", path, p.line, p.value)
		}
		m.Ratings++
	}
	if m.Ratings > 0 {
		rmse := math.Sqrt(sum / float64(m.Ratings))
		m.RMSE = &rmse
	}
	return m, nil
}

// prediction is one parsed row of a predictions file.
type prediction struct {
	value float64
	line  int
}

// readPredictions reads a user_id,item_id,prediction CSV into predictions
// by (user_id, item_id).
func readPredictions(path string) (map[[2]string]prediction, error) {
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

	preds := map[[2]string]prediction{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return preds, nil
		}
		if err != nil {
			return nil, err
		}
		if err := requireID(r, rec, 0, "user_id"); err != nil {
			return nil, err
		}
		if err := requireID(r, rec, 1, "item_id"); err != nil {
			return nil, err
		}
		line, _ := r.FieldPos(2)
		v, err := parsePrediction(rec[2])
		if err != nil {
			return nil, fmt.Errorf("line %d, field prediction: %w", line, err)
		}
		key := [2]string{rec[0], rec[1]}
		if first, ok := preds[key]; ok {
			line, _ := r.FieldPos(0)
			return nil, fmt.Errorf("line %d: duplicate prediction for user_id %q, item_id %q, first given on line %d: keep one row per pair", line, rec[0], rec[1], first.line)
		}
		preds[key] = prediction{value: v, line: line}
	}
}

// decimalNumber matches a plain decimal number: an optional sign, digits
// with an optional decimal point, and an optional exponent. It leaves out
// what strconv.ParseFloat accepts beyond that: underscores, hexadecimal,
// Inf and NaN.
var decimalNumber = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// parsePrediction parses a prediction whose square is a finite float64, so
// that its squared error can be summed.
func parsePrediction(s string) (float64, error) {
	if !decimalNumber.MatchString(s) {
		return 0, fmt.Errorf("%q is not a plain decimal number: write it like 3.5, -0.25 or 4e-1", s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v*v, 0) {
		return 0, fmt.Errorf("%q is too large because its square overflows float64: write predictions on the rating scale", s)
	}
	return v, nil
}

// readRecs reads a user_id,rank,item_id CSV into lists by user ID, in
// which the item at rank r is at index r-1. A rank without an item is "",
// and lists stop at rank eval.RecallK, the largest cutoff of any metric.
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
		item string
		line int
	}
	byUser := map[string]map[int]ranked{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := requireID(r, rec, 0, "user_id"); err != nil {
			return nil, err
		}
		if err := requireID(r, rec, 2, "item_id"); err != nil {
			return nil, err
		}
		line, _ := r.FieldPos(1)
		rank, err := parseRank(rec[1])
		if err != nil {
			return nil, fmt.Errorf("line %d, field rank: %w", line, err)
		}
		ranks := byUser[rec[0]]
		if ranks == nil {
			ranks = map[int]ranked{}
			byUser[rec[0]] = ranks
		}
		if first, ok := ranks[rank]; ok {
			return nil, fmt.Errorf("line %d, field rank: user_id %q already has item %q at rank %d on line %d: give each rank one item", line, rec[0], first.item, rank, first.line)
		}
		ranks[rank] = ranked{item: rec[2], line: line}
	}

	lists := make(map[string][]string, len(byUser))
	for user, ranks := range byUser {
		n := 0
		for rank := range ranks {
			n = max(n, min(rank, eval.RecallK))
		}
		list := make([]string, n)
		for rank, x := range ranks {
			if rank <= n {
				list[rank-1] = x.item
			}
		}
		lists[user] = list
	}
	return lists, nil
}

// parseRank parses a rank: decimal digits only, no sign, at least 1.
func parseRank(s string) (int, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a whole number of 1 or more: write digits only, such as 1 or 15", s)
	}
	rank, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is too large: ranks past %d do not count toward any metric, so leave such rows out", s, eval.RecallK)
	}
	if rank < 1 {
		return 0, fmt.Errorf("%q is not a whole number of 1 or more: ranks start at 1", s)
	}
	return rank, nil
}

// requireID returns an error when field i of rec, an ID named name, is
// empty.
func requireID(r *csv.Reader, rec []string, i int, name string) error {
	if rec[i] != "" {
		return nil
	}
	line, _ := r.FieldPos(i)
	return fmt.Errorf("line %d, field %s: missing ID: every row needs one", line, name)
}

// headerError explains a failure to read a CSV header; an empty file is
// the usual cause.
func headerError(err error) error {
	if errors.Is(err, io.EOF) {
		return errors.New("the file is empty: want a header line, then one row per entry")
	}
	return fmt.Errorf("read header: %w", err)
}

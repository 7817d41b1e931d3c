package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ModelSummary is what a run records of one trained model.
type ModelSummary struct {
	Seconds   float64   `json:"seconds"`
	Users     int       `json:"users"`
	Items     int       `json:"items"`
	Entries   int       `json:"entries"`
	FinalLoss float64   `json:"final_loss,omitempty"`
	Skipped   string    `json:"skipped,omitempty"`
	Files     []string  `json:"-"`
	Loss      []float64 `json:"-"`
}

// Train fits every model of p on the split in splitDir and saves each under
// modelsDir/<name>. A model without training data, such as the watch model
// on a dataset without watch events, is skipped and recorded as such.
// Factors are checked finite by the models before anything is written.
func Train(ctx context.Context, splitDir, modelsDir string, p TrainParams, seed uint64, workers int, log *slog.Logger) (map[string]ModelSummary, error) {
	s, err := readSplit(splitDir)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	in, err := newInputs(s.train, s.watches)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}

	out := map[string]ModelSummary{}
	for _, name := range p.Models {
		log.Info("train: fitting", "model", name)
		f, err := fit(ctx, name, in, p, seed, workers)
		if errors.Is(err, errNoInput) {
			log.Warn("train: no training data, model skipped", "model", name)
			out[name] = ModelSummary{Skipped: "no training data"}
			continue
		}
		if err != nil {
			return nil, err
		}
		dir := filepath.Join(modelsDir, name)
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		files, err := f.save(dir)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		sum := ModelSummary{Seconds: f.seconds, Users: f.data.Users.Len(), Items: f.data.Items.Len(),
			Entries: f.data.R.NNZ(), Loss: f.loss}
		if len(f.loss) > 0 {
			sum.FinalLoss = f.loss[len(f.loss)-1]
		}
		for _, file := range files {
			sum.Files = append(sum.Files, filepath.Join(name, file))
		}
		out[name] = sum
		log.Info("train: model saved", "model", name, "seconds", f.seconds, "users", sum.Users, "items", sum.Items)
	}
	if !slices.ContainsFunc(p.Models, func(name string) bool { return out[name].Skipped == "" }) {
		return nil, fmt.Errorf("train: none of the models %s has training data in the split (%d ratings, %d watch interactions); "+
			"ials-watch needs watch events, the others ratings", strings.Join(p.Models, ", "), len(s.train), len(s.watches))
	}
	return out, nil
}

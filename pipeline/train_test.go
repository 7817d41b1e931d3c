package pipeline

import (
	"strings"
	"testing"
)

// TestTrainWithoutData checks that train fails when none of the requested
// models has training data, instead of reporting success with no model, and
// that a model without data is skipped when another one trains.
func TestTrainWithoutData(t *testing.T) {
	dir := t.TempDir()
	writeTestSplit(t, dir) // ratings only, no watch events

	p, err := TrainParams{Models: []string{ModelIALSWatch}}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Train(t.Context(), dir, t.TempDir(), p, 1, 1, discard())
	if err == nil || !strings.Contains(err.Error(), "none of the models ials-watch has training data") {
		t.Errorf("train of ials-watch without watch events: err = %v, want one naming the missing data", err)
	}

	p, err = TrainParams{Models: []string{ModelIALSWatch, ModelPopularity}}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Train(t.Context(), dir, t.TempDir(), p, 1, 1, discard())
	if err != nil {
		t.Fatalf("train of ials-watch and popularity: %v", err)
	}
	if got[ModelIALSWatch].Skipped == "" || got[ModelPopularity].Skipped != "" {
		t.Errorf("summaries = %+v, want ials-watch skipped and popularity trained", got)
	}
}

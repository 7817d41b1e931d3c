package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/marquee/marquee/pipeline"
)

// TestTuneAndReport runs a small search on synthetic data, trains with its
// best parameters and writes the report, through the CLI.
func TestTuneAndReport(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	work := t.TempDir()
	runCLI(t, "--workdir", work, "data", "generate", "--seed", "2", "--users", "150", "--titles", "200")
	for _, stage := range []string{"export", "split", "train", "evaluate"} {
		runCLI(t, "--workdir", work, "pipeline", stage)
	}

	out := runCLI(t, "--workdir", work, "pipeline", "tune", "--models", "ease,itemknn", "--trials", "3", "--output", "json")
	var tuning pipeline.Tuning
	if err := json.Unmarshal([]byte(out), &tuning); err != nil {
		t.Fatalf("decode tuning: %v\n%s", err, out)
	}
	if len(tuning.Results) != 6 || len(tuning.Models) != 2 {
		t.Errorf("tuning has %d trials of %d models, want 6 of 2", len(tuning.Results), len(tuning.Models))
	}

	runCLI(t, "--workdir", work, "pipeline", "train", "--tuned", "--models", "ease,itemknn,popularity")
	var m pipeline.Manifest
	b, err := os.ReadFile(filepath.Join(latestRun(t, work), "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if got, want := m.Params.EASE.Lambda, tuning.Params.EASE.Lambda; got != want {
		t.Errorf("trained EASE lambda = %v, want the tuned %v", got, want)
	}

	runCLI(t, "--workdir", work, "pipeline", "evaluate")
	summary := runCLI(t, "--workdir", work, "pipeline", "report")
	for _, want := range []string{"report written to", "ease", "LONGTAIL@10", "random search, 3 trials per model"} {
		if !strings.Contains(summary, want) {
			t.Errorf("report summary lacks %q:\n%s", want, summary)
		}
	}
	page, err := os.ReadFile(filepath.Join(latestRun(t, work), pipeline.ReportFile))
	if err != nil || !strings.Contains(string(page), "<svg") {
		t.Errorf("report page: %v, want one with plots", err)
	}
}

func latestRun(t *testing.T, work string) string {
	t.Helper()
	id, err := os.ReadFile(filepath.Join(work, "runs", "LATEST"))
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(work, "runs", strings.TrimSpace(string(id)))
}

// TestImportRatingsFile imports a user::item::rating::timestamp file and
// trains on it.
func TestImportRatingsFile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	work := t.TempDir()
	var b strings.Builder
	for u := 1; u <= 30; u++ {
		for i := 1; i <= 12; i++ {
			if (u+i)%3 != 0 {
				b.WriteString(strings.Join([]string{itoa(u), itoa(100 + i), itoa(1 + (u*i)%5), itoa(978300000 + u*100 + i)}, "::") + "\n")
			}
		}
	}
	path := filepath.Join(t.TempDir(), "ratings.dat")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	out := runCLI(t, "--workdir", work, "data", "import", "ratings", path)
	if !strings.Contains(out, "imported 240 ratings, 30 users and 12 new titles") {
		t.Errorf("import output = %q", out)
	}
	runCLI(t, "--workdir", work, "pipeline", "export")
	runCLI(t, "--workdir", work, "pipeline", "split")
	runCLI(t, "--workdir", work, "pipeline", "train", "--models", "ease,popularity")
	metrics := runCLI(t, "--workdir", work, "pipeline", "evaluate", "--output", "json")
	if !strings.Contains(metrics, `"ease"`) {
		t.Errorf("evaluate output lacks ease: %s", metrics)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

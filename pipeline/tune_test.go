package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/features"
)

// writeTestSplit writes a split of seeded synthetic ratings to dir: users of
// two tastes rate the items of their half high and a few others low, over
// time, and the newest 20% of each user's ratings are test.
func writeTestSplit(t *testing.T, dir string) *split {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var xs []features.Interaction
	const users, items = 40, 60
	for u := 0; u < users; u++ {
		for i := 0; i < items; i++ {
			same := (u < users/2) == (i < items/2)
			var v float64
			switch {
			case same && rng.Float64() < 0.4:
				v = 4 + float64(rng.IntN(3))/2
			case !same && rng.Float64() < 0.08:
				v = 1 + float64(rng.IntN(3))/2
			default:
				continue
			}
			xs = append(xs, features.Interaction{UserID: fmt.Sprintf("u%02d", u), ItemID: fmt.Sprintf("i%02d", i),
				Value: v, Time: t0.Add(time.Duration(rng.IntN(1000)) * time.Hour)})
		}
	}
	train, test := features.Split(xs, features.DefaultSplit)
	s := &split{train: train, test: test}
	for name, part := range map[string][]features.Interaction{TrainFile: train, TestFile: test, TrainWatchesFile: nil} {
		if err := writeInteractions(filepath.Join(dir, name), part); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestTune(t *testing.T) {
	dir := t.TempDir()
	writeTestSplit(t, dir)
	cfg := TuneConfig{Models: []string{ModelEASE, ModelItemKNN, ModelALS}, Trials: 4, Seed: 7, Workers: 2}

	got, err := Tune(context.Background(), dir, features.DefaultSplit, cfg, discard())
	if err != nil {
		t.Fatal(err)
	}

	if len(got.Results) != 12 {
		t.Fatalf("%d trials, want 4 for each of 3 models", len(got.Results))
	}
	for _, name := range cfg.Models {
		mt, ok := got.Models[name]
		if !ok {
			t.Fatalf("no tuning recorded for %s", name)
		}
		wantObjective := ObjectiveNDCG
		if name == ModelALS {
			wantObjective = ObjectiveRMSE
		}
		if mt.Objective != wantObjective || math.IsNaN(mt.BestValue) {
			t.Errorf("%s: objective %s, best %v; want %s and a value", name, mt.Objective, mt.BestValue, wantObjective)
		}
	}
	// The first trial of every model is its defaults.
	if p := got.Results[0].Params; p["lambda"] != 400.0 || p["input"] != InputCentered {
		t.Errorf("first EASE trial = %v, want the defaults", p)
	}
	// The recorded parameters carry the best values.
	if best := got.Models[ModelEASE].Best["lambda"]; got.Params.EASE.Lambda != best.(float64) {
		t.Errorf("Params.EASE.Lambda = %v, want the best %v", got.Params.EASE.Lambda, best)
	}
	// The validation split is a split like any other: it can score lists.
	if _, err := readSplit(filepath.Join(dir, ValidationDir)); err != nil {
		t.Errorf("read the validation split: %v", err)
	}
	if got.Validation.TrainRatings+got.Validation.TestRatings == 0 || got.Validation.TestRatings == 0 {
		t.Errorf("validation split = %+v, want ratings on both sides", got.Validation)
	}

	again, err := Tune(context.Background(), dir, features.DefaultSplit, cfg, discard())
	if err != nil {
		t.Fatal(err)
	}
	for k := range got.Results {
		a, b := got.Results[k], again.Results[k]
		if !reflect.DeepEqual(a.Params, b.Params) || !reflect.DeepEqual(a.Metrics, b.Metrics) {
			t.Fatalf("trial %d differs between two runs with the same seed: %+v and %+v", k, a, b)
		}
	}
}

func TestTuneGrid(t *testing.T) {
	s := searchSpaces[ModelEASE]
	defaults, err := TrainParams{}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	points := s.points(SearchGrid, 5, defaults, rand.New(rand.NewPCG(1, 1)))
	if len(points) != 5 {
		t.Fatalf("%d points, want 5", len(points))
	}
	seen := map[string]bool{}
	for _, p := range points {
		key := fmt.Sprint(p)
		if seen[key] {
			t.Errorf("point %v drawn twice", p)
		}
		seen[key] = true
		for _, d := range s {
			if !containsValue(d.grid, p[d.name]) && p[d.name] != d.get(defaults) {
				t.Errorf("%s = %v is not a grid value", d.name, p[d.name])
			}
		}
	}
}

func containsValue(xs []any, v any) bool {
	for _, x := range xs {
		if x == v {
			return true
		}
	}
	return false
}

func TestTuneErrors(t *testing.T) {
	dir := t.TempDir()
	writeTestSplit(t, dir)
	tests := []struct {
		cfg  TuneConfig
		want string
	}{
		{TuneConfig{Models: []string{ModelPopularity}}, `model "popularity" cannot be tuned`},
		{TuneConfig{Search: "bayes"}, `invalid search "bayes"`},
		{TuneConfig{Trials: -1}, "invalid trials -1"},
	}
	for _, tt := range tests {
		if _, err := Tune(context.Background(), dir, features.DefaultSplit, tt.cfg, discard()); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Tune(%+v) error = %v, want one containing %q", tt.cfg, err, tt.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Tune(ctx, dir, features.DefaultSplit, TuneConfig{Trials: 2}, discard()); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("cancelled Tune error = %v, want context canceled", err)
	}
}

// TestEASERoundTrip saves a trained EASE model in both of its forms and
// checks that the loaded model scores like the trained one.
func TestEASERoundTrip(t *testing.T) {
	s := writeTestSplit(t, t.TempDir())
	in, err := newInputs(s.train, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, minCount := range []int{1, itemSpaceMinCount(in.ratings.R)} {
		p, err := TrainParams{EASE: EASEParams{MinCount: minCount, Lambda: 5}}.WithDefaults()
		if err != nil {
			t.Fatal(err)
		}
		f, err := fit(context.Background(), ModelEASE, in, p, 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if _, err := f.save(dir); err != nil {
			t.Fatal(err)
		}
		d, err := in.modelData(ModelEASE, p)
		if err != nil {
			t.Fatal(err)
		}
		loaded, err := load(dir, ModelEASE, d, p)
		if err != nil {
			t.Fatal(err)
		}
		want, got := make([]float64, d.Items.Len()), make([]float64, d.Items.Len())
		for u := 0; u < d.Users.Len(); u++ {
			f.scorer().Score(u, want)
			loaded.scorer().Score(u, got)
			for i := range got {
				if math.IsNaN(want[i]) != math.IsNaN(got[i]) || math.Abs(got[i]-want[i]) > 1e-4*(1+math.Abs(want[i])) {
					t.Fatalf("min count %d, user %d, item %d: loaded score %v, want %v", minCount, u, i, got[i], want[i])
				}
			}
		}
	}
}

// itemSpaceMinCount returns the smallest minimum count that keeps fewer
// items than r has users, which makes EASE take its item-space form.
func itemSpaceMinCount(r *features.CSR) int {
	counts := make([]int, r.Cols)
	for _, c := range r.Indices {
		counts[c]++
	}
	for n := 1; ; n++ {
		kept := 0
		for _, c := range counts {
			if c >= n {
				kept++
			}
		}
		if kept < r.Rows {
			return n
		}
	}
}

func TestEvaluatePredictions(t *testing.T) {
	dir := t.TempDir()
	s := writeTestSplit(t, dir)
	var b strings.Builder
	b.WriteString("user_id,item_id,prediction\n")
	var sum float64
	for _, x := range s.test {
		b.WriteString(fmt.Sprintf("%s,%s,%v\n", x.UserID, x.ItemID, 3.0))
		sum += (3 - x.Value) * (3 - x.Value)
	}
	path := filepath.Join(dir, "preds.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := EvaluatePredictions(dir, path)
	if err != nil {
		t.Fatal(err)
	}
	// Every test user and item of the synthetic split occurs in training.
	if want := math.Sqrt(sum / float64(len(s.test))); m.RMSE == nil || math.Abs(*m.RMSE-want) > 1e-12 {
		t.Errorf("RMSE = %v, want %v", m.RMSE, want)
	}

	missing := filepath.Join(dir, "short.csv")
	if err := os.WriteFile(missing, []byte("user_id,item_id,prediction\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := EvaluatePredictions(dir, missing); err == nil || !strings.Contains(err.Error(), "no prediction for user") {
		t.Errorf("EvaluatePredictions error = %v, want a missing prediction", err)
	}
}

func TestReport(t *testing.T) {
	ws := Workspace{Dir: t.TempDir()}
	run, err := ws.CreateRun("r1", 1, data.Window{}, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	writeTestSplit(t, run.Path(splitDir))
	run.Manifest.Stages[StageSplit] = &StageRecord{Status: StatusDone}
	p, err := TrainParams{Models: []string{ModelEASE, ModelALS, ModelPopularity}}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if run.Manifest.Models, err = Train(context.Background(), run.Path(splitDir), run.Path(modelsDir), p, 1, 2, discard()); err != nil {
		t.Fatal(err)
	}
	if run.Manifest.Metrics, err = Evaluate(context.Background(), run.Path(splitDir), run.Path(modelsDir), p, 2, discard()); err != nil {
		t.Fatal(err)
	}
	if run.Manifest.Tuning, err = Tune(context.Background(), run.Path(splitDir), features.DefaultSplit,
		TuneConfig{Models: []string{ModelEASE, ModelALS}, Trials: 3}, discard()); err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(t.TempDir(), "report.html")
	d, err := Report(run, path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{"<h1>Marquee run r1</h1>", "<td>ease</td>", "Metrics per model", "Popularity bias",
		"Training loss per iteration", "NDCG@10 against EASE lambda", "RMSE against factors", "RMSE against regularisation", "<svg"} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if len(d.Plots) < 5 {
		t.Errorf("%d plots, want at least 5", len(d.Plots))
	}
	if _, err := Report(&Run{Dir: run.Dir, Manifest: Manifest{RunID: "empty"}}, path); err == nil {
		t.Error("Report of a run without metrics succeeded, want an error")
	}
}

func TestTrainParamsTuned(t *testing.T) {
	r := &Runner{Log: discard(), Now: time.Now, Workspace: Workspace{Dir: t.TempDir()}}
	run := &Run{Manifest: Manifest{}}
	if _, err := r.trainParams(run, Options{Tuned: true}); err == nil {
		t.Error("trainParams with Tuned and no tuning succeeded, want an error")
	}
	tuned, err := TrainParams{EASE: EASEParams{Lambda: 123}, KNN: KNNParams{K: 7}}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	run.Manifest.Tuning = &Tuning{Params: tuned, Models: map[string]ModelTuning{ModelEASE: {}}}
	got, err := r.trainParams(run, Options{Tuned: true, Params: TrainParams{Models: []string{ModelEASE, ModelItemKNN}}})
	if err != nil {
		t.Fatal(err)
	}
	if got.EASE.Lambda != 123 || got.KNN.K == 7 {
		t.Errorf("params = %+v, want the tuned EASE and the default item-kNN, which was not tuned", got)
	}
}

// TestTuneTwiceKeepsBoth tunes one model, then another in a second call
// with the same settings, and checks that the run keeps both tunings.
func TestTuneTwiceKeepsBoth(t *testing.T) {
	dir := t.TempDir()
	writeTestSplit(t, dir)
	first, err := Tune(t.Context(), dir, features.DefaultSplit, TuneConfig{Models: []string{ModelItemKNN}, Trials: 3, Seed: 7, Workers: 1}, discard())
	if err != nil {
		t.Fatal(err)
	}
	second, err := Tune(t.Context(), dir, features.DefaultSplit, TuneConfig{Models: []string{ModelEASE}, Trials: 3, Seed: 7, Workers: 1}, discard())
	if err != nil {
		t.Fatal(err)
	}
	knn := first.Params.KNN

	merged := mergeTuning(first, second, discard())
	if _, ok := merged.Models[ModelItemKNN]; !ok {
		t.Errorf("merged tuning lost itemknn: models %v", merged.Models)
	}
	if _, ok := merged.Models[ModelEASE]; !ok {
		t.Errorf("merged tuning lost ease: models %v", merged.Models)
	}
	if merged.Params.KNN != knn {
		t.Errorf("merged itemknn parameters %+v, want the first tuning's %+v", merged.Params.KNN, knn)
	}
	if len(merged.Results) != 6 {
		t.Errorf("merged tuning has %d trials, want 3 of each model", len(merged.Results))
	}

	other, err := Tune(t.Context(), dir, features.DefaultSplit, TuneConfig{Models: []string{ModelEASE}, Trials: 2, Seed: 7, Workers: 1}, discard())
	if err != nil {
		t.Fatal(err)
	}
	if replaced := mergeTuning(first, other, discard()); len(replaced.Models) != 1 {
		t.Errorf("a tuning with other settings kept %d models, want it to replace the earlier one", len(replaced.Models))
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/marquee/marquee/api"
	"github.com/marquee/marquee/internal/testenv"
	"github.com/marquee/marquee/pipeline"
	"github.com/marquee/marquee/serving"
)

// runCLI runs the marquee command with args and returns its standard output.
func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	cmd := newRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs(append([]string{"--log-level", "warn"}, args...))
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("marquee %s: %v", strings.Join(args, " "), err)
	}
	return out.String()
}

func TestMovieLensEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run on MovieLens skipped in -short mode")
	}
	dir := testenv.MovieLensDir(t)
	work := t.TempDir()
	runCLI(t, "--workdir", work, "data", "import", "movielens", dir)
	out := runCLI(t, "--workdir", work, "pipeline", "run", "--output", "json")

	var m pipeline.Manifest
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("decode run manifest: %v\n%s", err, out)
	}
	for _, stage := range pipeline.Stages {
		if rec := m.Stages[stage]; rec == nil || rec.Status != pipeline.StatusDone {
			t.Fatalf("stage %s not done: %+v", stage, rec)
		}
	}

	t.Run("quality", func(t *testing.T) {
		metrics := m.Metrics
		pop := metrics[pipeline.ModelPopularity].NDCG
		for _, name := range []string{pipeline.ModelIALS, pipeline.ModelItemKNN} {
			if got := metrics[name].NDCG; got <= pop {
				t.Errorf("%s NDCG@10 = %.4f, want above popularity's %.4f", name, got, pop)
			}
		}
		als, base := metrics[pipeline.ModelALS].RMSE, metrics[pipeline.ModelBaseline].RMSE
		if als == nil || base == nil {
			t.Fatalf("RMSE missing: als %v, baseline %v", als, base)
		}
		if *als >= *base {
			t.Errorf("explicit ALS RMSE = %.4f, want below the bias baseline's %.4f", *als, *base)
		}
	})

	t.Run("evaluate json keys", func(t *testing.T) {
		out := runCLI(t, "--workdir", work, "pipeline", "evaluate", "--output", "json")
		var got map[string]map[string]any
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("decode: %v\n%s", err, out)
		}
		for _, key := range []string{"ndcg_at_10", "recall_at_20", "hit_rate_at_10", "map_at_10", "coverage_at_10"} {
			if _, ok := got[pipeline.ModelIALS][key]; !ok {
				t.Errorf("ials metrics lack %q: %v", key, got[pipeline.ModelIALS])
			}
		}
		if _, ok := got[pipeline.ModelALS]["rmse"]; !ok {
			t.Errorf("als metrics lack rmse: %v", got[pipeline.ModelALS])
		}
	})

	t.Run("serve", func(t *testing.T) {
		srv := newTestServer(t, work)
		testServe(t, srv.URL)
	})
}

func newTestServer(t *testing.T, work string) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	store, err := openStore(ctx, "sqlite://"+filepath.Join(work, "marquee.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	lists, err := openLists(ctx, "sqlite://"+filepath.Join(work, "cache.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lists.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(api.New(api.Config{PublicUserRecommendations: true}, serving.New(lists, store, store, log), log))
	t.Cleanup(srv.Close)
	return srv
}

type pageBody struct {
	RunID  string `json:"run_id"`
	Source string `json:"source"`
	Items  []struct {
		ContentID string  `json:"content_id"`
		Score     float32 `json:"score"`
		Name      string  `json:"name"`
	} `json:"items"`
	NextOffset *int `json:"next_offset"`
}

func getJSON(t *testing.T, url string, wantStatus int, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s: status %d, want %d: %s", url, resp.StatusCode, wantStatus, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: decode: %v: %s", url, err, body)
	}
}

func testServe(t *testing.T, base string) {
	var page pageBody
	getJSON(t, base+"/v1/users/1/recommendations?limit=10", http.StatusOK, &page)
	if page.Source != "personal" || len(page.Items) != 10 {
		t.Fatalf("user 1: source %q with %d items, want personal with 10", page.Source, len(page.Items))
	}
	if page.Items[0].Name == "" {
		t.Errorf("first item %q has no title name", page.Items[0].ContentID)
	}

	// MovieLens user 1 rated title 1 (Toy Story); it must never come back.
	var all pageBody
	getJSON(t, base+"/v1/users/1/recommendations?limit=100", http.StatusOK, &all)
	for _, it := range all.Items {
		if it.ContentID == "1" {
			t.Errorf("user 1 was recommended title 1, which the user rated")
		}
	}
	if len(all.Items) < 90 {
		t.Errorf("user 1 has %d items in a page of 100, want at least 90", len(all.Items))
	}

	var second pageBody
	getJSON(t, base+"/v1/users/1/recommendations?limit=10&offset=10", http.StatusOK, &second)
	if len(second.Items) == 0 || second.Items[0].ContentID != all.Items[10].ContentID {
		t.Errorf("offset 10 does not continue the list")
	}

	var unknown pageBody
	getJSON(t, base+"/v1/users/no-such-user/recommendations", http.StatusOK, &unknown)
	if unknown.Source != "trending" || len(unknown.Items) == 0 {
		t.Errorf("unknown user: source %q with %d items, want trending titles", unknown.Source, len(unknown.Items))
	}

	var similar pageBody
	getJSON(t, base+"/v1/items/1/similar?limit=5", http.StatusOK, &similar)
	if len(similar.Items) != 5 {
		t.Errorf("similar to title 1: %d items, want 5", len(similar.Items))
	}
	for _, it := range similar.Items {
		if it.ContentID == "1" {
			t.Errorf("title 1 is listed as similar to itself")
		}
	}

	var trending pageBody
	getJSON(t, base+"/v1/trending?genre=Comedy&limit=5", http.StatusOK, &trending)
	if len(trending.Items) != 5 {
		t.Errorf("trending comedies: %d items, want 5", len(trending.Items))
	}

	var problem api.Problem
	getJSON(t, base+"/v1/users/1/recommendations?limit=1000", http.StatusBadRequest, &problem)
	if len(problem.Errors) != 1 || problem.Errors[0].Field != "limit" {
		t.Errorf("limit=1000: problem %+v does not name the field limit", problem)
	}
	getJSON(t, base+"/v1/items/no-such-title/similar", http.StatusNotFound, &problem)
	if problem.Status != http.StatusNotFound {
		t.Errorf("unknown title: problem status %d, want 404", problem.Status)
	}

	var health map[string]string
	getJSON(t, base+"/healthz", http.StatusOK, &health)
}

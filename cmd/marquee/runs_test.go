package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/internal/redistest"
	"github.com/marquee/marquee/pipeline"
)

// runCLIErr runs the marquee command with args and returns its standard
// output and error.
func runCLIErr(args ...string) (string, error) {
	cmd := newRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs(append([]string{"--log-level", "warn"}, args...))
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestRunsCommands(t *testing.T) {
	caches := map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "cache.db") },
		"redis": func(t *testing.T) string {
			addr := redistest.Shared(t)
			return "redis://" + addr + "?prefix=" + redistest.Prefix(t, addr)
		},
	}
	for name, cacheURL := range caches {
		t.Run(name, func(t *testing.T) {
			url := cacheURL(t)
			cli := func(args ...string) (string, error) {
				return runCLIErr(append([]string{"--workdir", t.TempDir(), "--cache", url, "runs"}, args...)...)
			}
			if _, err := cli("rollback"); err == nil || !strings.Contains(err.Error(), "nothing to roll back") {
				t.Errorf("rollback before any publish: got %v, want nothing to roll back", err)
			}

			lists, err := openLists(t.Context(), url, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= 3; i++ {
				publishRun(t, lists, fmt.Sprintf("r%d", i), 2)
				time.Sleep(3 * time.Millisecond) // distinct publication times
			}
			lists.Close()

			steps := []struct {
				args    []string
				wantOut string
				wantErr string
			}{
				{[]string{"rollback"}, "current run: r2 (was r3)", ""},
				{[]string{"rollback", "r1"}, "current run: r1 (was r2)", ""},
				{[]string{"rollback"}, "", "no complete run older than the current run r1"},
				{[]string{"rollback", "nope"}, "", "not found"},
				{[]string{"rollback", "r3"}, "current run: r3 (was r1)", ""},
			}
			for _, s := range steps {
				out, err := cli(s.args...)
				if s.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), s.wantErr) {
						t.Errorf("runs %v: got error %v, want one containing %q", s.args, err, s.wantErr)
					}
					continue
				}
				if err != nil || !strings.Contains(out, s.wantOut) {
					t.Errorf("runs %v: got %q, %v, want %q", s.args, out, err, s.wantOut)
				}
			}

			out, err := cli("list", "--output", "json")
			if err != nil {
				t.Fatal(err)
			}
			var runs []pipeline.RunInfo
			if err := json.Unmarshal([]byte(out), &runs); err != nil {
				t.Fatalf("decode %q: %v", out, err)
			}
			var got []string
			for _, r := range runs {
				s := r.ID + "=" + r.Status
				if r.Current {
					s += "*"
				}
				got = append(got, s)
				if r.Lists != 3 || r.State != "complete" {
					t.Errorf("run %s: %d lists, %s, want 3, complete", r.ID, r.Lists, r.State)
				}
			}
			if want := "r3=published* r2=published r1=published"; strings.Join(got, " ") != want {
				t.Errorf("runs list: got %v, want %s", got, want)
			}
			if out, err := cli("list"); err != nil || !strings.Contains(out, "RUN") || !strings.Contains(out, "r3 *") {
				t.Errorf("runs list as a table: got %q, %v", out, err)
			}
		})
	}
}

// TestPipelineFoldInThroughRedis publishes pipeline runs of synthetic data
// to Redis. A user the run does not know, who rates three titles, must get a
// list folded in from the published item factors at once. The factors are
// those of the published model, or of an iALS fitted for the purpose when
// the published model has none.
func TestPipelineFoldInThroughRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	addr := redistest.Shared(t)
	work := t.TempDir()
	runCLI(t, "--workdir", work, "data", "generate", "--seed", "3", "--users", "300", "--titles", "400")
	store, err := openStore(t.Context(), "sqlite://"+filepath.Join(work, "marquee.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	tests := []struct {
		name string
		args []string
	}{
		{"ials", []string{"--models", "ials,popularity", "--model", "ials"}},
		{"ease, without factors", []string{"--models", "ease,popularity", "--model", "ease"}},
		{"best model", nil},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cacheURL := "redis://" + addr + "?prefix=" + redistest.Prefix(t, addr)
			out := runCLI(t, append([]string{"--workdir", work, "--cache", cacheURL, "pipeline", "run", "--output", "json"}, tc.args...)...)
			var m struct {
				Published struct{ Model string } `json:"published"`
			}
			if err := json.Unmarshal([]byte(out), &m); err != nil {
				t.Fatalf("decode the manifest: %v", err)
			}
			t.Logf("published model: %s", m.Published.Model)
			checkFoldIn(t, newReplica(t, cacheURL, store, defaultServing()), store, fmt.Sprintf("newcomer-%d", i))
		})
	}
}

// checkFoldIn has a new user rate three trending titles and checks that the
// next page is folded in and leaves them out.
func checkFoldIn(t *testing.T, rep replica, store data.Store, userID string) {
	t.Helper()
	trending, err := get(rep.url, "/v1/trending?limit=3")
	if err != nil || len(trending.page.Items) != 3 {
		t.Fatalf("trending: %+v, %v", trending, err)
	}
	var rated []string
	for _, it := range trending.page.Items {
		r := data.Rating{UserID: userID, ContentID: it.ContentID, Value: 5, Time: time.Now()}
		if err := store.PutRatings(t.Context(), []data.Rating{r}); err != nil {
			t.Fatal(err)
		}
		if err := rep.svc.RecordInteraction(t.Context(), data.RatingEvent(r)); err != nil {
			t.Fatal(err)
		}
		rated = append(rated, it.ContentID)
	}

	start := time.Now()
	resp, err := get(rep.url, "/v1/users/"+userID+"/recommendations?limit=20")
	elapsed := time.Since(start)
	if err != nil || resp.status != http.StatusOK {
		t.Fatalf("recommendations: %+v, %v", resp, err)
	}
	if resp.page.Source != "folded" || len(resp.page.Items) != 20 {
		t.Errorf("%s: got %s with %d items, want 20 folded ones", userID, resp.page.Source, len(resp.page.Items))
	}
	for _, it := range resp.page.Items {
		for _, r := range rated {
			if it.ContentID == r {
				t.Errorf("%s was recommended %s, which they rated", userID, r)
			}
		}
	}
	t.Logf("folded-in answer in %v", elapsed)
}

package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/data/sqlite"
	"github.com/marquee/marquee/serving"
)

// TestAppendPageMatchesEncodingJSON checks that the hand-written encoder of
// pages writes the bytes encoding/json writes.
func TestAppendPageMatchesEncodingJSON(t *testing.T) {
	next, cursor := 20, "AQJyMQhwZXJzb25hbBQAAAAH"
	odd := []string{"", `"quoted" \ back`, "<b>&amp;</b>", "tab\tnew\nline\r\x00\x1f\b\f", "日本語 🎬", "\u2028\u2029", "bad \xff\xfe utf8", "\x7f"}
	scores := []float32{0, 1, -1.5, 0.1, 1e-7, -3e-9, 1e21, 123456.79, math.MaxFloat32, math.SmallestNonzeroFloat32}
	var items []itemJSON
	for i, s := range odd {
		items = append(items, itemJSON{ContentID: s, Score: scores[i%len(scores)], Name: s, Year: 1990 + i, Genres: []string{s, "Drama"}})
	}
	for _, f := range scores {
		items = append(items, itemJSON{ContentID: "t", Score: f})
	}
	pages := []pageJSON{
		{RunID: "r1", Source: "personal", Items: []itemJSON{}, Limit: 10},
		{RunID: odd[1], Source: "folded", Items: items, Limit: 100, Offset: 3, NextOffset: &next, NextCursor: &cursor, Degraded: true},
	}
	for _, p := range pages {
		want, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendPage(nil, p); string(got) != string(want) {
			t.Errorf("appendPage:\n got %s\nwant %s", got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("plain")
	f.Add("<\u2028\xff\"\\")
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); string(got) != string(want) {
			t.Fatalf("appendString(%q): got %s, want %s", s, got, want)
		}
	})
}

func BenchmarkWritePage(b *testing.B) {
	items := make([]itemJSON, 10)
	for i := range items {
		items[i] = itemJSON{ContentID: "t0001", Score: 0.8123, Name: "The Title of a Film", Year: 1999, Genres: []string{"Drama", "Comedy"}}
	}
	cursor := "AQJyMQhwZXJzb25hbBQAAAAH"
	p := pageJSON{RunID: "2026-12-04T20-00-00Z", Source: "personal", Items: items, Limit: 10, NextCursor: &cursor}
	b.Run("appendPage", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			appendPage(make([]byte, 0, 2048), p)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// listRoutes returns a server on one published run: user u has titles t0
// to t9, and trending has t0 to t2.
func listRoutes(t *testing.T) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(t.Context(), filepath.Join(dir, "marquee.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	lists, err := sqlite.OpenLists(t.Context(), filepath.Join(dir, "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lists.Close() })
	var own, trend []data.ScoredItem
	for i := range 10 {
		own = append(own, data.ScoredItem{ID: "t" + string(rune('0'+i)), Score: float32(10 - i)})
	}
	trend = own[:3]
	w, err := lists.NewRun(t.Context(), "r1")
	if err == nil {
		err = w.Put(t.Context(), []data.ListEntry{{Kind: data.ListUser, Key: "u", Items: own}, {Kind: data.ListTrending, Key: "all", Items: trend}})
	}
	if err == nil {
		err = w.Commit(t.Context())
	}
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	srv := httptest.NewServer(New(Config{}, serving.New(lists, store, store, log), log))
	t.Cleanup(srv.Close)
	return srv
}

func TestRecommendationParams(t *testing.T) {
	srv := listRoutes(t)
	get := func(path string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var v map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("GET %s: %s: %v", path, body, err)
		}
		return resp.StatusCode, v
	}
	tests := []struct {
		path      string
		wantCode  int
		wantField string
	}{
		{"/v1/users/u/recommendations?cursor=abc&offset=2", 400, "cursor"},
		{"/v1/users/u/recommendations?cursor=", 400, "cursor"},
		{"/v1/users/u/recommendations?cursor=bm90IGEgY3Vyc29y", 400, "cursor"},
		{"/v1/users/u/recommendations?exclude=" + strings.Repeat("x,", 101), 400, "exclude"},
		{"/v1/users/u/recommendations?genre=" + strings.Repeat("g", 65), 400, "genre"},
		{"/v1/users/u/recommendations?exclude=t0,t1&exclude=t2&limit=2", 200, ""},
	}
	for _, tc := range tests {
		code, body := get(tc.path)
		if code != tc.wantCode {
			t.Errorf("GET %s: status %d, want %d: %v", tc.path, code, tc.wantCode, body)
			continue
		}
		if tc.wantField != "" {
			errs, _ := body["errors"].([]any)
			if len(errs) != 1 || errs[0].(map[string]any)["field"] != tc.wantField {
				t.Errorf("GET %s: problem %v does not name %s", tc.path, body, tc.wantField)
			}
		}
	}

	// Pages follow next_cursor to the end, with exclude kept.
	var got []string
	path := "/v1/users/u/recommendations?limit=3&exclude=t4"
	for path != "" {
		code, body := get(path)
		if code != 200 {
			t.Fatalf("GET %s: %d %v", path, code, body)
		}
		for _, it := range body["items"].([]any) {
			got = append(got, it.(map[string]any)["content_id"].(string))
		}
		path = ""
		if c, ok := body["next_cursor"].(string); ok {
			path = "/v1/users/u/recommendations?limit=3&exclude=t4&cursor=" + c
		}
	}
	if want := "t0 t1 t2 t3 t5 t6 t7 t8 t9"; strings.Join(got, " ") != want {
		t.Errorf("pages: got %v, want %s", got, want)
	}
}

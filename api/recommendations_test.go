package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// listRoutes returns a server without accounts, serving users' lists to
// any caller, on one published run: user u has titles t0 to t9, and
// trending has t0 to t2.
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
	var titles []data.Title
	for _, it := range own {
		titles = append(titles, data.Title{ID: it.ID, Name: "Title " + it.ID})
	}
	if err := store.PutTitles(t.Context(), titles); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	srv := httptest.NewServer(New(Config{PublicUserRecommendations: true}, serving.New(lists, store, store, log), log))
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

// TestUserRecommendationsNeedToken checks who may read a user's list by
// user ID: that user, signed in, and admins. Other callers may read it only
// when the server serves users' lists to any caller. The caller's own list
// is also at /v1/me/recommendations.
func TestUserRecommendationsNeedToken(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	u, tok := e.signUp("owner")
	_, other := e.signUp("other")
	admin := e.admin()
	ids := e.titles("a", "b")
	e.publish("run-1", []data.ListEntry{
		{Kind: data.ListUser, Key: u.ID, Items: scored(ids...)},
		{Kind: data.ListTrending, Key: "all", Items: scored(ids[1])},
	})
	path := "/v1/users/" + u.ID + "/recommendations"

	checkProblem(t, e.do(request{method: "GET", path: path}), http.StatusUnauthorized, "")
	checkProblem(t, e.do(request{method: "GET", path: path, token: "not-a-token"}), http.StatusUnauthorized, "")
	checkProblem(t, e.do(request{method: "GET", path: path, token: other.AccessToken}), http.StatusForbidden, "")
	for name, token := range map[string]string{"the user": tok.AccessToken, "an admin": admin} {
		var page pageJSON
		resp := e.call("GET", path+"?limit=1", token, nil, http.StatusOK)
		resp.decode(t, &page)
		if page.Source != "personal" || len(page.Items) != 1 || page.Items[0].ContentID != ids[0] {
			t.Errorf("%s: got %+v, want the user's personal list", name, page)
		}
		if resp.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store for a personal list", name, resp.header.Get("Cache-Control"))
		}
	}

	var mine pageJSON
	e.call("GET", "/v1/me/recommendations?limit=1", tok.AccessToken, nil, http.StatusOK).decode(t, &mine)
	if mine.Source != "personal" || len(mine.Items) != 1 || mine.Items[0].ContentID != ids[0] || mine.NextCursor == nil {
		t.Fatalf("/v1/me/recommendations: got %+v, want the user's personal list", mine)
	}
	e.call("GET", "/v1/me/recommendations?limit=1&cursor="+url.QueryEscape(*mine.NextCursor), tok.AccessToken, nil, http.StatusOK).decode(t, &mine)
	if len(mine.Items) != 1 || mine.Items[0].ContentID != ids[1] {
		t.Errorf("/v1/me/recommendations, second page: got %+v, want %s", mine, ids[1])
	}
	checkProblem(t, e.do(request{method: "GET", path: "/v1/me/recommendations"}), http.StatusUnauthorized, "")
	checkProblem(t, e.do(request{method: "GET", path: "/v1/me/recommendations?genre=" + strings.Repeat("g", 65), token: tok.AccessToken}),
		http.StatusBadRequest, "genre")

	open := newEnv(t, sqliteBackend, func(c *Config) { c.PublicUserRecommendations = true })
	open.publish("run-1", []data.ListEntry{{Kind: data.ListTrending, Key: "all", Items: scored(open.titles("c")...)}})
	open.call("GET", "/v1/users/anyone/recommendations", "", nil, http.StatusOK)
}

// TestUserRecommendationsWithoutAccounts checks a server without a store:
// it has no accounts to sign in with, so users' lists by ID are served
// only when the server serves them to any caller.
func TestUserRecommendationsWithoutAccounts(t *testing.T) {
	lists, err := sqlite.OpenLists(t.Context(), filepath.Join(t.TempDir(), "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lists.Close()
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "marquee.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	log := slog.New(slog.DiscardHandler)
	for _, public := range []bool{false, true} {
		h := New(Config{PublicUserRecommendations: public}, serving.New(lists, store, store, log), log)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/users/u/recommendations", nil))
		want := http.StatusUnauthorized
		if public {
			want = http.StatusServiceUnavailable // nothing published yet
		}
		if rec.Code != want {
			t.Errorf("public %v: status %d, want %d: %s", public, rec.Code, want, rec.Body)
		}
	}
}

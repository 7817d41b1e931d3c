package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/marquee/marquee/data"
)

func TestCatalogAdmin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		admin := e.admin()
		_, user := e.signUp("sam")
		id := e.id("new")
		body := map[string]any{"id": id, "name": "Arrival", "year": 2016, "genres": []string{"Sci-Fi", "genre-" + e.tag},
			"type": "movie", "duration_sec": 6960, "description": "Linguists.\nAliens."}

		// A user may not write the catalog; nothing is written.
		checkProblem(t, e.do(request{method: "POST", path: "/v1/titles", token: user.AccessToken, body: body}), 403, "")
		checkProblem(t, e.do(request{method: "PUT", path: "/v1/titles/" + id, token: user.AccessToken, body: body}), 403, "")
		checkProblem(t, e.do(request{method: "DELETE", path: "/v1/titles/" + id, token: user.AccessToken}), 403, "")
		checkProblem(t, e.do(request{method: "POST", path: "/v1/titles", body: body}), 401, "")
		checkProblem(t, e.do(request{method: "GET", path: "/v1/titles/" + id}), 404, "id")

		var d titleDetailJSON
		resp := e.call("POST", "/v1/titles", admin, body, http.StatusCreated)
		resp.decode(t, &d)
		if d.ID != id || d.Name != "Arrival" || d.DurationSec != 6960 || d.RatingCount != 0 || d.AverageRating != nil {
			t.Errorf("created: %+v", d)
		}
		if loc := resp.header.Get("Location"); loc != "/v1/titles/"+id {
			t.Errorf("Location %q", loc)
		}
		checkProblem(t, e.do(request{method: "POST", path: "/v1/titles", token: admin, body: body}), 409, "id")

		// PUT replaces and is idempotent.
		body["name"] = "Arrival (2016)"
		delete(body, "id")
		e.call("PUT", "/v1/titles/"+id, admin, body, http.StatusOK)
		e.call("PUT", "/v1/titles/"+id, admin, body, http.StatusOK).decode(t, &d)
		if d.Name != "Arrival (2016)" || d.Description != "Linguists.\nAliens." {
			t.Errorf("replaced: %+v", d)
		}
		created := e.id("put")
		e.call("PUT", "/v1/titles/"+created, admin, body, http.StatusCreated)

		// Without an id, POST picks one.
		e.call("POST", "/v1/titles", admin, map[string]any{"name": "Untitled", "type": "short"}, http.StatusCreated).decode(t, &d)
		if !strings.HasPrefix(d.ID, "t_") {
			t.Errorf("chosen id %q, want a t_ prefix", d.ID)
		}

		e.call("DELETE", "/v1/titles/"+id, admin, nil, http.StatusNoContent)
		checkProblem(t, e.do(request{method: "DELETE", path: "/v1/titles/" + id, token: admin}), 404, "id")
		checkProblem(t, e.do(request{method: "GET", path: "/v1/titles/" + id}), 404, "id")
	})
}

func TestCatalogListAndSearch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ids := e.titles("Matrix", "Matrix Reloaded", "Amélie", "100% Wolf", "Heat")
		genre := "genre-" + e.tag

		list := func(query string) titlePageJSON {
			var page titlePageJSON
			e.call("GET", "/v1/titles?"+query, "", nil, http.StatusOK).decode(t, &page)
			return page
		}
		names := func(p titlePageJSON) string {
			var n []string
			for _, it := range p.Items {
				n = append(n, it.Name)
			}
			return strings.Join(n, "|")
		}

		if got := names(list("genre=" + strings.ToUpper(genre))); got != "100% Wolf|Amélie|Heat|Matrix Reloaded|Matrix" {
			t.Errorf("by genre: %s", got)
		}
		if got := names(list("genre=" + genre + "&q=MATRIX")); got != "Matrix Reloaded|Matrix" {
			t.Errorf("by text: %s", got)
		}
		if got := names(list("genre=" + genre + "&q=" + url.QueryEscape("%"))); got != "100% Wolf" {
			t.Errorf("percent sign is literal: %s", got)
		}
		if got := names(list("genre=" + genre + "&q=" + url.QueryEscape("amélie"))); got != "Amélie" {
			t.Errorf("non-ASCII text: %s", got)
		}
		if got := names(list("genre=" + genre + "&year=2004")); got != "Heat" {
			t.Errorf("by year: %s", got)
		}
		if got := names(list("genre=" + genre + "&q=" + url.QueryEscape("' OR 1=1 --"))); got != "" {
			t.Errorf("SQL in q matched: %s", got)
		}

		// Titles come in ID order, and the IDs end in -tag, so "Matrix
		// Reloaded-tag" comes before "Matrix-tag". Pages of two cover all
		// five, each once.
		var seen []string
		page := list("genre=" + genre + "&limit=2")
		for {
			for _, it := range page.Items {
				seen = append(seen, it.ID)
			}
			if page.NextCursor == nil {
				break
			}
			page = list("genre=" + genre + "&limit=2&cursor=" + url.QueryEscape(*page.NextCursor))
		}
		if len(seen) != len(ids) {
			t.Errorf("paged through %d titles, want %d: %v", len(seen), len(ids), seen)
		}

		for _, tc := range []struct{ query, field string }{
			{"limit=0", "limit"}, {"limit=101", "limit"}, {"limit=ten", "limit"},
			{"year=abc", "year"}, {"year=-5", "year"}, {"year=99999", "year"},
			{"q=", "q"}, {"q=" + strings.Repeat("x", 201), "q"}, {"genre=" + strings.Repeat("g", 51), "genre"},
			{"cursor=%25%25%25", "cursor"}, {"cursor=" + strings.Repeat("c", 600), "cursor"},
			{"gnre=Drama", "gnre"},
		} {
			checkProblem(t, e.do(request{method: "GET", path: "/v1/titles?" + tc.query}), 400, tc.field)
		}
	})
}

func TestCatalogBadInput(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	admin := e.admin()
	valid := `"name": "Ok", "type": "movie"`
	tests := []struct {
		name  string
		body  string
		field string
	}{
		{"missing name", `{"type": "movie"}`, "name"},
		{"missing type", `{"name": "Ok"}`, "type"},
		{"type with spaces", `{"name": "Ok", "type": "feature film"}`, "type"},
		{"year negative", `{` + valid + `, "year": -1}`, "year"},
		{"year as string", `{` + valid + `, "year": "1999"}`, "year"},
		{"year fractional", `{` + valid + `, "year": 1999.5}`, "year"},
		{"duration too long", `{` + valid + `, "duration_sec": 99999999}`, "duration_sec"},
		{"genres with an object", `{` + valid + `, "genres": [{}]}`, "genres"},
		{"long name", `{"name": "` + strings.Repeat("n", 301) + `", "type": "movie"}`, "name"},
		{"long description", `{` + valid + `, "description": "` + strings.Repeat("d", 5001) + `"}`, "description"},
		{"bad id", `{` + valid + `, "id": "has space"}`, "id"},
		{"unknown field", `{` + valid + `, "rating": 5}`, "rating"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkProblem(t, e.do(request{method: "POST", path: "/v1/titles", token: admin, body: tc.body}), 400, tc.field)
		})
	}
	t.Run("PUT with another id in the body", func(t *testing.T) {
		checkProblem(t, e.do(request{method: "PUT", path: "/v1/titles/" + e.id("a"), token: admin,
			body: `{"id": "other", ` + valid + `}`}), 400, "id")
	})
	t.Run("PUT of a new title with an unsafe id", func(t *testing.T) {
		checkProblem(t, e.do(request{method: "PUT", path: "/v1/titles/" + url.PathEscape("a b"), token: admin, body: `{` + valid + `}`}), 400, "id")
	})
	var page titlePageJSON
	e.call("GET", "/v1/titles", "", nil, 200).decode(t, &page)
	if len(page.Items) != 0 {
		t.Errorf("rejected requests wrote %d titles", len(page.Items))
	}
}

// TestDeletedTitleLeavesLists deletes a title that a published run lists.
// GET /v1/titles/{id} then returns 404, so no list may still contain it.
// Once put back, the title returns to the lists at once.
func TestDeletedTitleLeavesLists(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, func(c *Config) { c.PublicUserRecommendations = true })
		ids := e.titles("deleted", "kept", "other")
		deleted := ids[0]
		e.publish("run-1", []data.ListEntry{
			{Kind: data.ListUser, Key: "u1", Items: scored(deleted, ids[1], ids[2])},
			{Kind: data.ListSimilar, Key: ids[1], Items: scored(deleted, ids[2])},
			{Kind: data.ListTrending, Key: "all", Items: scored(deleted, ids[1], ids[2])},
		})
		paths := []string{
			"/v1/users/u1/recommendations",
			"/v1/items/" + ids[1] + "/similar",
			"/v1/trending",
		}
		listed := func(path string) bool {
			var page pageJSON
			e.call("GET", path, "", nil, http.StatusOK).decode(t, &page)
			for _, item := range page.Items {
				if item.ContentID == deleted {
					return true
				}
			}
			return false
		}
		for _, path := range paths { // the titles are cached now
			if !listed(path) {
				t.Fatalf("GET %s lacks %s before the deletion", path, deleted)
			}
		}

		admin := e.admin()
		e.call("DELETE", "/v1/titles/"+deleted, admin, nil, http.StatusNoContent)
		e.call("GET", "/v1/titles/"+deleted, "", nil, http.StatusNotFound)
		for _, path := range paths {
			if listed(path) {
				t.Errorf("GET %s lists the deleted title %s", path, deleted)
			}
		}
		var page pageJSON
		e.call("GET", "/v1/users/u1/recommendations?limit=1", "", nil, http.StatusOK).decode(t, &page)
		if len(page.Items) != 1 || page.Items[0].ContentID != ids[1] || page.NextCursor == nil {
			t.Errorf("first page of 1 after the deletion: %+v, want %s and a next page", page, ids[1])
		}

		e.call("PUT", "/v1/titles/"+deleted, admin, map[string]any{"name": "back", "type": "movie"}, http.StatusCreated)
		for _, path := range paths {
			if !listed(path) {
				t.Errorf("GET %s lacks %s after it was put back", path, deleted)
			}
		}
	})
}

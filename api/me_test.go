package api

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestProfile(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		u, tok := e.signUp("ivy")
		e.signUp("jon")

		patch := map[string]any{"name": "Ivy Q. 日本", "preferred_genres": []string{"Drama", "Sci-Fi"}, "preferred_types": []string{"movie"}}
		var got userJSON
		e.call("PATCH", "/v1/me", tok.AccessToken, patch, http.StatusOK).decode(t, &got)
		if got.Name != "Ivy Q. 日本" || !slices.Equal(got.PreferredGenres, []string{"Drama", "Sci-Fi"}) || got.Email != u.Email {
			t.Errorf("after PATCH: %+v", got)
		}
		e.call("GET", "/v1/me", tok.AccessToken, nil, http.StatusOK).decode(t, &got)
		if got.Name != "Ivy Q. 日本" || !slices.Equal(got.PreferredTypes, []string{"movie"}) {
			t.Errorf("GET after PATCH: %+v", got)
		}

		// Another user's e-mail is refused and nothing changes.
		checkProblem(t, e.do(request{method: "PATCH", path: "/v1/me", token: tok.AccessToken,
			body: map[string]any{"email": e.email("jon"), "name": "Changed"}}), http.StatusConflict, "email")
		e.call("GET", "/v1/me", tok.AccessToken, nil, http.StatusOK).decode(t, &got)
		if got.Email != u.Email || got.Name != "Ivy Q. 日本" {
			t.Errorf("a refused PATCH changed the profile: %+v", got)
		}

		// A new e-mail is the one to sign in with.
		e.call("PATCH", "/v1/me", tok.AccessToken, map[string]any{"email": e.email("ivy2")}, http.StatusOK)
		e.login(e.email("ivy2"), testPassword)
	})
}

func TestProfileBadInput(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	_, tok := e.signUp("kim")
	tests := []struct {
		name  string
		body  any
		field string
	}{
		{"empty object", `{}`, "body"},
		{"null name", `{"name": null}`, "body"},
		{"empty name", `{"name": ""}`, "name"},
		{"blank name", `{"name": "   "}`, "name"},
		{"name as number", `{"name": 7}`, "name"},
		{"bad e-mail", `{"email": "kim at example"}`, "email"},
		{"genres not a list", `{"preferred_genres": "Drama"}`, "preferred_genres"},
		{"genre not a string", `{"preferred_genres": [1]}`, "preferred_genres"},
		{"empty genre", `{"preferred_genres": [""]}`, "preferred_genres[0]"},
		{"repeated genre", `{"preferred_genres": ["Drama", "drama"]}`, "preferred_genres[1]"},
		{"too many genres", `{"preferred_genres": [` + strings.TrimSuffix(strings.Repeat(`"g",`, 21), ",") + `]}`, "preferred_genres"},
		{"type in capitals", `{"preferred_types": ["Movie"]}`, "preferred_types[0]"},
		{"unknown field", `{"role": "admin"}`, "role"},
		{"trailing garbage", `{"name": "K"} x`, "body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do(request{method: "PATCH", path: "/v1/me", token: tok.AccessToken, body: tc.body})
			checkProblem(t, resp, http.StatusBadRequest, tc.field)
		})
	}
	var me userJSON
	e.call("GET", "/v1/me", tok.AccessToken, nil, http.StatusOK).decode(t, &me)
	if me.Name != "kim" || len(me.PreferredGenres) != 0 {
		t.Errorf("rejected requests changed the profile: %+v", me)
	}
	t.Run("no token", func(t *testing.T) {
		checkProblem(t, e.do(request{method: "PATCH", path: "/v1/me", body: `{"name": "x"}`}), http.StatusUnauthorized, "")
	})
}

// TestProfileKeepsOpenGenresAndTypes pins what openapi.json documents:
// titles may carry any genre and type and no list of valid ones exists, so
// the profile stores any that pass the format checks.
func TestProfileKeepsOpenGenresAndTypes(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	_, tok := e.signUp("pat")
	tests := []struct {
		name, field string
		values      []string
	}{
		{"a genre no title has", "preferred_genres", []string{"Horror", "NotAGenre"}},
		{"a genre in another case than the titles'", "preferred_genres", []string{"drama"}},
		{"a type no title has", "preferred_types", []string{"hologram"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got userJSON
			e.call("PATCH", "/v1/me", tok.AccessToken, map[string]any{tc.field: tc.values}, http.StatusOK).decode(t, &got)
			stored := got.PreferredGenres
			if tc.field == "preferred_types" {
				stored = got.PreferredTypes
			}
			if !slices.Equal(stored, tc.values) {
				t.Errorf("got %s %q, want %q", tc.field, stored, tc.values)
			}
		})
	}
}

func TestHistory(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ids := e.titles("heat", "ronin")
		_, tok := e.signUp("lee")
		e.call("PUT", "/v1/me/ratings/"+ids[0], tok.AccessToken, map[string]any{"rating": 4.5}, http.StatusCreated)
		for i, w := range []struct {
			id, content, kind string
			pos               float64
		}{
			{"evt-00000001", ids[0], "start", 0},
			{"evt-00000002", ids[0], "complete", 5400},
			{"evt-00000003", ids[1], "progress", 2700},
		} {
			e.clock.advance(time.Millisecond * time.Duration(i+1))
			e.call("POST", "/v1/me/watch-events", tok.AccessToken,
				map[string]any{"event_id": w.id, "content_id": w.content, "kind": w.kind, "position_sec": w.pos}, http.StatusCreated)
		}

		var page historyPageJSON
		e.call("GET", "/v1/me/history?limit=2", tok.AccessToken, nil, http.StatusOK).decode(t, &page)
		if len(page.Items) != 2 || page.NextOffset == nil || *page.NextOffset != 2 {
			t.Fatalf("first page: %d items, next %v; want 2 and 2", len(page.Items), page.NextOffset)
		}
		first := page.Items[0]
		if first.EventID != "evt-00000003" || first.Fraction != 0.5 || first.Rating != nil || first.Title == nil || first.Title.Name != "ronin" {
			t.Errorf("newest event: %+v", first)
		}
		if second := page.Items[1]; second.Rating == nil || *second.Rating != 4.5 || second.Fraction != 1 {
			t.Errorf("second event: %+v, want rating 4.5 and fraction 1", second)
		}
		e.call("GET", "/v1/me/history?limit=2&offset=2", tok.AccessToken, nil, http.StatusOK).decode(t, &page)
		if len(page.Items) != 1 || page.NextOffset != nil {
			t.Errorf("last page: %d items, next %v; want 1 and none", len(page.Items), page.NextOffset)
		}

		for _, q := range []string{"limit=0", "limit=101", "limit=x", "offset=-1", "offset=1e3"} {
			checkProblem(t, e.do(request{method: "GET", path: "/v1/me/history?" + q, token: tok.AccessToken}), 400, strings.Split(q, "=")[0])
		}
	})
}

func TestDeleteAccount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ids := e.titles("alien")
		u, tok := e.signUp("max")
		_, other := e.signUp("ned")
		e.call("PUT", "/v1/me/ratings/"+ids[0], tok.AccessToken, map[string]any{"rating": 1}, http.StatusCreated)
		e.call("PUT", "/v1/me/ratings/"+ids[0], other.AccessToken, map[string]any{"rating": 5}, http.StatusCreated)
		e.call("POST", "/v1/me/watch-events", tok.AccessToken,
			map[string]any{"event_id": "evt-max-0001", "content_id": ids[0], "kind": "complete", "position_sec": 10}, http.StatusCreated)

		checkProblem(t, e.do(request{method: "DELETE", path: "/v1/me", token: tok.AccessToken, body: `{}`}), 400, "password")
		checkProblem(t, e.do(request{method: "DELETE", path: "/v1/me", token: tok.AccessToken, body: map[string]string{"password": "wrong password"}}), 403, "password")
		e.call("DELETE", "/v1/me", tok.AccessToken, map[string]string{"password": testPassword}, http.StatusNoContent)

		e.call("GET", "/v1/me", tok.AccessToken, nil, http.StatusUnauthorized)
		e.call("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken}, http.StatusUnauthorized)
		e.call("POST", "/v1/auth/login", "", map[string]string{"email": u.Email, "password": testPassword}, http.StatusUnauthorized)

		// The average no longer counts the deleted account's rating.
		var title titleDetailJSON
		e.call("GET", "/v1/titles/"+ids[0], "", nil, http.StatusOK).decode(t, &title)
		if title.RatingCount != 1 || title.AverageRating == nil || *title.AverageRating != 5 {
			t.Errorf("after deletion: count %d, average %v; want 1 and 5", title.RatingCount, title.AverageRating)
		}
		ratings, err := e.store.Ratings(t.Context(), u.ID)
		if err != nil || len(ratings) != 0 {
			t.Errorf("ratings of the deleted account: %v, %v; want none", ratings, err)
		}
		// Both stores erase the account's events.
		watches, err := e.store.Watches(t.Context(), u.ID, 0)
		if err != nil || len(watches) != 0 {
			t.Errorf("watch events of the deleted account: %v, %v; want none", watches, err)
		}
		// The e-mail is free again.
		e.signUp("max")
	})
}

// TestPathAndQueryBadInput covers the bad path and query values of the
// routes that take no body.
func TestPathAndQueryBadInput(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	_, tok := e.signUp("zed")
	admin := e.admin()
	long := strings.Repeat("x", 300)
	tests := []struct {
		name, method, path, token string
		body                      string
		status                    int
		field                     string
	}{
		{"ratings limit zero", "GET", "/v1/me/ratings?limit=0", tok.AccessToken, "", 400, "limit"},
		{"ratings offset negative", "GET", "/v1/me/ratings?offset=-3", tok.AccessToken, "", 400, "offset"},
		{"rating of an over-long id", "GET", "/v1/me/ratings/" + long, tok.AccessToken, "", 400, "content_id"},
		{"delete rating of an over-long id", "DELETE", "/v1/me/ratings/" + long, tok.AccessToken, "", 400, "content_id"},
		{"title with an over-long id", "GET", "/v1/titles/" + long, "", "", 400, "id"},
		{"title with a control character", "GET", "/v1/titles/a%00b", "", "", 400, "id"},
		{"delete an unknown title", "DELETE", "/v1/titles/nope-" + e.tag, admin, "", 404, "id"},
		{"home with an unknown parameter", "GET", "/v1/me/home?limt=3", tok.AccessToken, "", 400, "limt"},
		{"delete account with malformed JSON", "DELETE", "/v1/me", tok.AccessToken, `{"password": `, 400, "body"},
		{"delete account with a number", "DELETE", "/v1/me", tok.AccessToken, `{"password": 1234}`, 400, "password"},
		{"logout without a token", "POST", "/v1/auth/logout", "", "", 401, ""},
		{"history without a token", "GET", "/v1/me/history", "", "", 401, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			checkProblem(t, e.do(request{method: tc.method, path: tc.path, token: tc.token, body: body}), tc.status, tc.field)
		})
	}
}

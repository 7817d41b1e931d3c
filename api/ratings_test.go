package api

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

func TestRatings(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ids := e.titles("up", "coco")
		u, tok := e.signUp("olga")
		path := "/v1/me/ratings/" + ids[0]

		var r ratingJSON
		e.call("PUT", path, tok.AccessToken, map[string]any{"rating": 4}, http.StatusCreated).decode(t, &r)
		if r.ContentID != ids[0] || r.Rating != 4 || r.Title == nil || r.Title.Name != "up" {
			t.Errorf("PUT response: %+v", r)
		}
		// Retrying and changing: 200, one rating counted, the latest value.
		e.call("PUT", path, tok.AccessToken, map[string]any{"rating": 4}, http.StatusOK)
		e.call("PUT", path, tok.AccessToken, map[string]any{"rating": 2.5}, http.StatusOK).decode(t, &r)
		if r.Rating != 2.5 {
			t.Errorf("after change: rating %v, want 2.5", r.Rating)
		}
		checkAverage(t, e, ids[0], 1, 2.5)
		e.call("GET", path, tok.AccessToken, nil, http.StatusOK).decode(t, &r)
		if r.Rating != 2.5 {
			t.Errorf("GET: rating %v, want 2.5", r.Rating)
		}

		e.call("PUT", "/v1/me/ratings/"+ids[1], tok.AccessToken, map[string]any{"rating": 5}, http.StatusCreated)
		var page ratingPageJSON
		e.call("GET", "/v1/me/ratings", tok.AccessToken, nil, http.StatusOK).decode(t, &page)
		if len(page.Items) != 2 || page.Items[0].ContentID != ids[1] {
			t.Errorf("my ratings: %+v, want two, newest (%s) first", page.Items, ids[1])
		}

		e.call("DELETE", path, tok.AccessToken, nil, http.StatusNoContent)
		checkProblem(t, e.do(request{method: "DELETE", path: path, token: tok.AccessToken}), http.StatusNotFound, "")
		checkProblem(t, e.do(request{method: "GET", path: path, token: tok.AccessToken}), http.StatusNotFound, "")
		checkAverage(t, e, ids[0], 0, 0)

		// Rating again after a deletion counts once more.
		e.call("PUT", path, tok.AccessToken, map[string]any{"rating": 3}, http.StatusCreated)
		checkAverage(t, e, ids[0], 1, 3)

		want := []string{
			u.ID + " " + ids[0] + " rated", u.ID + " " + ids[0] + " rated", u.ID + " " + ids[0] + " rated",
			u.ID + " " + ids[1] + " rated", u.ID + " " + ids[0] + " unrated", u.ID + " " + ids[0] + " rated",
		}
		if got := e.recorded.all(); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("recorded interactions:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// checkAverage fails t unless the title's detail shows count ratings with
// the given exact average.
func checkAverage(t *testing.T, e *env, id string, count int, average float64) {
	t.Helper()
	var d titleDetailJSON
	e.call("GET", "/v1/titles/"+url.PathEscape(id), "", nil, http.StatusOK).decode(t, &d)
	if d.RatingCount != count {
		t.Errorf("%s: rating_count %d, want %d", id, d.RatingCount, count)
	}
	switch {
	case count == 0 && d.AverageRating != nil:
		t.Errorf("%s: average_rating %v, want null", id, *d.AverageRating)
	case count > 0 && (d.AverageRating == nil || *d.AverageRating != average):
		t.Errorf("%s: average_rating %v, want %v", id, d.AverageRating, average)
	}
}

// TestRatingsConcurrent has many users change, retry and delete ratings of
// one title at once, and checks that the average is exactly the mean of
// each user's last accepted rating.
func TestRatingsConcurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		id := e.titles("crowd")[0]
		const users, writes = 8, 12
		tokens := make([]string, users)
		for i := range tokens {
			_, tok := e.signUp(fmt.Sprintf("crowd%d", i))
			tokens[i] = tok.AccessToken
		}

		var wg sync.WaitGroup
		for i, tok := range tokens {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(i), 7))
				for w := range writes {
					v := float64(1+rng.IntN(10)) / 2
					if w%5 == 4 {
						e.do(request{method: "DELETE", path: "/v1/me/ratings/" + id, token: tok})
						continue
					}
					// Each write is sent twice, as a client retrying after a
					// lost response would.
					for range 2 {
						resp := e.do(request{method: "PUT", path: "/v1/me/ratings/" + id, token: tok, body: map[string]any{"rating": v}})
						if resp.status != 200 && resp.status != 201 {
							t.Errorf("PUT: status %d: %s", resp.status, resp.body)
						}
					}
				}
			})
		}
		wg.Wait()

		count, sum := 0, 0.0
		for _, tok := range tokens {
			resp := e.do(request{method: "GET", path: "/v1/me/ratings/" + id, token: tok})
			if resp.status == http.StatusOK {
				var r ratingJSON
				resp.decode(t, &r)
				count++
				sum += r.Rating
			}
		}
		checkAverage(t, e, id, count, sum/float64(max(count, 1)))

		// One user sending different ratings at once: one of them is
		// current, and it is counted once.
		var same sync.WaitGroup
		for i := range 8 {
			same.Go(func() {
				e.do(request{method: "PUT", path: "/v1/me/ratings/" + id, token: tokens[0], body: map[string]any{"rating": float64(i+1) / 2}})
			})
		}
		same.Wait()
		count, sum = 0, 0
		for _, tok := range tokens {
			if resp := e.do(request{method: "GET", path: "/v1/me/ratings/" + id, token: tok}); resp.status == http.StatusOK {
				var r ratingJSON
				resp.decode(t, &r)
				count++
				sum += r.Rating
			}
		}
		checkAverage(t, e, id, count, sum/float64(max(count, 1)))
	})
}

func TestRatingBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		id := e.titles("memento")[0]
		_, tok := e.signUp("pam")
		path := "/v1/me/ratings/" + id
		tests := []struct {
			name   string
			path   string
			body   any
			status int
			field  string
		}{
			{"zero", path, `{"rating": 0}`, 400, "rating"},
			{"negative", path, `{"rating": -1}`, 400, "rating"},
			{"above five", path, `{"rating": 5.5}`, 400, "rating"},
			{"not a step of 0.5", path, `{"rating": 3.3}`, 400, "rating"},
			{"tiny fraction", path, `{"rating": 4.0000001}`, 400, "rating"},
			{"huge number", path, `{"rating": 1e400}`, 400, "rating"},
			{"string", path, `{"rating": "4"}`, 400, "rating"},
			{"null", path, `{"rating": null}`, 400, "rating"},
			{"missing", path, `{}`, 400, "rating"},
			{"unknown field", path, `{"rating": 4, "user_id": "u_other"}`, 400, "user_id"},
			{"malformed", path, `{"rating": 4`, 400, "body"},
			{"array", path, `[4]`, 400, "body"},
			{"unknown title", "/v1/me/ratings/no-such-title", `{"rating": 4}`, 404, "content_id"},
			{"SQL in the id", "/v1/me/ratings/" + url.PathEscape("x' OR '1'='1"), `{"rating": 4}`, 404, "content_id"},
			{"over-long id", "/v1/me/ratings/" + strings.Repeat("i", 300), `{"rating": 4}`, 400, "content_id"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				checkProblem(t, e.do(request{method: "PUT", path: tc.path, token: tok.AccessToken, body: tc.body}), tc.status, tc.field)
			})
		}
		// Nothing was written by any of them.
		checkAverage(t, e, id, 0, 0)
		checkProblem(t, e.do(request{method: "GET", path: path, token: tok.AccessToken}), 404, "")
		checkProblem(t, e.do(request{method: "PUT", path: path, body: `{"rating": 4}`}), 401, "")
	})
}

// TestRatingsArePrivate checks that a user cannot read or change another
// user's ratings: the routes only ever address the caller's own.
func TestRatingsArePrivate(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	id := e.titles("vertigo")[0]
	a, atok := e.signUp("quinn")
	_, btok := e.signUp("ray")
	e.call("PUT", "/v1/me/ratings/"+id, atok.AccessToken, map[string]any{"rating": 5}, 201)

	checkProblem(t, e.do(request{method: "GET", path: "/v1/me/ratings/" + id, token: btok.AccessToken}), 404, "")
	checkProblem(t, e.do(request{method: "DELETE", path: "/v1/me/ratings/" + id, token: btok.AccessToken}), 404, "")
	var page ratingPageJSON
	e.call("GET", "/v1/me/ratings", btok.AccessToken, nil, 200).decode(t, &page)
	if len(page.Items) != 0 {
		t.Errorf("another user sees %d ratings, want 0", len(page.Items))
	}
	// There is no route that names another user's ratings.
	checkProblem(t, e.do(request{method: "GET", path: "/v1/users/" + a.ID + "/ratings", token: btok.AccessToken}), 404, "")
	checkAverage(t, e, id, 1, 5)
}

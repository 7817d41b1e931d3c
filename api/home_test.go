package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/marquee/marquee/data"
)

func TestHome(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ids := e.titles("a", "b", "c", "d", "e", "f", "g")
		u, tok := e.signUp("wes")
		e.publish("run-1", []data.ListEntry{
			{Kind: data.ListUser, Key: u.ID, Items: scored(ids[0], ids[1], ids[2], ids[3])},
			{Kind: data.ListTrending, Key: "all", Items: scored(ids[4], ids[0], ids[5])},
			{Kind: data.ListSimilar, Key: ids[6], Items: scored(ids[1], ids[5], ids[2])},
		})

		e.call("POST", "/v1/me/watch-events", tok.AccessToken,
			map[string]any{"event_id": "evt-wes-0001", "content_id": ids[6], "kind": "progress", "position_sec": 60}, http.StatusCreated)

		home := func() map[string][]string {
			var h homeJSON
			e.call("GET", "/v1/me/home?limit=3", tok.AccessToken, nil, http.StatusOK).decode(t, &h)
			rows := map[string][]string{}
			for _, r := range h.Rows {
				for _, it := range r.Items {
					if it.Name == "" {
						t.Errorf("row %s: item %s has no metadata", r.ID, it.ID)
					}
					rows[r.ID] = append(rows[r.ID], it.ID)
				}
				if r.ID == rowBecause && (r.Seed == nil || r.Seed.ID != ids[6] || !strings.HasSuffix(r.Title, "g")) {
					t.Errorf("because row: seed %+v, title %q; want the watched title g", r.Seed, r.Title)
				}
			}
			return rows
		}
		rows := home()
		checkRow(t, rows, rowRecommended, ids[0], ids[1], ids[2])
		checkRow(t, rows, rowTrending, ids[4], ids[0], ids[5])
		checkRow(t, rows, rowBecause, ids[1], ids[5], ids[2])

		// A rated title leaves every row at once.
		e.call("PUT", "/v1/me/ratings/"+ids[0], tok.AccessToken, map[string]any{"rating": 2}, http.StatusCreated)
		e.call("PUT", "/v1/me/ratings/"+ids[5], tok.AccessToken, map[string]any{"rating": 5}, http.StatusCreated)
		rows = home()
		checkRow(t, rows, rowRecommended, ids[1], ids[2], ids[3])
		checkRow(t, rows, rowTrending, ids[4])
		checkRow(t, rows, rowBecause, ids[1], ids[2])

		for _, q := range []string{"limit=0", "limit=abc", "offset=3"} {
			field := strings.Split(q, "=")[0]
			checkProblem(t, e.do(request{method: "GET", path: "/v1/me/home?" + q, token: tok.AccessToken}), 400, field)
		}
		checkProblem(t, e.do(request{method: "GET", path: "/v1/me/home"}), 401, "")
	})
}

func TestHomeWithoutRun(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	_, tok := e.signUp("xan")
	resp := e.do(request{method: "GET", path: "/v1/me/home", token: tok.AccessToken})
	checkProblem(t, resp, http.StatusServiceUnavailable, "")
	if resp.header.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}
}

func checkRow(t *testing.T, rows map[string][]string, row string, want ...string) {
	t.Helper()
	if got := strings.Join(rows[row], " "); got != strings.Join(want, " ") {
		t.Errorf("row %s: %s, want %s", row, got, strings.Join(want, " "))
	}
}

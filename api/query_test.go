package api

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/marquee/marquee/data"
)

// publishThree stores three titles and publishes them as user u1's list and
// as the trending list.
func publishThree(e *env) []string {
	ids := e.titles("a", "b", "c")
	e.publish("run-1", []data.ListEntry{
		{Kind: data.ListUser, Key: "u1", Items: scored(ids...)},
		{Kind: data.ListTrending, Key: "all", Items: scored(ids...)},
	})
	return ids
}

// expectStatus sends method to path and reports an error unless the status is want.
func expectStatus(t *testing.T, e *env, method, path string, want int) response {
	t.Helper()
	resp := e.do(request{method: method, path: path})
	if resp.status != want {
		t.Errorf("%s %s: status %d, expected %d: %.200s", method, path, resp.status, want, resp.body)
	}
	return resp
}

// TestMalformedQueryRejected checks query strings that net/url cannot
// parse. Gin then finds no parameters, so the handlers used their defaults.
func TestMalformedQueryRejected(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	publishThree(e)
	for _, path := range []string{
		"/v1/trending?limit=%zz",
		"/v1/trending?limit=1;genre=Drama",
		"/v1/users/u1/recommendations?limit=%zz",
		"/v1/titles?q=%zz",
		"/v1/titles?limit=1;q=x",
	} {
		resp := expectStatus(t, e, "GET", path, http.StatusBadRequest)
		if resp.status == http.StatusBadRequest {
			checkProblem(t, resp, http.StatusBadRequest, "query")
		}
	}
}

// TestRepeatedParameterRejected checks a parameter sent twice with an
// invalid second value. Only the first value was read and checked.
func TestRepeatedParameterRejected(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	publishThree(e)
	for _, tc := range []struct{ path, field string }{
		{"/v1/trending?limit=2&limit=500", "limit"},
		{"/v1/users/u1/recommendations?limit=2&limit=-1", "limit"},
		{"/v1/titles?limit=2&limit=500", "limit"},
		{"/v1/titles?year=2000&year=abc", "year"},
		{"/v1/trending?limit=2&limit=2", "limit"},
		{"/v1/trending?cursor=a&cursor=b", "cursor"},
	} {
		resp := expectStatus(t, e, "GET", tc.path, http.StatusBadRequest)
		if resp.status == http.StatusBadRequest {
			checkProblem(t, resp, http.StatusBadRequest, tc.field)
		}
	}
	// exclude takes several values.
	expectStatus(t, e, "GET", "/v1/trending?exclude=a&exclude=b", http.StatusOK)
}

// TestUnknownParameterRejectedOnEveryRoute sends a parameter no route
// takes to every route, with a token where the route needs one. Every
// route responds with a 400 naming it.
func TestUnknownParameterRejectedOnEveryRoute(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	publishThree(e)
	_, tok := e.signUp("quinn")
	param := regexp.MustCompile(`:[A-Za-z_]+`)
	for _, r := range e.handler.(*gin.Engine).Routes() {
		path := param.ReplaceAllString(r.Path, "x") + "?bogus=1"
		var body any
		if r.Method == "POST" || r.Method == "PUT" || r.Method == "PATCH" {
			body = map[string]any{}
		}
		resp := e.do(request{method: r.Method, path: path, token: tok.AccessToken, body: body})
		if resp.status != http.StatusBadRequest {
			t.Errorf("%s %s: status %d, want 400", r.Method, path, resp.status)
			continue
		}
		if r.Method != "HEAD" {
			checkProblem(t, resp, http.StatusBadRequest, "bogus")
		}
	}
}

// TestListPathIDControlChars checks that the list routes reject control
// characters in path IDs with a 400 naming id, as GET /v1/titles/{id} does.
func TestListPathIDControlChars(t *testing.T) {
	e := newEnv(t, sqliteBackend, func(c *Config) { c.PublicUserRecommendations = true })
	publishThree(e)
	for _, path := range []string{
		"/v1/titles/%00",
		"/v1/users/%00/recommendations",
		"/v1/users/u1%0A/recommendations",
		"/v1/items/%00/similar",
		"/v1/items/bad%FF/similar",
	} {
		resp := expectStatus(t, e, "GET", path, http.StatusBadRequest)
		if resp.status != http.StatusBadRequest {
			continue
		}
		p := resp.problem(t)
		if len(p.Errors) != 1 {
			t.Errorf("GET %s: %d field errors, expected 1", path, len(p.Errors))
			continue
		}
		if p.Errors[0].Field != "id" {
			t.Errorf("GET %s: field %q, expected id", path, p.Errors[0].Field)
		}
	}
}

// TestHeadOnReadRoutes checks HEAD on GET routes. RFC 9110 requires
// general-purpose servers to support it, and load balancers probe with it.
func TestHeadOnReadRoutes(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	ids := e.titles("a")
	for _, path := range []string{"/healthz", "/v1/titles/" + ids[0], "/openapi.json", "/v1/titles"} {
		resp := expectStatus(t, e, "HEAD", path, http.StatusOK)
		if len(resp.body) != 0 {
			t.Errorf("HEAD %s: a body of %d bytes, want none", path, len(resp.body))
		}
		got := e.do(request{method: "GET", path: path})
		if ct := resp.header.Get("Content-Type"); ct != got.header.Get("Content-Type") {
			t.Errorf("HEAD %s: Content-Type %q, GET gives %q", path, ct, got.header.Get("Content-Type"))
		}
	}
	expectStatus(t, e, "HEAD", "/v1/titles/nope-"+e.tag, http.StatusNotFound)
}

// TestHeadOverHTTP checks HEAD through net/http's server: the status and
// headers of GET, no body.
func TestHeadOverHTTP(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	srv := httptest.NewServer(e.handler)
	defer srv.Close()
	req, _ := http.NewRequest("HEAD", srv.URL+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK || body.Len() != 0 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("HEAD /healthz: status %d, %d body bytes, Content-Type %q", resp.StatusCode, body.Len(), resp.Header.Get("Content-Type"))
	}
}

// TestTitleCursorRejectsForgery checks cursors that no page returned. The
// Cassandra store rejected them, but the SQLite store returned a page.
func TestTitleCursorRejectsForgery(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.titles("a", "b", "c")
		for _, cursor := range []string{"abc", "JyBPUiAxPTE", strings.Repeat("A", 40), ""} {
			resp := expectStatus(t, e, "GET", "/v1/titles?cursor="+cursor, http.StatusBadRequest)
			if resp.status == http.StatusBadRequest {
				checkProblem(t, resp, http.StatusBadRequest, "cursor")
			}
		}
	})
}

// TestEmptyCursorOnEveryListRoute checks that an empty cursor= gets the
// same 400 naming cursor on every route that pages with cursors.
func TestEmptyCursorOnEveryListRoute(t *testing.T) {
	e := newEnv(t, sqliteBackend, func(c *Config) { c.PublicUserRecommendations = true })
	ids := publishThree(e)
	_, tok := e.signUp("cy")
	for _, path := range []string{"/v1/titles", "/v1/trending", "/v1/users/u1/recommendations", "/v1/items/" + ids[0] + "/similar", "/v1/me/recommendations"} {
		checkProblem(t, e.do(request{method: "GET", path: path + "?cursor=", token: tok.AccessToken}), http.StatusBadRequest, "cursor")
	}
}

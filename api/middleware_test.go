package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/marquee/marquee/data"
)

// faultyStore makes Title block until its context ends, or panic.
type faultyStore struct {
	data.Store
	block, panics bool
}

func (s faultyStore) Title(ctx context.Context, id string) (data.Title, error) {
	if s.panics {
		panic("faulty store")
	}
	if s.block {
		<-ctx.Done()
		return data.Title{}, ctx.Err()
	}
	return s.Store.Title(ctx, id)
}

func TestRequestID(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	resp := e.do(request{method: "GET", path: "/healthz", header: map[string]string{"X-Request-Id": "abc-123"}})
	if got := resp.header.Get("X-Request-Id"); got != "abc-123" {
		t.Errorf("echoed request id %q, want abc-123", got)
	}
	for _, bad := range []string{"", "has space", strings.Repeat("x", 65), "<script>"} {
		resp := e.do(request{method: "GET", path: "/healthz", header: map[string]string{"X-Request-Id": bad}})
		if got := resp.header.Get("X-Request-Id"); got == bad || len(got) != 16 {
			t.Errorf("request id %q: got %q, want a new 16-character id", bad, got)
		}
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnv(t, sqliteBackend, func(c *Config) { c.Metrics = reg })
	ids := e.titles("m")
	e.call("GET", "/v1/titles/"+ids[0], "", nil, 200)
	e.call("GET", "/v1/titles/nope-"+e.tag, "", nil, 404)
	e.do(request{method: "GET", path: "/no/such/route/" + e.tag})
	e.do(request{method: "POST", path: "/v1/auth/login", body: map[string]string{"email": "a@b.co", "password": "x"}})

	body := string(e.call("GET", "/metrics", "", nil, 200).body)
	for _, want := range []string{
		`marquee_http_requests_total{method="GET",route="/v1/titles/:id",status="200"} 1`,
		`marquee_http_requests_total{method="GET",route="/v1/titles/:id",status="404"} 1`,
		`marquee_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`marquee_http_request_duration_seconds_bucket{method="GET",route="/v1/titles/:id",le="0.25"} 2`,
		`marquee_login_attempts_total{result="failure"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, e.tag) {
		t.Errorf("metrics hold a path of a request: series per path would grow without bound")
	}
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, sqliteBackend, func(c *Config) { c.MaxBodyBytes = 100 })
	_, tok := e.signUp("yul")
	big := `{"name": "` + strings.Repeat("n", 200) + `"}`

	checkProblem(t, e.do(request{method: "PATCH", path: "/v1/me", token: tok.AccessToken, body: big}), 413, "body")

	// Without a Content-Length the reading stops at the limit.
	req := httptest.NewRequest("PATCH", "/v1/me", io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("streamed body over the limit: status %d, want 413: %s", rec.Code, rec.Body)
	}
	var me userJSON
	e.call("GET", "/v1/me", tok.AccessToken, nil, 200).decode(t, &me)
	if me.Name != "yul" {
		t.Errorf("an oversized PATCH changed the name to %q", me.Name)
	}
}

func TestTimeout(t *testing.T) {
	e := newEnv(t, sqliteBackend, func(c *Config) {
		c.Store = faultyStore{Store: c.Store, block: true}
		c.RequestTimeout = 50 * time.Millisecond
	})
	start := time.Now()
	resp := e.do(request{method: "GET", path: "/v1/titles/x"})
	checkProblem(t, resp, http.StatusServiceUnavailable, "")
	if p := resp.problem(t); p.Type != "/problems/timeout" {
		t.Errorf("problem type %q, want /problems/timeout", p.Type)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("responded after %v, want about the 50 ms timeout", d)
	}
}

func TestPanicRecovery(t *testing.T) {
	e := newEnv(t, sqliteBackend, func(c *Config) { c.Store = faultyStore{Store: c.Store, panics: true} })
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/titles/x", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "/problems/internal") {
		t.Errorf("panic: status %d, body %s; want a 500 problem", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "faulty store") {
		t.Errorf("the panic value leaked to the client: %s", rec.Body)
	}
	e.call("GET", "/healthz", "", nil, 200)
}

func TestCORS(t *testing.T) {
	e := newEnv(t, sqliteBackend, func(c *Config) { c.CORS.AllowedOrigins = []string{"https://app.example.com"} })

	resp := e.do(request{method: "OPTIONS", path: "/v1/me/ratings/x", header: map[string]string{
		"Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "Authorization, Content-Type"}})
	if resp.status != http.StatusNoContent || resp.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(resp.header.Get("Access-Control-Allow-Methods"), "PUT") ||
		!strings.Contains(resp.header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight of an allowed origin: status %d, headers %v", resp.status, resp.header)
	}
	resp = e.do(request{method: "GET", path: "/v1/titles", header: map[string]string{"Origin": "https://app.example.com"}})
	if resp.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || !strings.Contains(resp.header.Get("Access-Control-Expose-Headers"), "X-Request-Id") {
		t.Errorf("GET from an allowed origin: headers %v", resp.header)
	}
	// Every response header the API documents is readable by the page.
	exposed := strings.Split(resp.header.Get("Access-Control-Expose-Headers"), ", ")
	for _, h := range []string{"X-Request-Id", "X-Marquee-Degraded", "Retry-After", "Location", "WWW-Authenticate"} {
		if !slices.Contains(exposed, h) {
			t.Errorf("Access-Control-Expose-Headers %q lacks %s", resp.header.Get("Access-Control-Expose-Headers"), h)
		}
	}

	resp = e.do(request{method: "OPTIONS", path: "/v1/titles", header: map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}})
	checkProblem(t, resp, http.StatusForbidden, "")
	resp = e.do(request{method: "GET", path: "/v1/titles", header: map[string]string{"Origin": "https://evil.example"}})
	if resp.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("GET from another origin got Access-Control-Allow-Origin %q", resp.header.Get("Access-Control-Allow-Origin"))
	}
}

func TestRoutingProblems(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	checkProblem(t, e.do(request{method: "GET", path: "/v2/nothing"}), http.StatusNotFound, "")
	checkProblem(t, e.do(request{method: "PATCH", path: "/v1/titles"}), http.StatusMethodNotAllowed, "")
	// A trailing slash or another case is no redirect with an HTML body,
	// but the problem of an unknown route.
	for _, path := range []string{"/v1/titles/", "/healthz/", "/V1/TITLES", "/v1//titles"} {
		// The document validator would match these paths to routes, so
		// the request skips it.
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		resp := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
		checkProblem(t, resp, http.StatusNotFound, "")
		if loc := resp.header.Get("Location"); loc != "" {
			t.Errorf("GET %s: Location %q, want no redirect", path, loc)
		}
	}
	resp := e.do(request{method: "GET", path: "/docs"})
	if resp.status != 200 || !strings.Contains(string(resp.body), "/v1/me/ratings/{content_id}") || resp.header.Get("Content-Security-Policy") == "" {
		t.Errorf("docs page: status %d, CSP %q", resp.status, resp.header.Get("Content-Security-Policy"))
	}
}

func TestConfigValidate(t *testing.T) {
	store := faultyStore{}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"short secret", Config{Store: store, Sessions: nil, Auth: AuthConfig{Secret: []byte("short")}}, "Auth.Secret is 5 bytes"},
		{"no sessions", Config{Store: store, Auth: AuthConfig{Secret: testSecret}}, "Sessions is required"},
		{"bad origin", Config{CORS: CORSConfig{AllowedOrigins: []string{"app.example.com/path"}}}, "CORS origin"},
		{"bad proxy", Config{TrustedProxies: []string{"not-an-ip"}}, "trusted proxy"},
		{"bad rate", Config{Limits: LimitConfig{PerAddress: Rate{Burst: 1, Every: -time.Second}}}, "Limits.PerAddress"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate: %v, want an error with %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), string(testSecret)) {
				t.Errorf("the error holds the secret")
			}
		})
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("Validate of the zero Config: %v", err)
	}
}

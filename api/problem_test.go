package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/serving"
)

// internalPrefixes start the texts of errors made inside Marquee and its
// libraries. None belongs in a problem body.
var internalPrefixes = []string{"serving:", "sqlite:", "cassandra:", "redis:", "data:", "json:", "http:", "read tcp"}

// internalText returns the first internal prefix that s contains, or "".
func internalText(s string) string {
	for _, p := range internalPrefixes {
		if strings.Contains(s, p) {
			return p
		}
	}
	return ""
}

// TestWriteErrorHidesInternalText passes errors of the stores and of
// serving, as a handler that did not classify them would, to writeError:
// the status stays, the detail is written for the client, and the error's
// text goes to the log.
func TestWriteErrorHidesInternalText(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		field  string
		secret string // a key of the error that the detail must not contain
	}{
		{"sqlite user", fmt.Errorf("sqlite: update user %q: %w", "u_41x", data.ErrNotFound), http.StatusNotFound, "", "u_41x"},
		{"cassandra title", fmt.Errorf("cassandra: title %q: %w", "t_9q", data.ErrNotFound), http.StatusNotFound, "", "t_9q"},
		{"redis list", fmt.Errorf("redis: list similar %q of run %q: %w", "t_8", "run-7", data.ErrNotFound), http.StatusNotFound, "", "run-7"},
		{"serving list", fmt.Errorf("serving: trending %q: %w", "NotAGenre", data.ErrNotFound), http.StatusNotFound, "", "NotAGenre"},
		{"cursor wrapped again", fmt.Errorf("serving: page of %q: %w: too long", "u_41x", serving.ErrBadCursor), http.StatusBadRequest, "cursor", "u_41x"},
	}
	gin.SetMode(gin.ReleaseMode)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logged bytes.Buffer
			rec := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(rec)
			c.Request = httptest.NewRequest("GET", "/v1/x", nil)
			c.Set(loggerKey, slog.New(slog.NewTextHandler(&logged, nil)))
			writePageOrError(c, serving.Page{}, serving.Query{}, tc.err)

			var p Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatalf("decode %s: %v", rec.Body, err)
			}
			if rec.Code != tc.status || p.Status != tc.status {
				t.Errorf("got status %d, want %d", rec.Code, tc.status)
			}
			if prefix := internalText(p.Detail); prefix != "" || strings.Contains(p.Detail, tc.secret) {
				t.Errorf("got detail %q, want one without %q or %q", p.Detail, prefix, tc.secret)
			}
			if tc.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tc.field) {
				t.Errorf("got errors %+v, want one naming %s", p.Errors, tc.field)
			}
			if tc.field == "" && !strings.Contains(logged.String(), tc.secret) {
				t.Errorf("got log %q, want the error's text", logged.String())
			}
		})
	}
}

// deletingStore deletes the account that UpdateUser is about to write, as
// a concurrent DELETE /v1/me would.
type deletingStore struct{ data.Store }

func (s deletingStore) UpdateUser(ctx context.Context, u data.User) error {
	if err := s.Store.DeleteUser(ctx, u.ID); err != nil {
		return err
	}
	return s.Store.UpdateUser(ctx, u)
}

// TestNotFoundProblems checks the responses to lookups that find nothing:
// each names the parameter at fault and what to send instead, and none
// contains the text of an internal error. An account deleted by another
// request is a 401, as when it is gone before the request starts.
func TestNotFoundProblems(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	ids := e.titles("a", "b")
	e.publish("r1", []data.ListEntry{
		{Kind: data.ListTrending, Key: "all", Items: scored(ids...)},
		{Kind: data.ListTrending, Key: data.GenreKey("Drama"), Items: scored(ids...)},
		{Kind: data.ListSimilar, Key: ids[0], Items: scored(ids[1])},
	})
	bare := newEnv(t, sqliteBackend)
	bare.publish("r1", []data.ListEntry{{Kind: data.ListSimilar, Key: "x", Items: scored("y")}})
	racing := newEnv(t, sqliteBackend, func(c *Config) { c.Store = deletingStore{c.Store} })
	_, profileToken := racing.signUp("gone")
	_, passwordToken := racing.signUp("gone2")
	password := fmt.Sprintf(`{"current_password": %q, "new_password": "another horse battery"}`, testPassword)

	tests := []struct {
		name       string
		e          *env
		method     string
		path, body string
		token      string
		status     int
		field      string // the field the problem names, or empty for none
		want       string // a part of the detail
	}{
		{"trending of an unknown genre", e, "GET", "/v1/trending?genre=NotAGenre", "", "", 404, "genre",
			`no trending list is published for "NotAGenre"`},
		{"trending of an unknown genre, detail", e, "GET", "/v1/trending?genre=Nope", "", "", 404, "genre", "genres match without regard to case"},
		{"trending of a run without one", bare, "GET", "/v1/trending", "", "", 404, "", "no trending titles are published"},
		{"similar of an unknown id", e, "GET", "/v1/items/zzz/similar", "", "", 404, "id", `no similar titles are published for "zzz"`},
		{"similar of a title without a list", e, "GET", "/v1/items/" + ids[1] + "/similar", "", "", 404, "id", "GET /v1/trending"},
		{"profile of an account deleted meanwhile", racing, "PATCH", "/v1/me", `{"name": "Late"}`, profileToken.AccessToken, 401, "",
			"no longer exists"},
		{"password of an account deleted meanwhile", racing, "POST", "/v1/auth/password", password, passwordToken.AccessToken, 401, "",
			"no longer exists"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			resp := tc.e.do(request{method: tc.method, path: tc.path, token: tc.token, body: body})
			checkProblem(t, resp, tc.status, tc.field)
			p := resp.problem(t)
			if prefix := internalText(p.Detail); prefix != "" || !strings.Contains(p.Detail, tc.want) {
				t.Errorf("got detail %q, want one with %q and without %q", p.Detail, tc.want, prefix)
			}
		})
	}
	e.call("GET", "/v1/trending?genre=Drama", "", nil, http.StatusOK)
	e.call("GET", "/v1/trending?genre=DRAMA", "", nil, http.StatusOK)
	e.call("GET", "/v1/items/"+ids[0]+"/similar", "", nil, http.StatusOK)
}

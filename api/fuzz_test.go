package api

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/marquee/marquee/data"
)

// checkDecodeError fails t unless err is a 400 or 413 problem that names a
// field.
func checkDecodeError(t *testing.T, err error) {
	t.Helper()
	var pe *problemError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v is not a problem", err)
	}
	if pe.status != http.StatusBadRequest && pe.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 400 or 413", pe.status)
	}
	if len(pe.fields) == 0 || pe.fields[0].Field == "" || pe.fields[0].Detail == "" {
		t.Fatalf("problem %+v names no field", pe)
	}
}

var fuzzSeeds = []string{
	`{"email": "a@example.com", "password": "longenough", "name": "A"}`,
	`{"event_id": "evt-00000001", "content_id": "c1", "kind": "complete", "position_sec": 10, "duration_sec": 5}`,
	`{"rating": 4.5}`, `{"rating": "4"}`, `{"rating": 1e400}`, `{"name": null}`,
	`{"id": "t1", "name": "N", "year": 1999, "genres": ["a"], "type": "movie", "duration_sec": 1, "description": "d"}`,
	`{"preferred_genres": ["Drama", "drama"]}`, `[]`, `{`, `{} {}`, `"x"`, "{\"name\": \"\xff\"}", ``,
	`{"email": "a@b.co", "extra": 1}`, `{"year": 1999.5}`, `{"":""}`,
	`{"Rating": 4}`, `{"rating": 4, "rating": 2}`, `{"genres": [{"a": 1, "a": 2}]}`,
}

// FuzzDecodeWatchEvent decodes and checks watch event bodies: no input may
// panic, every rejection is a problem naming a field, and every accepted
// event is one the store accepts.
func FuzzDecodeWatchEvent(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req watchRequest
		if err := decodeJSON(bytes.NewReader(body), 1<<10, &req); err != nil {
			checkDecodeError(t, err)
			return
		}
		if err := req.check(); err != nil {
			checkDecodeError(t, err)
			return
		}
		w := data.WatchEvent{ID: req.EventID, UserID: "u", ContentID: req.ContentID, Kind: data.WatchKind(req.Kind),
			Position: *req.PositionSec, Time: time.Now()}
		if req.DurationSec != nil {
			w.Duration = *req.DurationSec
		}
		if err := data.ValidateWatch(w); err != nil {
			t.Fatalf("accepted %q, but the store would reject it: %v", body, err)
		}
	})
}

// FuzzDecodeRating checks that only ratings the store accepts get through.
func FuzzDecodeRating(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req ratingRequest
		if err := decodeJSON(bytes.NewReader(body), 1<<10, &req); err != nil {
			checkDecodeError(t, err)
			return
		}
		if req.Rating == nil || !data.ValidRating(*req.Rating) {
			return
		}
		r := data.Rating{UserID: "u", ContentID: "c", Value: *req.Rating, Time: time.Now()}
		if err := data.ValidateRating(r); err != nil {
			t.Fatalf("accepted %q, but the store would reject it: %v", body, err)
		}
	})
}

// FuzzDecodeAccountBodies runs the decoders and checks of registration,
// profile changes and titles.
func FuzzDecodeAccountBodies(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var reg registerRequest
		if err := decodeJSON(bytes.NewReader(body), 1<<10, &reg); err != nil {
			checkDecodeError(t, err)
		} else {
			var fe fieldErrors
			fe.checkEmail("email", reg.Email)
			fe.checkPassword("password", reg.Password)
			fe.checkText("name", reg.Name, maxNameRunes)
			if err := fe.err(); err != nil {
				checkDecodeError(t, err)
			} else if strings.ContainsRune(reg.Name, 0) {
				t.Fatalf("accepted a name with a NUL: %q", reg.Name)
			}
		}

		var title titleRequest
		if err := decodeJSON(bytes.NewReader(body), 1<<10, &title); err != nil {
			checkDecodeError(t, err)
		} else if _, err := title.check(); err != nil {
			checkDecodeError(t, err)
		}

		var patch profilePatch
		if err := decodeJSON(bytes.NewReader(body), 1<<10, &patch); err != nil {
			checkDecodeError(t, err)
		}
	})
}

// FuzzTokens feeds arbitrary strings to the access token parser and the
// refresh token splitter: nothing may panic, and no forged access token may
// pass.
func FuzzTokens(f *testing.F) {
	tk := newTokens(Config{Auth: AuthConfig{Secret: testSecret}}.withDefaults().Auth, time.Now)
	good, _, err := tk.issue("u1", data.RoleUser, "s1")
	if err != nil {
		f.Fatal(err)
	}
	refresh, _ := newRefreshToken(randomID(sessionIDBytes))
	for _, s := range []string{good, refresh, "", ".", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", good + "x", refresh + "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		splitRefreshToken(s)
		// A token may differ from the issued one in encoding only, such as
		// unused bits of its last base64 character, and carry its claims.
		if c, err := tk.parse(s); err == nil && (c.Subject != "u1" || c.SessionID != "s1" || c.Role != data.RoleUser) {
			t.Fatalf("a forged token passed: %q", s)
		}
	})
}

package api

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
)

// TestDecodeStrictKeys checks that a body's keys must match the fields'
// names exactly and appear once, where encoding/json alone matches names
// without case and keeps the last of repeated keys.
func TestDecodeStrictKeys(t *testing.T) {
	tests := []struct {
		name, body, field string // field empty: accepted
	}{
		{"exact", `{"rating": 4}`, ""},
		{"other case", `{"Rating": 4}`, "Rating"},
		{"upper case", `{"RATING": 4}`, "RATING"},
		{"repeated", `{"rating": 4, "rating": 2}`, "rating"},
		{"repeated with another case", `{"rating": 4, "Rating": 2}`, "Rating"},
		{"repeated in a nested object", `{"rating": 4, "x": {"a": 1, "a": 2}}`, "x.a"},
		{"repeated in an object in an array", `{"x": [{"a": 1}, {"a": 1, "a": 1}]}`, "x[1].a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var req ratingRequest
			err := decodeJSON(strings.NewReader(tc.body), 1<<10, &req)
			if tc.field == "" {
				if err != nil {
					t.Errorf("decode %s: %v, want it accepted", tc.body, err)
				}
				return
			}
			pe, ok := err.(*problemError)
			if !ok || pe.status != http.StatusBadRequest || len(pe.fields) != 1 || pe.fields[0].Field != tc.field {
				t.Errorf("decode %s: %v, want a 400 naming %s", tc.body, err, tc.field)
			}
		})
	}

	// encoding/json matches the Kelvin sign K to k.
	var watch watchRequest
	err := decodeJSON(strings.NewReader(`{"\u212Aind": "start"}`), 1<<10, &watch)
	if pe, ok := err.(*problemError); !ok || len(pe.fields) != 1 || pe.fields[0].Field != "\u212Aind" {
		t.Errorf("decode of a key with the Kelvin sign: %v (kind %q), want a 400 naming it", err, watch.Kind)
	}

	var title titleRequest
	if err := decodeJSON(strings.NewReader(`{"name": "N", "type": "movie", "genres": ["a", "b"], "Genres": ["c"]}`), 1<<10, &title); err == nil {
		t.Error("decode of a title with genres and Genres: accepted, want a 400")
	}
	if err := decodeJSON(strings.NewReader(`{"name": "N", "type": "movie", "genres": ["a"]}`), 1<<10, &title); err != nil {
		t.Errorf("decode of a title: %v", err)
	}
}

// TestStrictKeysOverHTTP sends bodies with a key in another case and a
// repeated key to the rating route: each gets a 400 naming the key, and
// nothing is stored.
func TestStrictKeysOverHTTP(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	id := e.titles("k")[0]
	_, tok := e.signUp("kim")
	path := "/v1/me/ratings/" + id
	checkProblem(t, e.do(request{method: "PUT", path: path, token: tok.AccessToken, body: `{"Rating": 4}`}), http.StatusBadRequest, "Rating")
	checkProblem(t, e.do(request{method: "PUT", path: path, token: tok.AccessToken, body: `{"rating": 4, "rating": 2}`}), http.StatusBadRequest, "rating")
	e.call("GET", path, tok.AccessToken, nil, http.StatusNotFound)
	e.call("PUT", path, tok.AccessToken, `{"rating": 4}`, http.StatusCreated)
}

// TestDecodeReadError checks that a body that fails to read gets a 400
// naming the body, whose detail contains none of the read error's text.
func TestDecodeReadError(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"connection reset", errors.New("read tcp 127.0.0.1:8080->127.0.0.1:51234: read: connection reset by peer")},
		{"closed body", errors.New("http: invalid Read on closed Body")},
		{"stream error", errors.New("http2: stream closed")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var req ratingRequest
			err := decodeJSON(iotest.ErrReader(tc.err), 1<<10, &req)
			pe, ok := err.(*problemError)
			if !ok || pe.status != http.StatusBadRequest || len(pe.fields) != 1 || pe.fields[0].Field != "body" {
				t.Fatalf("got %v, want a 400 naming body", err)
			}
			if strings.Contains(pe.detail, tc.err.Error()) || internalText(pe.detail) != "" {
				t.Errorf("got detail %q, want one without the read error", pe.detail)
			}
		})
	}
}

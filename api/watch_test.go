package api

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestWatchEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		id := e.titles("jaws")[0]
		u, tok := e.signUp("tia")
		event := map[string]any{"event_id": "0b7c1e9e-4d1a-4f53-9a4e-7d2f5b8c9e01", "content_id": id, "kind": "progress", "position_sec": 600.5}

		var w watchJSON
		e.call("POST", "/v1/me/watch-events", tok.AccessToken, event, http.StatusCreated).decode(t, &w)
		if w.DurationSec != 5400 || w.Kind != "progress" || w.PositionSec != 600.5 {
			t.Errorf("response %+v, want the catalog's duration 5400", w)
		}
		// The same event again, as a retry: the stored event, 200, stored once.
		var again watchJSON
		e.call("POST", "/v1/me/watch-events", tok.AccessToken, event, http.StatusOK).decode(t, &again)
		if again != w {
			t.Errorf("retry returned %+v, want the first response %+v", again, w)
		}
		watches, err := e.store.Watches(t.Context(), u.ID, 0)
		if err != nil || len(watches) != 1 {
			t.Fatalf("stored %d events (%v), want 1", len(watches), err)
		}

		// Two users may use the same event id.
		_, other := e.signUp("uma")
		e.call("POST", "/v1/me/watch-events", other.AccessToken, event, http.StatusCreated)
		watches, _ = e.store.Watches(t.Context(), u.ID, 0)
		if len(watches) != 1 {
			t.Errorf("another user's event changed this user's: %d events", len(watches))
		}
	})
}

func TestWatchEventBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		id := e.titles("big")[0]
		u, tok := e.signUp("vic")
		ok := `"content_id": "` + id + `", "kind": "start", "position_sec": 0`
		tests := []struct {
			name   string
			body   string
			status int
			field  string
		}{
			{"missing event id", `{` + ok + `}`, 400, "event_id"},
			{"short event id", `{"event_id": "abc", ` + ok + `}`, 400, "event_id"},
			{"long event id", `{"event_id": "` + strings.Repeat("e", 65) + `", ` + ok + `}`, 400, "event_id"},
			{"event id with spaces", `{"event_id": "evt 0000 0001", ` + ok + `}`, 400, "event_id"},
			{"event id with unicode", `{"event_id": "évènement-0001", ` + ok + `}`, 400, "event_id"},
			{"event id with SQL", `{"event_id": "x');DROP--1", ` + ok + `}`, 400, "event_id"},
			{"missing kind", `{"event_id": "evt-00000001", "content_id": "` + id + `", "position_sec": 0}`, 400, "kind"},
			{"unknown kind", `{"event_id": "evt-00000001", "content_id": "` + id + `", "kind": "pause", "position_sec": 0}`, 400, "kind"},
			{"missing position", `{"event_id": "evt-00000001", "content_id": "` + id + `", "kind": "start"}`, 400, "position_sec"},
			{"negative position", `{"event_id": "evt-00000001", "content_id": "` + id + `", "kind": "start", "position_sec": -1}`, 400, "position_sec"},
			{"position as string", `{"event_id": "evt-00000001", "content_id": "` + id + `", "kind": "start", "position_sec": "0"}`, 400, "position_sec"},
			{"position after the end", `{"event_id": "evt-00000001", "content_id": "` + id + `", "kind": "start", "position_sec": 100, "duration_sec": 50}`, 400, "position_sec"},
			{"position after the catalog's end", `{"event_id": "evt-00000001", "content_id": "` + id + `", "kind": "start", "position_sec": 9000}`, 400, "position_sec"},
			{"huge duration", `{"event_id": "evt-00000001", "content_id": "` + id + `", "kind": "start", "position_sec": 1, "duration_sec": 1e300}`, 400, "duration_sec"},
			{"missing content", `{"event_id": "evt-00000001", "kind": "start", "position_sec": 0}`, 400, "content_id"},
			{"unknown content", `{"event_id": "evt-00000001", "content_id": "nope", "kind": "start", "position_sec": 0}`, 404, "content_id"},
			{"user id smuggled in", `{"event_id": "evt-00000001", "user_id": "u_other", ` + ok + `}`, 400, "user_id"},
			{"malformed", `{"event_id": `, 400, "body"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				checkProblem(t, e.do(request{method: "POST", path: "/v1/me/watch-events", token: tok.AccessToken, body: tc.body}), tc.status, tc.field)
			})
		}
		watches, err := e.store.Watches(t.Context(), u.ID, 0)
		if err != nil || len(watches) != 0 {
			t.Errorf("rejected events wrote %d events (%v)", len(watches), err)
		}
	})
}

// TestWatchReplayReturnsStoredEvent checks that a repeated event_id returns
// the stored event with 200, not the body of the repeated request.
func TestWatchReplayReturnsStoredEvent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ids := e.titles("first", "second")
		u, tok := e.signUp("rey")
		first := map[string]any{"event_id": "evt-replay-0001", "content_id": ids[0], "kind": "start", "position_sec": 0}
		changed := map[string]any{"event_id": "evt-replay-0001", "content_id": ids[1], "kind": "complete", "position_sec": 100}

		var original, exactReplay, changedReplay watchJSON
		e.call("POST", "/v1/me/watch-events", tok.AccessToken, first, http.StatusCreated).decode(t, &original)
		e.clock.advance(10 * time.Millisecond)
		e.call("POST", "/v1/me/watch-events", tok.AccessToken, first, http.StatusOK).decode(t, &exactReplay)
		e.call("POST", "/v1/me/watch-events", tok.AccessToken, changed, http.StatusOK).decode(t, &changedReplay)

		watches, err := e.store.Watches(t.Context(), u.ID, 0)
		if err != nil {
			t.Fatalf("Watches: %v", err)
		}
		if len(watches) != 1 {
			t.Fatalf("stored %d events, expected 1", len(watches))
		}
		stored := watchOut(watches[0])
		if original != stored {
			t.Errorf("first request returned %+v, expected the stored event %+v", original, stored)
		}
		if exactReplay != stored {
			t.Errorf("exact replay returned %+v, expected the stored event %+v", exactReplay, stored)
		}
		if changedReplay != stored {
			t.Errorf("replay with another body returned %+v, expected the stored event %+v", changedReplay, stored)
		}
	})
}

package api

import (
	"errors"
	"math"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/marquee/marquee/data"
)

type watchRequest struct {
	EventID     string   `json:"event_id"`
	ContentID   string   `json:"content_id"`
	Kind        string   `json:"kind"`
	PositionSec *float64 `json:"position_sec"`
	DurationSec *float64 `json:"duration_sec"`
}

// checkSeconds checks a number of seconds from 0 to maxSeconds.
func (fe *fieldErrors) checkSeconds(field string, v float64) {
	if math.IsNaN(v) || v < 0 || v > maxSeconds {
		fe.add(field, "must be a number of seconds from 0 to %d, got %v", maxSeconds, v)
	}
}

func (req watchRequest) check() error {
	var fe fieldErrors
	if !validEventID.MatchString(req.EventID) {
		fe.add("event_id", "must be 8 to 64 characters of letters, digits and . _ : -, starting with a letter or digit, such as a UUID; got %q", truncate(req.EventID, 80))
	}
	fe.checkID("content_id", req.ContentID)
	switch data.WatchKind(req.Kind) {
	case data.WatchStart, data.WatchProgress, data.WatchComplete:
	default:
		fe.add("kind", "must be start, progress or complete, got %q", truncate(req.Kind, 40))
	}
	if req.PositionSec == nil {
		fe.add("position_sec", "is required; send the playback position in seconds from the start")
	} else {
		fe.checkSeconds("position_sec", *req.PositionSec)
	}
	if req.DurationSec != nil {
		fe.checkSeconds("duration_sec", *req.DurationSec)
		if req.PositionSec != nil && *req.DurationSec > 0 && *req.PositionSec > *req.DurationSec {
			fe.add("position_sec", "is %v, after the end of the title at duration_sec %v", *req.PositionSec, *req.DurationSec)
		}
	}
	return fe.err()
}

// truncate cuts s to at most n bytes on a rune boundary, for echoing client
// input in problem details.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// postWatchEvent records a playback event of the caller. It is idempotent by
// event_id: an event whose ID the caller already sent changes nothing, so a
// client may retry until it gets a response. The response holds the event
// stored under the ID: 201 when this request stored it, 200 when an earlier
// one had, whose event is returned even when this body differs. The
// event's time is the server's clock at arrival. When duration_sec is
// absent, the title's duration from the catalog is used.
//
// NOTE: two first requests with one ID racing each other may both get 201
// when they arrive in the same millisecond with the same body, since the
// store then holds exactly what each sent.
func (s *Server) postWatchEvent(c *gin.Context) {
	var req watchRequest
	if err := decodeBody(c, s.cfg.MaxBodyBytes, &req); err != nil {
		writeError(c, err)
		return
	}
	if err := req.check(); err != nil {
		writeError(c, err)
		return
	}

	ctx, userID := c.Request.Context(), caller(c).userID
	stored, err := s.store.Watch(ctx, userID, req.EventID)
	if err == nil {
		// A retry may follow a response lost after the write, and
		// recording the interaction again is harmless.
		s.recordInteraction(c, userID, stored.ContentID, InteractionWatched)
		c.JSON(http.StatusOK, watchOut(stored))
		return
	}
	if !errors.Is(err, data.ErrNotFound) {
		writeError(c, err)
		return
	}
	title, err := s.store.Title(ctx, req.ContentID)
	if errors.Is(err, data.ErrNotFound) {
		err = unknownTitle("content_id")
	}
	if err != nil {
		writeError(c, err)
		return
	}
	w := data.WatchEvent{
		ID: req.EventID, UserID: userID, ContentID: req.ContentID, Kind: data.WatchKind(req.Kind),
		Position: *req.PositionSec, Duration: float64(title.DurationSec), Time: data.Normalize(s.now()),
	}
	if req.DurationSec != nil {
		w.Duration = *req.DurationSec
	}
	if w.Duration > 0 && w.Position > w.Duration {
		writeError(c, invalid("position_sec", "is after the end of the title; send a position up to its duration"))
		return
	}
	if err := s.store.AppendWatches(ctx, []data.WatchEvent{w}); err != nil {
		writeError(c, err)
		return
	}

	// Another request with the same ID may have been stored first.
	stored, err = s.store.Watch(ctx, userID, req.EventID)
	if err != nil {
		writeError(c, err)
		return
	}
	status := http.StatusCreated
	if !sameWatch(stored, w) {
		status = http.StatusOK
	}
	s.recordInteraction(c, userID, stored.ContentID, InteractionWatched)
	c.JSON(status, watchOut(stored))
}

// sameWatch reports whether a and b are the same event, times compared as
// instants.
func sameWatch(a, b data.WatchEvent) bool {
	at, bt := a.Time, b.Time
	a.Time, b.Time = time.Time{}, time.Time{}
	return a == b && at.Equal(bt)
}

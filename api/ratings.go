package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/marquee/marquee/data"
)

// InteractionKind is what a user did with a title.
type InteractionKind string

// Interaction kinds passed to an InteractionRecorder.
const (
	InteractionRated   InteractionKind = "rated"   // rated or changed a rating
	InteractionUnrated InteractionKind = "unrated" // deleted a rating
	InteractionWatched InteractionKind = "watched" // sent a watch event; see the event's kind
)

// InteractionRecorder hears of each rating and watch event after the store
// accepted it, so that serving can drop a rated title from
// recommendations at once and fold in fresh feedback. It must be safe for
// concurrent use. An error is logged and does not fail the request, since
// the write it reports is already durable.
type InteractionRecorder interface {
	RecordInteraction(ctx context.Context, userID, contentID string, kind InteractionKind) error
}

// InteractionFunc adapts a function to an InteractionRecorder.
type InteractionFunc func(ctx context.Context, userID, contentID string, kind InteractionKind) error

// RecordInteraction calls f.
func (f InteractionFunc) RecordInteraction(ctx context.Context, userID, contentID string, kind InteractionKind) error {
	return f(ctx, userID, contentID, kind)
}

// recordInteraction passes an accepted write to the recorder, if there is
// one.
func (s *Server) recordInteraction(c *gin.Context, userID, contentID string, kind InteractionKind) {
	if s.cfg.Interactions == nil {
		return
	}
	if err := s.cfg.Interactions.RecordInteraction(c.Request.Context(), userID, contentID, kind); err != nil {
		logger(c).Warn("record interaction", "user_id", userID, "kind", string(kind), "err", err, "request_id", requestID(c))
	}
}

// after returns the current time at the store's precision, or the
// millisecond after t when the clock is not past t. A new event then always
// follows the one it replaces, even within one millisecond or under clock
// skew between replicas.
func (s *Server) after(t time.Time) time.Time {
	now := data.Normalize(s.now())
	if !now.After(t) {
		return data.Normalize(t).Add(data.Precision)
	}
	return now
}

// ratingPath reads and checks the content_id path parameter.
func ratingPath(c *gin.Context) (string, error) {
	return pathID(c.Param("content_id"), "content_id")
}

func (s *Server) myRatings(c *gin.Context) {
	limit, offset, err := limitOffset(c, 20)
	if err != nil {
		writeError(c, err)
		return
	}
	ratings, err := s.store.Ratings(c.Request.Context(), caller(c).userID)
	if err != nil {
		writeError(c, err)
		return
	}
	total := len(ratings)
	page := ratings[min(offset, total):min(offset+limit, total)]
	ids := make([]string, len(page))
	for i, r := range page {
		ids[i] = r.ContentID
	}
	titles, err := s.titlesByID(c, ids)
	if err != nil {
		writeError(c, err)
		return
	}
	out := ratingPageJSON{Items: make([]ratingJSON, len(page)), Limit: limit, Offset: offset, NextOffset: nextOffset(offset, limit, total)}
	for i, r := range page {
		out.Items[i] = ratingJSON{ContentID: r.ContentID, Rating: r.Value, RatedAt: r.Time, Title: titleRef(titles, r.ContentID)}
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) myRating(c *gin.Context) {
	contentID, err := ratingPath(c)
	if err != nil {
		writeError(c, err)
		return
	}
	r, err := s.store.Rating(c.Request.Context(), caller(c).userID, contentID)
	if errors.Is(err, data.ErrNotFound) {
		err = notFound("you have not rated this title")
	}
	if err != nil {
		writeError(c, err)
		return
	}
	s.writeRating(c, http.StatusOK, r)
}

func (s *Server) writeRating(c *gin.Context, status int, r data.Rating) {
	titles, err := s.titlesByID(c, []string{r.ContentID})
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(status, ratingJSON{ContentID: r.ContentID, Rating: r.Value, RatedAt: r.Time, Title: titleRef(titles, r.ContentID)})
}

type ratingRequest struct {
	Rating *float64 `json:"rating"`
}

// putAttempts bounds the retries of a rating write that met another write
// of the same user and title in the same millisecond.
const putAttempts = 3

// putRating sets the caller's rating of a title. It is idempotent: sending
// the same rating again leaves the same current rating, and the title's
// count and average do not change. The status is 201 when no earlier
// rating of the caller was visible when the request read it, and 200
// otherwise. Its body is the rating that the store contains once the write
// is done.
//
// NOTE: the read that picks the status and the write are two steps, so
// concurrent first ratings of one title by one user may all get 201. An
// exact status needs the port's PutRatings to report whether each rating
// replaced one. SQLite could report it from its transaction, and Cassandra
// would need a lightweight transaction per rating.
func (s *Server) putRating(c *gin.Context) {
	contentID, err := ratingPath(c)
	if err != nil {
		writeError(c, err)
		return
	}
	var req ratingRequest
	if err := decodeBody(c, s.cfg.MaxBodyBytes, &req); err != nil {
		writeError(c, err)
		return
	}
	if req.Rating == nil {
		writeError(c, invalid("rating", "is required; send a number from 0.5 to 5.0 in steps of 0.5"))
		return
	}
	if !data.ValidRating(*req.Rating) {
		writeError(c, invalid("rating", fmt.Sprintf("must be from 0.5 to 5.0 in steps of 0.5, got %v", *req.Rating)))
		return
	}

	ctx, userID := c.Request.Context(), caller(c).userID
	if err := s.requireTitle(c, contentID, "content_id"); err != nil {
		writeError(c, err)
		return
	}
	prior, err := s.store.Rating(ctx, userID, contentID)
	created := errors.Is(err, data.ErrNotFound)
	if err != nil && !created {
		writeError(c, err)
		return
	}

	current, err := s.storeRating(ctx, data.Rating{UserID: userID, ContentID: contentID, Value: *req.Rating}, prior.Time)
	if err != nil {
		writeError(c, err)
		return
	}
	s.recordInteraction(c, userID, contentID, InteractionRated)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	s.writeRating(c, status, current)
}

// storeRating writes r at a time after prior and returns the current rating
// read back. Two ratings of one user and title in the same millisecond are
// one event to the store, and a deletion in the same millisecond wins over
// a rating, so when another value or a deletion holds the millisecond the
// write is retried a millisecond later. When a later write won, its rating
// is returned: it is the one the store holds.
func (s *Server) storeRating(ctx context.Context, r data.Rating, prior time.Time) (data.Rating, error) {
	r.Time = s.after(prior)
	for attempt := 1; ; attempt++ {
		if err := s.store.PutRatings(ctx, []data.Rating{r}); err != nil {
			return data.Rating{}, err
		}
		current, err := s.store.Rating(ctx, r.UserID, r.ContentID)
		if err != nil && !errors.Is(err, data.ErrNotFound) {
			return data.Rating{}, err
		}
		if err == nil && (!current.Time.Equal(data.Normalize(r.Time)) || current.Value == r.Value) {
			return current, nil
		}
		if attempt == putAttempts {
			return data.Rating{}, conflict("rating", "other changes of this rating were sent at the same time; send the rating again")
		}
		r.Time = data.Normalize(r.Time).Add(data.Precision)
	}
}

// deleteRating deletes the caller's rating of a title: 204, or 404 when
// there is none, as after a first successful delete.
func (s *Server) deleteRating(c *gin.Context) {
	contentID, err := ratingPath(c)
	if err != nil {
		writeError(c, err)
		return
	}
	ctx, userID := c.Request.Context(), caller(c).userID
	current, err := s.store.Rating(ctx, userID, contentID)
	if err == nil {
		err = s.store.DeleteRating(ctx, userID, contentID, s.after(current.Time))
	}
	if errors.Is(err, data.ErrNotFound) {
		err = notFound("you have not rated this title")
	}
	if err != nil {
		writeError(c, err)
		return
	}
	s.recordInteraction(c, userID, contentID, InteractionUnrated)
	c.Status(http.StatusNoContent)
}

// requireTitle returns a 404 naming field when the catalog has no title id.
func (s *Server) requireTitle(c *gin.Context, id, field string) error {
	_, err := s.store.Title(c.Request.Context(), id)
	if errors.Is(err, data.ErrNotFound) {
		return unknownTitle(field)
	}
	return err
}

// unknownTitle is the 404 for a title ID, in the path or the body, that the
// catalog does not have.
func unknownTitle(field string) error {
	return notFoundField(field, "no title has this id; send the id of a catalog title")
}

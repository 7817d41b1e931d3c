package api

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/marquee/marquee/data"
)

// maxCursorBytes bounds the cursor parameter; real cursors are far shorter.
const maxCursorBytes = 512

// titleQuery reads the filters and the page of GET /v1/titles.
func titleQuery(c *gin.Context) (data.TitleQuery, error) {
	q := data.TitleQuery{Genre: c.Query("genre"), Text: c.Query("q"), Cursor: c.Query("cursor"), Limit: 20}
	var fe fieldErrors
	if _, ok := c.GetQuery("genre"); ok {
		fe.checkText("genre", q.Genre, maxTagRunes)
	}
	if _, ok := c.GetQuery("q"); ok {
		fe.checkText("q", q.Text, maxQueryRunes)
	}
	if v, ok := c.GetQuery("year"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxTitleYear {
			fe.add("year", "must be an integer from 1 to %d, got %q", maxTitleYear, truncate(v, 20))
		}
		q.Year = n
	}
	if v, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPage {
			fe.add("limit", "must be an integer from 1 to %d, got %q", maxPage, truncate(v, 20))
		}
		q.Limit = n
	}
	if v, ok := c.GetQuery("cursor"); ok && v == "" {
		fe.add("cursor", "is empty; pass next_cursor of the previous page, or leave cursor out for the first page")
	} else if len(q.Cursor) > maxCursorBytes || !utf8.ValidString(q.Cursor) {
		fe.add("cursor", "is not a cursor from next_cursor; send next_cursor unchanged or leave cursor out")
	}
	return q, fe.err()
}

// listTitles returns one page of the catalog in ID order, filtered by
// genre (exact, any case), year and a substring of the name.
func (s *Server) listTitles(c *gin.Context) {
	q, err := titleQuery(c)
	if err != nil {
		writeError(c, err)
		return
	}
	page, err := s.store.ListTitles(c.Request.Context(), q)
	if errors.Is(err, data.ErrInvalid) {
		err = invalid("cursor", "is not a cursor from next_cursor; send next_cursor unchanged or leave cursor out")
	}
	if err != nil {
		writeError(c, err)
		return
	}
	out := titlePageJSON{Items: make([]titleJSON, len(page.Titles)), Limit: q.Limit}
	for i, t := range page.Titles {
		out.Items[i] = titleOut(t)
	}
	if page.Next != "" {
		out.NextCursor = &page.Next
	}
	c.JSON(http.StatusOK, out)
}

// title returns one title with its rating count and exact average.
func (s *Server) title(c *gin.Context) {
	id, err := pathID(c.Param("id"), "id")
	if err != nil {
		writeError(c, err)
		return
	}
	ctx := c.Request.Context()
	t, err := s.store.Title(ctx, id)
	if errors.Is(err, data.ErrNotFound) {
		err = unknownTitle("id")
	}
	if err != nil {
		writeError(c, err)
		return
	}
	stats, err := s.store.RatingStats(ctx, id)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, titleDetailOut(t, stats))
}

// titleRequest is the body of POST /v1/titles and PUT /v1/titles/{id}.
type titleRequest struct {
	ID          *string  `json:"id"`
	Name        string   `json:"name"`
	Year        *int     `json:"year"`
	Genres      []string `json:"genres"`
	Type        string   `json:"type"`
	DurationSec *int     `json:"duration_sec"`
	Description string   `json:"description"`
}

// check validates the body and returns the title it describes, without ID
// and times.
func (req titleRequest) check() (data.Title, error) {
	var fe fieldErrors
	fe.checkText("name", req.Name, maxTitleRunes)
	if req.Year != nil && (*req.Year < 0 || *req.Year > maxTitleYear) {
		fe.add("year", "must be an integer from 1 to %d, or 0 when unknown, got %d", maxTitleYear, *req.Year)
	}
	fe.checkList("genres", req.Genres)
	if !validTitleType.MatchString(req.Type) {
		fe.add("type", "must be a type in lower case, such as movie, series, episode or short, got %q", truncate(req.Type, 40))
	}
	if req.DurationSec != nil && (*req.DurationSec < 0 || *req.DurationSec > maxSeconds) {
		fe.add("duration_sec", "must be an integer from 0 to %d, got %d", maxSeconds, *req.DurationSec)
	}
	if n := utf8.RuneCountInString(req.Description); n > maxDescRunes {
		fe.add("description", "is %d characters long; send at most %d", n, maxDescRunes)
	} else if hasControl(req.Description, true) {
		fe.add("description", "holds a control character or invalid UTF-8; send printable text")
	}
	t := data.Title{Name: req.Name, Genres: req.Genres, Type: req.Type, Description: req.Description}
	if req.Year != nil {
		t.Year = *req.Year
	}
	if req.DurationSec != nil {
		t.DurationSec = *req.DurationSec
	}
	return t, fe.err()
}

// createTitle adds a title, under the id of the body or a new one.
//
// NOTE: the catalog port upserts, so the check that the id is free and the
// write are two steps. Two admins creating one id at once both get 201, and
// the later write stays. PUT is the idempotent way to set a known id.
func (s *Server) createTitle(c *gin.Context) {
	var req titleRequest
	if err := decodeBody(c, s.cfg.MaxBodyBytes, &req); err != nil {
		writeError(c, err)
		return
	}
	t, err := req.check()
	if err == nil && req.ID != nil && !validNewTitleID.MatchString(*req.ID) {
		err = invalid("id", "must be 1 to 64 characters of letters, digits and . _ : -, starting with a letter or digit")
	}
	if err != nil {
		writeError(c, err)
		return
	}

	ctx := c.Request.Context()
	t.ID = "t_" + randomID(9)
	if req.ID != nil {
		t.ID = *req.ID
		_, err := s.store.Title(ctx, t.ID)
		if err == nil {
			err = conflict("id", "a title has this id; PUT /v1/titles/{id} to replace it, or choose another id")
		}
		if !errors.Is(err, data.ErrNotFound) {
			writeError(c, err)
			return
		}
	}
	t.CreatedAt = data.Normalize(s.now())
	t.UpdatedAt = t.CreatedAt
	if err := s.store.PutTitles(ctx, []data.Title{t}); err != nil {
		writeError(c, err)
		return
	}
	s.invalidateTitle(c, t.ID)
	c.Header("Location", "/v1/titles/"+url.PathEscape(t.ID))
	c.JSON(http.StatusCreated, titleDetailOut(t, data.RatingStats{}))
}

// putTitle creates or replaces the title at id: 201 when it is new, 200
// when it replaced one. Sending the same body twice leaves the same title.
func (s *Server) putTitle(c *gin.Context) {
	id, err := pathID(c.Param("id"), "id")
	if err != nil {
		writeError(c, err)
		return
	}
	var req titleRequest
	if err := decodeBody(c, s.cfg.MaxBodyBytes, &req); err != nil {
		writeError(c, err)
		return
	}
	t, err := req.check()
	if err == nil && req.ID != nil && *req.ID != id {
		err = invalid("id", "differs from the id in the path; leave it out or send the same id")
	}
	if err != nil {
		writeError(c, err)
		return
	}

	ctx := c.Request.Context()
	old, err := s.store.Title(ctx, id)
	created := errors.Is(err, data.ErrNotFound)
	if err != nil && !created {
		writeError(c, err)
		return
	}
	if created && !validNewTitleID.MatchString(id) {
		writeError(c, invalid("id", "must be 1 to 64 characters of letters, digits and . _ : -, starting with a letter or digit, for a new title"))
		return
	}
	now := data.Normalize(s.now())
	t.ID, t.CreatedAt, t.UpdatedAt = id, old.CreatedAt, now
	if created {
		t.CreatedAt = now
	}
	if err := s.store.PutTitles(ctx, []data.Title{t}); err != nil {
		writeError(c, err)
		return
	}
	s.invalidateTitle(c, id)
	stats, err := s.store.RatingStats(ctx, id)
	if err != nil {
		writeError(c, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		c.Header("Location", "/v1/titles/"+url.PathEscape(id))
	}
	c.JSON(status, titleDetailOut(t, stats))
}

// deleteTitle removes a title from the catalog: 204, or 404 when there is
// none. Ratings and watch events of the title stay in the log, and the
// published lists that hold it leave it out from the next page on.
func (s *Server) deleteTitle(c *gin.Context) {
	id, err := pathID(c.Param("id"), "id")
	if err != nil {
		writeError(c, err)
		return
	}
	ctx := c.Request.Context()
	err = s.requireTitle(c, id, "id")
	if err == nil {
		err = s.store.DeleteTitle(ctx, id)
	}
	if err != nil {
		writeError(c, err)
		return
	}
	s.invalidateTitle(c, id)
	c.Status(http.StatusNoContent)
}

// invalidateTitle drops serving's copies of a title that was written or
// deleted, in this replica and through the Bus in the others, so that lists
// show its new metadata or leave it out at once. An error is logged and the
// request succeeds, because the write is durable. Replicas that miss the
// message catch up within the title TTL of serving.
func (s *Server) invalidateTitle(c *gin.Context, id string) {
	if err := s.serving.InvalidateTitle(c.Request.Context(), id); err != nil {
		logger(c).Warn("invalidate title", "content_id", id, "err", err, "request_id", requestID(c))
	}
}

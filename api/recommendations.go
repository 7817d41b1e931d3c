package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/serving"
)

// defaultLimit is the page size when the request names none.
const defaultLimit = 10

// maxIDLength bounds path ids, so a huge id is rejected before any lookup.
const maxIDLength = 256

// Bounds of the filters of the list routes.
const (
	maxExclude     = 100 // content IDs in exclude=
	maxGenreLength = 64
)

// degradedHeader marks a response served from an older copy or a fallback
// because a dependency failed or was too slow.
const degradedHeader = "X-Marquee-Degraded"

type itemJSON struct {
	ContentID string   `json:"content_id"`
	Score     float32  `json:"score"`
	Name      string   `json:"name,omitempty"`
	Year      int      `json:"year,omitempty"`
	Genres    []string `json:"genres,omitempty"`
}

type pageJSON struct {
	RunID      string     `json:"run_id"`
	Source     string     `json:"source"`
	Items      []itemJSON `json:"items"`
	Limit      int        `json:"limit"`
	Offset     int        `json:"offset"`
	NextOffset *int       `json:"next_offset"`
	NextCursor *string    `json:"next_cursor"`
	Degraded   bool       `json:"degraded,omitempty"`
}

// recommendations serves GET /v1/users/{id}/recommendations with limit,
// cursor (or offset), exclude and genre, behind userListAccess.
func (s *Server) recommendations(c *gin.Context) {
	id, q, err := pathAndPage(c)
	if err != nil {
		writeError(c, err)
		return
	}
	page, err := s.serving.Recommendations(c.Request.Context(), id, q)
	writePageOrError(c, page, q, err)
}

// myRecommendations serves GET /v1/me/recommendations: the signed-in
// caller's list, with the query parameters of the route by user ID.
func (s *Server) myRecommendations(c *gin.Context) {
	q, err := pageQuery(c)
	if err == nil {
		q.Genre, err = genreParam(c)
	}
	if err != nil {
		writeError(c, err)
		return
	}
	page, err := s.serving.Recommendations(c.Request.Context(), caller(c).userID, q)
	writePageOrError(c, page, q, err)
}

// userListAccess returns the handlers that guard a user's list by user ID.
// A user's list reveals what the user rated and watched, so by default only
// that user, signed in, or an admin may read it. The option
// PublicUserRecommendations of Config opens it for trusted internal callers
// and the demo. A server without a Store has no accounts to sign in with,
// so there the route responds with 401 to every request.
func (s *Server) userListAccess() []gin.HandlerFunc {
	switch {
	case s.cfg.PublicUserRecommendations:
		return nil
	case s.tokens == nil:
		return []gin.HandlerFunc{func(c *gin.Context) {
			writeError(c, unauthorized("this server has no accounts to sign in with: it serves users' lists only when "+
				"started with --public-user-recommendations"))
		}}
	}
	return []gin.HandlerFunc{noStore, s.authenticate, requireSelfOrAdmin}
}

// requireSelfOrAdmin lets through the user that the path's id names, and
// admins. It runs after authenticate.
func requireSelfOrAdmin(c *gin.Context) {
	if p := caller(c); p.userID != c.Param("id") && p.role != data.RoleAdmin {
		writeError(c, forbidden("you may read only your own recommendations; ask for /v1/me/recommendations"))
		return
	}
	c.Next()
}

func (s *Server) similar(c *gin.Context) {
	id, q, err := pathAndPage(c)
	if err != nil {
		writeError(c, err)
		return
	}
	page, err := s.serving.Similar(c.Request.Context(), id, q)
	if errors.Is(err, data.ErrNotFound) {
		err = withCause(notFoundField("id", fmt.Sprintf("no similar titles are published for %q; titles new to the catalog or rarely "+
			"watched have none. Send the content_id of a title from GET /v1/trending or a recommendation list", truncate(id, 64))), err)
	}
	writePageOrError(c, page, q, err)
}

func (s *Server) trending(c *gin.Context) {
	q, err := pageQuery(c)
	if err == nil {
		_, err = genreParam(c) // the genre picks the trending list; it is no filter here
	}
	if err != nil {
		writeError(c, err)
		return
	}
	genre := c.Query("genre")
	page, err := s.serving.Trending(c.Request.Context(), genre, q)
	switch {
	case errors.Is(err, data.ErrNotFound) && genre != "":
		err = withCause(notFoundField("genre", fmt.Sprintf("no trending list is published for %q; genres match without regard to case, "+
			"so check the spelling, or leave genre out: GET /v1/trending lists the titles of every genre, each with its genres", genre)), err)
	case errors.Is(err, data.ErrNotFound):
		err = withCause(notFound("no trending titles are published in the current run; retry after the next run is published"), err)
	}
	writePageOrError(c, page, q, err)
}

// pathAndPage reads the id path parameter, checked as the catalog's routes
// check IDs, and the page of a list route.
func pathAndPage(c *gin.Context) (string, serving.Query, error) {
	id, err := pathID(c.Param("id"), "id")
	if err != nil {
		return "", serving.Query{}, err
	}
	q, err := pageQuery(c)
	if err == nil {
		q.Genre, err = genreParam(c)
	}
	return id, q, err
}

// pageQuery reads limit, offset, cursor and exclude.
func pageQuery(c *gin.Context) (serving.Query, error) {
	q := serving.Query{Limit: defaultLimit}
	if v, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > serving.MaxLimit {
			return q, invalid("limit", fmt.Sprintf("must be an integer from 1 to %d, got %q", serving.MaxLimit, v))
		}
		q.Limit = n
	}
	if v, ok := c.GetQuery("offset"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return q, invalid("offset", fmt.Sprintf("must be an integer >= 0, got %q", v))
		}
		q.Offset = n
	}
	if v, ok := c.GetQuery("cursor"); ok {
		if _, hasOffset := c.GetQuery("offset"); hasOffset {
			return q, invalid("cursor", "is set together with offset; page with one of them")
		}
		if v == "" {
			return q, invalid("cursor", "is empty; pass next_cursor of the previous page, or leave cursor out for the first page")
		}
		q.Cursor = v
	}
	var err error
	q.Exclude, err = excludeParam(c)
	return q, err
}

// excludeParam reads exclude=, comma-separated content IDs, which may also
// repeat.
func excludeParam(c *gin.Context) ([]string, error) {
	var ids []string
	for _, v := range c.QueryArray("exclude") {
		for _, id := range strings.Split(v, ",") {
			switch {
			case id == "":
				continue
			case len(id) > maxIDLength || !utf8.ValidString(id):
				return nil, invalid("exclude", fmt.Sprintf("holds an id that is not 1 to %d bytes of UTF-8", maxIDLength))
			}
			ids = append(ids, id)
		}
	}
	if len(ids) > maxExclude {
		return nil, invalid("exclude", fmt.Sprintf("holds %d ids; send at most %d", len(ids), maxExclude))
	}
	return ids, nil
}

func genreParam(c *gin.Context) (string, error) {
	g := c.Query("genre")
	if len(g) > maxGenreLength || !utf8.ValidString(g) {
		return "", invalid("genre", fmt.Sprintf("must be at most %d bytes of UTF-8", maxGenreLength))
	}
	return g, nil
}

// writePageOrError writes the page, or the problem of err: a cursor that
// cannot be honoured is the client's to fix.
func writePageOrError(c *gin.Context, p serving.Page, q serving.Query, err error) {
	if errors.Is(err, serving.ErrBadCursor) {
		// serving writes the reason after the prefix of ErrBadCursor for a
		// client to read. Any text before the prefix is internal.
		reason, ok := strings.CutPrefix(err.Error(), serving.ErrBadCursor.Error()+": ")
		if !ok {
			reason = "cannot be used; send next_cursor of the previous page unchanged, or leave cursor out"
		}
		err = withCause(invalid("cursor", reason), err)
	}
	if err != nil {
		writeError(c, err)
		return
	}
	writePage(c, p, q)
}

func writePage(c *gin.Context, p serving.Page, q serving.Query) {
	out := pageJSON{RunID: p.RunID, Source: string(p.Source), Items: make([]itemJSON, len(p.Items)),
		Limit: q.Limit, Offset: q.Offset, Degraded: p.Degraded}
	if p.NextOffset > 0 {
		out.NextOffset = &p.NextOffset
	}
	if p.NextCursor != "" {
		out.NextCursor = &p.NextCursor
	}
	for i, it := range p.Items {
		out.Items[i] = itemJSON{ContentID: it.ContentID, Score: it.Score}
		if t := it.Title; t != nil {
			out.Items[i].Name, out.Items[i].Year, out.Items[i].Genres = t.Name, t.Year, t.Genres
		}
	}
	if p.Degraded {
		c.Header(degradedHeader, "true")
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", appendPage(make([]byte, 0, 256+160*len(out.Items)), out))
}

// appendPage appends the bytes that encoding/json writes for p. Pages are
// the most frequent response of the API, and this takes a third of the
// time (BenchmarkWritePage).
func appendPage(b []byte, p pageJSON) []byte {
	b = append(b, `{"run_id":`...)
	b = appendString(b, p.RunID)
	b = append(b, `,"source":`...)
	b = appendString(b, p.Source)
	b = append(b, `,"items":[`...)
	for i, it := range p.Items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendItem(b, it)
	}
	b = append(b, `],"limit":`...)
	b = strconv.AppendInt(b, int64(p.Limit), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, int64(p.Offset), 10)
	b = append(b, `,"next_offset":`...)
	if p.NextOffset != nil {
		b = strconv.AppendInt(b, int64(*p.NextOffset), 10)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"next_cursor":`...)
	if p.NextCursor != nil {
		b = appendString(b, *p.NextCursor)
	} else {
		b = append(b, "null"...)
	}
	if p.Degraded {
		b = append(b, `,"degraded":true`...)
	}
	return append(b, '}')
}

func appendItem(b []byte, it itemJSON) []byte {
	b = append(b, `{"content_id":`...)
	b = appendString(b, it.ContentID)
	b = append(b, `,"score":`...)
	b = appendFloat32(b, it.Score)
	if it.Name != "" {
		b = append(b, `,"name":`...)
		b = appendString(b, it.Name)
	}
	if it.Year != 0 {
		b = append(b, `,"year":`...)
		b = strconv.AppendInt(b, int64(it.Year), 10)
	}
	if len(it.Genres) > 0 {
		b = append(b, `,"genres":[`...)
		for i, g := range it.Genres {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, g)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendFloat32 formats f as encoding/json does. JSON has no NaN or
// infinity, which no published score is; they are written as 0.
func appendFloat32(b []byte, f float32) []byte {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return append(b, '0')
	}
	format := byte('f')
	if abs := math.Abs(float64(f)); abs != 0 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, float64(f), format, -1, 32)
	if n := len(b); format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1] // e-09 becomes e-9
		b = b[:n-1]
	}
	return b
}

// appendString appends s as a JSON string, escaped as encoding/json does:
// quotes, backslashes, control characters, <, > and &, U+2028 and U+2029,
// and invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

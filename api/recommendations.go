package api

import (
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/marquee/marquee/serving"
)

// defaultLimit is the page size when the request names none.
const defaultLimit = 10

// maxIDLength bounds path ids, so a huge id is rejected before any lookup.
const maxIDLength = 256

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
}

func (s *Server) recommendations(c *gin.Context) {
	id, q, err := pathAndPage(c)
	if err != nil {
		writeError(c, err)
		return
	}
	page, err := s.serving.Recommendations(c.Request.Context(), id, q)
	if err != nil {
		writeError(c, err)
		return
	}
	writePage(c, page, q)
}

func (s *Server) similar(c *gin.Context) {
	id, q, err := pathAndPage(c)
	if err != nil {
		writeError(c, err)
		return
	}
	page, err := s.serving.Similar(c.Request.Context(), id, q)
	if err != nil {
		writeError(c, err)
		return
	}
	writePage(c, page, q)
}

func (s *Server) trending(c *gin.Context) {
	q, err := pageQuery(c)
	if err != nil {
		writeError(c, err)
		return
	}
	page, err := s.serving.Trending(c.Request.Context(), c.Query("genre"), q)
	if err != nil {
		writeError(c, err)
		return
	}
	writePage(c, page, q)
}

func pathAndPage(c *gin.Context) (string, serving.Query, error) {
	id := c.Param("id")
	if id == "" || len(id) > maxIDLength || !utf8.ValidString(id) {
		return "", serving.Query{}, invalid("id", fmt.Sprintf("must be 1 to %d bytes of UTF-8", maxIDLength))
	}
	q, err := pageQuery(c)
	return id, q, err
}

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
	return q, nil
}

func writePage(c *gin.Context, p serving.Page, q serving.Query) {
	out := pageJSON{RunID: p.RunID, Source: string(p.Source), Items: make([]itemJSON, len(p.Items)), Limit: q.Limit, Offset: q.Offset}
	if p.NextOffset > 0 {
		out.NextOffset = &p.NextOffset
	}
	for i, it := range p.Items {
		out.Items[i] = itemJSON{ContentID: it.ContentID, Score: it.Score}
		if t := it.Title; t != nil {
			out.Items[i].Name, out.Items[i].Year, out.Items[i].Genres = t.Name, t.Year, t.Genres
		}
	}
	c.JSON(http.StatusOK, out)
}

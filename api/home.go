package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/serving"
)

// Home rows, in the order of the response.
const (
	rowRecommended = "recommended"
	rowTrending    = "trending"
	rowBecause     = "because-you-watched"
)

// maxSeeds bounds how many recently watched titles are tried, newest first,
// for the "because you watched" row when a title has no similar list.
const maxSeeds = 5

// home returns the rows of the caller's home screen: recommended for you,
// trending now, and titles similar to one the caller watched recently.
// Titles the caller rated or watched to the end appear in no row. A row
// with no title is left out. For a user the current run does not know, the
// recommended row contains trending titles, marked by its source.
func (s *Server) home(c *gin.Context) {
	limit, _, err := limitOffset(c, 10)
	if err != nil {
		writeError(c, err)
		return
	}
	ctx, userID := c.Request.Context(), caller(c).userID

	// Recommendations filter seen titles themselves; the other rows are
	// filtered here, so their lists are read a page longer than needed.
	recommended, err := s.serving.Recommendations(ctx, userID, serving.Query{Limit: limit})
	if err != nil {
		writeError(c, err)
		return
	}
	seen, recent, err := s.seen(c, userID)
	if err != nil {
		writeError(c, err)
		return
	}
	wide := serving.Query{Limit: min(serving.MaxLimit, 2*limit+len(seen))}
	trending, err := s.serving.Trending(ctx, "", wide)
	if err != nil && !errors.Is(err, data.ErrNotFound) {
		writeError(c, err)
		return
	}

	out := homeJSON{Rows: []homeRowJSON{}}
	out.addRow(rowRecommended, "Recommended for you", recommended, nil, limit)
	out.addRow(rowTrending, "Trending now", trending, seen, limit)
	for _, seed := range recent {
		similar, err := s.serving.Similar(ctx, seed, wide)
		if errors.Is(err, data.ErrNotFound) {
			continue
		}
		if err != nil {
			writeError(c, err)
			return
		}
		titles, err := s.titlesByID(c, []string{seed})
		if err != nil {
			writeError(c, err)
			return
		}
		if t := titleRef(titles, seed); t != nil {
			out.addRow(rowBecause, "Because you watched "+t.Name, similar, seen, limit)
			if last := &out.Rows[len(out.Rows)-1]; last.ID == rowBecause {
				last.Seed = t
				break
			}
		}
	}
	for _, row := range out.Rows {
		if row.Degraded {
			c.Header(degradedHeader, "true")
			break
		}
	}
	c.JSON(http.StatusOK, out)
}

// seen returns the titles the user rated or watched to the end, and up to
// maxSeeds titles the user watched most recently, newest first.
func (s *Server) seen(c *gin.Context, userID string) (map[string]bool, []string, error) {
	ctx := c.Request.Context()
	ratings, err := s.store.Ratings(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	watches, err := s.store.Watches(ctx, userID, 0)
	if err != nil {
		return nil, nil, err
	}
	seen := make(map[string]bool, len(ratings)+len(watches))
	for _, r := range ratings {
		seen[r.ContentID] = true
	}
	var recent []string
	picked := make(map[string]bool, maxSeeds)
	for _, w := range watches {
		if w.Kind == data.WatchComplete {
			seen[w.ContentID] = true
		}
		if len(recent) < maxSeeds && !picked[w.ContentID] {
			picked[w.ContentID] = true
			recent = append(recent, w.ContentID)
		}
	}
	return seen, recent, nil
}

// addRow appends a row of up to limit titles of page that are not in skip
// and are still in the catalog. A row without titles is not added.
func (h *homeJSON) addRow(id, title string, page serving.Page, skip map[string]bool, limit int) {
	row := homeRowJSON{ID: id, Title: title, Source: string(page.Source), RunID: page.RunID, Degraded: page.Degraded, Items: []homeItemJSON{}}
	for _, it := range page.Items {
		if len(row.Items) == limit {
			break
		}
		if skip[it.ContentID] || it.Title == nil {
			continue
		}
		row.Items = append(row.Items, homeItemJSON{titleJSON: titleOut(*it.Title), Score: it.Score})
	}
	if len(row.Items) > 0 {
		h.Rows = append(h.Rows, row)
	}
}

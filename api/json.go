package api

import (
	"time"

	"github.com/marquee/marquee/data"
)

// The JSON shapes of response bodies. Lists are never null, so clients can
// iterate without a check. The OpenAPI document in openapi.json describes
// each.

type userJSON struct {
	ID              string    `json:"id"`
	Email           string    `json:"email"`
	Name            string    `json:"name"`
	Role            data.Role `json:"role"`
	PreferredGenres []string  `json:"preferred_genres"`
	PreferredTypes  []string  `json:"preferred_types"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

func userOut(u data.User) userJSON {
	return userJSON{
		ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role,
		PreferredGenres: orEmpty(u.PreferredGenres), PreferredTypes: orEmpty(u.PreferredTypes),
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}
}

type titleJSON struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Year        int      `json:"year"`
	Genres      []string `json:"genres"`
	Type        string   `json:"type"`
	DurationSec int      `json:"duration_sec"`
	Description string   `json:"description"`
}

func titleOut(t data.Title) titleJSON {
	return titleJSON{
		ID: t.ID, Name: t.Name, Year: t.Year, Genres: orEmpty(t.Genres), Type: t.Type,
		DurationSec: t.DurationSec, Description: t.Description,
	}
}

// titleRef returns the title of id from byID, or nil when the catalog no
// longer has it.
func titleRef(byID map[string]data.Title, id string) *titleJSON {
	t, ok := byID[id]
	if !ok {
		return nil
	}
	out := titleOut(t)
	return &out
}

type titleDetailJSON struct {
	titleJSON
	RatingCount int `json:"rating_count"`
	// AverageRating is the sum of the current ratings over their count,
	// null when the title has none. The store keeps both exact.
	AverageRating *float64  `json:"average_rating"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

func titleDetailOut(t data.Title, stats data.RatingStats) titleDetailJSON {
	out := titleDetailJSON{titleJSON: titleOut(t), RatingCount: stats.Count, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	if stats.Count > 0 {
		mean := stats.Mean()
		out.AverageRating = &mean
	}
	return out
}

type titlePageJSON struct {
	Items      []titleJSON `json:"items"`
	Limit      int         `json:"limit"`
	NextCursor *string     `json:"next_cursor"`
}

type ratingJSON struct {
	ContentID string     `json:"content_id"`
	Rating    float64    `json:"rating"`
	RatedAt   time.Time  `json:"rated_at"`
	Title     *titleJSON `json:"title"`
}

type ratingPageJSON struct {
	Items      []ratingJSON `json:"items"`
	Limit      int          `json:"limit"`
	Offset     int          `json:"offset"`
	NextOffset *int         `json:"next_offset"`
}

type watchJSON struct {
	EventID     string         `json:"event_id"`
	ContentID   string         `json:"content_id"`
	Kind        data.WatchKind `json:"kind"`
	PositionSec float64        `json:"position_sec"`
	DurationSec float64        `json:"duration_sec"`
	WatchedAt   time.Time      `json:"watched_at"`
}

func watchOut(w data.WatchEvent) watchJSON {
	return watchJSON{
		EventID: w.ID, ContentID: w.ContentID, Kind: w.Kind,
		PositionSec: w.Position, DurationSec: w.Duration, WatchedAt: w.Time,
	}
}

type historyItemJSON struct {
	watchJSON
	// Fraction is the share of the title watched, from 0 to 1.
	Fraction float64 `json:"fraction"`
	// Rating is the user's current rating of the title, null when none.
	Rating *float64   `json:"rating"`
	Title  *titleJSON `json:"title"`
}

type historyPageJSON struct {
	Items      []historyItemJSON `json:"items"`
	Limit      int               `json:"limit"`
	Offset     int               `json:"offset"`
	NextOffset *int              `json:"next_offset"`
}

type homeItemJSON struct {
	titleJSON
	Score float32 `json:"score"`
}

type homeRowJSON struct {
	ID       string         `json:"id"`
	Title    string         `json:"title"`
	Source   string         `json:"source"`
	RunID    string         `json:"run_id"`
	Degraded bool           `json:"degraded,omitempty"`
	Seed     *titleJSON     `json:"seed,omitempty"`
	Items    []homeItemJSON `json:"items"`
}

type homeJSON struct {
	Rows []homeRowJSON `json:"rows"`
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// nextOffset returns a pointer to the offset of the next page, or nil on the
// last page.
func nextOffset(offset, limit, total int) *int {
	if offset+limit >= total {
		return nil
	}
	n := offset + limit
	return &n
}

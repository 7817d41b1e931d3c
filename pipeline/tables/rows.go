package tables

import (
	"time"

	"github.com/marquee/marquee/data"
)

// EventRow is one row of the exported event log, stored under
// events/date=YYYY-MM-DD/part-NNNNN.parquet. Columns that do not apply to the
// event type are null.
type EventRow struct {
	EventTime   int64    `parquet:"event_time,timestamp(millisecond:utc),delta"`
	UserID      string   `parquet:"user_id,dict"`
	ContentID   string   `parquet:"content_id,dict"`
	EventType   string   `parquet:"event_type,dict"`
	Rating      *float64 `parquet:"rating,optional"`
	EventID     *string  `parquet:"event_id,optional"`
	WatchKind   *string  `parquet:"watch_kind,optional,dict"`
	PositionSec *float64 `parquet:"position_sec,optional"`
	DurationSec *float64 `parquet:"duration_sec,optional"`
}

// NewEventRow converts an event to its row.
func NewEventRow(e data.Event) EventRow {
	row := EventRow{
		EventTime: e.Time.UnixMilli(),
		UserID:    e.UserID,
		ContentID: e.ContentID,
		EventType: string(e.Type),
	}
	switch e.Type {
	case data.EventRating:
		row.Rating = &e.Rating
	case data.EventWatch:
		id, kind := e.ID, string(e.WatchKind)
		pos, dur := e.Position, e.Duration
		row.EventID, row.WatchKind = &id, &kind
		row.PositionSec, row.DurationSec = &pos, &dur
	}
	return row
}

// Event converts a row back to the event it was made from.
func (r EventRow) Event() data.Event {
	e := data.Event{
		Type:      data.EventType(r.EventType),
		UserID:    r.UserID,
		ContentID: r.ContentID,
		Time:      time.UnixMilli(r.EventTime).UTC(),
	}
	if r.Rating != nil {
		e.Rating = *r.Rating
	}
	if r.EventID != nil {
		e.ID = *r.EventID
	}
	if r.WatchKind != nil {
		e.WatchKind = data.WatchKind(*r.WatchKind)
	}
	if r.PositionSec != nil {
		e.Position = *r.PositionSec
	}
	if r.DurationSec != nil {
		e.Duration = *r.DurationSec
	}
	return e
}

// InteractionRow is one user-item pair of a split: a current rating in the
// rating files, or an implicit-feedback strength in the watch files.
type InteractionRow struct {
	UserID    string  `parquet:"user_id,dict"`
	ItemID    string  `parquet:"item_id,dict"`
	Rating    float64 `parquet:"rating"`
	EventTime int64   `parquet:"event_time,timestamp(millisecond:utc)"`
}

// FactorRow is one row of a factor matrix, in the layout Spark MLlib's ALS
// writes (id, features), so factors move between engines unchanged. Bias is
// null for models without biases.
type FactorRow struct {
	ID       string    `parquet:"id"`
	Features []float32 `parquet:"features,list"`
	Bias     *float64  `parquet:"bias,optional"`
}

// NeighborRow holds an item's nearest neighbours, best first.
type NeighborRow struct {
	ItemID    string    `parquet:"item_id"`
	Neighbors []string  `parquet:"neighbors,list"`
	Scores    []float32 `parquet:"scores,list"`
}

// ScoreRow is an item with a score, for popularity and trending lists.
type ScoreRow struct {
	ItemID string  `parquet:"item_id"`
	Score  float64 `parquet:"score"`
}

// TitleRow is one title of the catalog snapshot taken with an export.
type TitleRow struct {
	ContentID   string   `parquet:"content_id"`
	Name        string   `parquet:"name"`
	Year        int32    `parquet:"year"`
	Genres      []string `parquet:"genres,list"`
	Type        string   `parquet:"type,dict"`
	DurationSec int32    `parquet:"duration_sec"`
}

// NewTitleRow converts a title to its row.
func NewTitleRow(t data.Title) TitleRow {
	return TitleRow{
		ContentID: t.ID, Name: t.Name, Year: int32(t.Year),
		Genres: t.Genres, Type: t.Type, DurationSec: int32(t.DurationSec),
	}
}

// Title converts a row back to a title.
func (r TitleRow) Title() data.Title {
	return data.Title{
		ID: r.ContentID, Name: r.Name, Year: int(r.Year),
		Genres: r.Genres, Type: r.Type, DurationSec: int(r.DurationSec),
	}
}

package data

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Role is a user's permission level.
type Role string

// Roles known to Marquee.
const (
	RoleUser  Role = "user"
	RoleAdmin Role = "admin"
)

// User is a viewer account. Email is optional (imported datasets have none),
// but when set it is unique across users, compared by [EmailKey].
type User struct {
	ID              string
	Email           string
	Name            string
	PasswordHash    string
	Role            Role
	PreferredGenres []string
	PreferredTypes  []string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// EmailKey returns the form under which stores compare e-mails: Unicode
// NFC, so that an address typed with a precomposed "é" and one typed with
// "e" and a combining accent are one address, then lower case.
func EmailKey(email string) string {
	return strings.ToLower(norm.NFC.String(email))
}

// GenreKey returns the form under which published lists are keyed by
// genre: lower case, so that "Sci-Fi" and "sci-fi" name one list.
func GenreKey(genre string) string {
	return strings.ToLower(genre)
}

// Title is an item of the catalog: a film, a series or any other content a
// viewer can watch and rate.
type Title struct {
	ID          string
	Name        string
	Year        int // 0 when unknown
	Genres      []string
	Type        string // "movie", "series", "episode", "short"...
	DurationSec int    // 0 when unknown
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Rating is a user's rating of a title at a point in time.
type Rating struct {
	UserID    string
	ContentID string
	Value     float64 // 0.5 to 5.0 in steps of 0.5
	Time      time.Time
}

// WatchKind says which moment of a viewing a watch event records.
type WatchKind string

// Watch kinds, in the order a viewing produces them.
const (
	WatchStart    WatchKind = "start"
	WatchProgress WatchKind = "progress"
	WatchComplete WatchKind = "complete"
)

// WatchEvent records playback of a title. ID is chosen by the client and makes
// the write idempotent: a second event with the same ID is ignored.
type WatchEvent struct {
	ID        string
	UserID    string
	ContentID string
	Kind      WatchKind
	Position  float64 // seconds from the start of the title
	Duration  float64 // seconds, the title's full length; 0 when unknown
	Time      time.Time
}

// Fraction returns the share of the title watched, clamped to [0, 1]. A
// complete event counts as fully watched whatever its position.
func (w WatchEvent) Fraction() float64 {
	if w.Kind == WatchComplete {
		return 1
	}
	if w.Duration <= 0 {
		return 0
	}
	return math.Max(0, math.Min(1, w.Position/w.Duration))
}

// EventType tells the kinds of [Event] apart.
type EventType string

// Event types as they appear in exports.
const (
	EventRating        EventType = "rating"
	EventRatingDeleted EventType = "rating_deleted"
	EventWatch         EventType = "watch"
)

// Event is one entry of the event log, as exported for training: a rating,
// the deletion of a rating, or a watch event. Fields that do not apply to the
// type are zero.
type Event struct {
	Type      EventType
	ID        string // watch events only
	UserID    string
	ContentID string
	Rating    float64 // rating events only
	WatchKind WatchKind
	Position  float64
	Duration  float64
	Time      time.Time
}

// RatingEvent returns r as a log entry.
func RatingEvent(r Rating) Event {
	return Event{Type: EventRating, UserID: r.UserID, ContentID: r.ContentID, Rating: r.Value, Time: r.Time}
}

// WatchEventOf returns w as a log entry.
func WatchEventOf(w WatchEvent) Event {
	return Event{
		Type: EventWatch, ID: w.ID, UserID: w.UserID, ContentID: w.ContentID,
		WatchKind: w.Kind, Position: w.Position, Duration: w.Duration, Time: w.Time,
	}
}

// RatingStats summarises the current ratings of one title.
type RatingStats struct {
	Count int
	Sum   float64
}

// Mean returns the average rating, or 0 when the title has none.
func (s RatingStats) Mean() float64 {
	if s.Count == 0 {
		return 0
	}
	return s.Sum / float64(s.Count)
}

// Window is a half-open time interval [From, To). A zero From means the
// beginning of time and a zero To means no upper bound.
type Window struct {
	From time.Time
	To   time.Time
}

// Contains reports whether t falls inside the window.
func (w Window) Contains(t time.Time) bool {
	if !w.From.IsZero() && t.Before(w.From) {
		return false
	}
	return w.To.IsZero() || t.Before(w.To)
}

// Timestamp precision kept by every store: times are truncated to whole
// milliseconds in UTC, the unit of the Parquet export.
const Precision = time.Millisecond

// Normalize returns t in UTC truncated to the precision every store keeps.
func Normalize(t time.Time) time.Time {
	return t.UTC().Truncate(Precision)
}

// ValidRating reports whether v is an allowed rating: 0.5 to 5.0 in steps of 0.5.
func ValidRating(v float64) bool {
	return v >= 0.5 && v <= 5 && math.Mod(v*2, 1) == 0
}

// ValidateRating returns an error naming the problem when r cannot be stored.
func ValidateRating(r Rating) error {
	switch {
	case r.UserID == "":
		return fmt.Errorf("%w: rating: user id is empty", ErrInvalid)
	case r.ContentID == "":
		return fmt.Errorf("%w: rating: content id is empty", ErrInvalid)
	case !ValidRating(r.Value):
		return fmt.Errorf("%w: rating: value %v is not between 0.5 and 5.0 in steps of 0.5", ErrInvalid, r.Value)
	case r.Time.IsZero():
		return fmt.Errorf("%w: rating: time is missing", ErrInvalid)
	}
	return nil
}

// ValidateText returns an error naming the field when s is not valid UTF-8
// or contains a control character. The API rejects such IDs and names, so
// importers reject them too, before they reach a page.
func ValidateText(field, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s %q is not valid UTF-8", field, strings.ToValidUTF8(s, "\uFFFD"))
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		return fmt.Errorf("%s %q contains a control character", field, s)
	}
	return nil
}

// ValidateWatch returns an error naming the problem when w cannot be stored.
func ValidateWatch(w WatchEvent) error {
	switch {
	case w.ID == "":
		return fmt.Errorf("%w: watch event: id is empty", ErrInvalid)
	case w.UserID == "":
		return fmt.Errorf("%w: watch event: user id is empty", ErrInvalid)
	case w.ContentID == "":
		return fmt.Errorf("%w: watch event: content id is empty", ErrInvalid)
	case w.Kind != WatchStart && w.Kind != WatchProgress && w.Kind != WatchComplete:
		return fmt.Errorf("%w: watch event: kind %q is not start, progress or complete", ErrInvalid, w.Kind)
	case w.Position < 0 || math.IsNaN(w.Position) || math.IsInf(w.Position, 0):
		return fmt.Errorf("%w: watch event: position %v is not a finite number of seconds >= 0", ErrInvalid, w.Position)
	case w.Duration < 0 || math.IsNaN(w.Duration) || math.IsInf(w.Duration, 0):
		return fmt.Errorf("%w: watch event: duration %v is not a finite number of seconds >= 0", ErrInvalid, w.Duration)
	case w.Time.IsZero():
		return fmt.Errorf("%w: watch event: time is missing", ErrInvalid)
	}
	return nil
}

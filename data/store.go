package data

import (
	"context"
	"errors"
	"time"
)

// Errors returned by every store. Adapters wrap them with context, so callers
// test with errors.Is.
var (
	// ErrNotFound means the requested record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the write would break a uniqueness rule, such as a
	// second account with the same e-mail. Nothing was written.
	ErrConflict = errors.New("conflict")
	// ErrInvalid means the record failed validation. Nothing was written.
	ErrInvalid = errors.New("invalid")
	// ErrUnavailable means the backing service could not be reached or timed
	// out. The write may or may not have been applied, unless the method
	// documents that it is idempotent, in which case retrying is safe.
	ErrUnavailable = errors.New("store unavailable")
)

// Users stores viewer accounts.
type Users interface {
	// CreateUser stores a new user. It returns ErrConflict when the ID or the
	// e-mail is already taken, and then writes nothing.
	CreateUser(ctx context.Context, u User) error

	// User returns the user with the given ID, or ErrNotFound.
	User(ctx context.Context, id string) (User, error)

	// UserByEmail returns the user whose e-mail has the same EmailKey as
	// email, or ErrNotFound.
	UserByEmail(ctx context.Context, email string) (User, error)

	// UpdateUser replaces a stored user. It returns ErrNotFound for an unknown
	// ID and ErrConflict when the new e-mail belongs to another user.
	UpdateUser(ctx context.Context, u User) error

	// DeleteUser removes a user and frees its e-mail. It is idempotent:
	// deleting an unknown user returns nil.
	DeleteUser(ctx context.Context, id string) error

	// PutUsers upserts users by ID, for bulk import. It is idempotent. Users
	// with an e-mail that another user already holds are rejected with
	// ErrConflict before anything is written.
	PutUsers(ctx context.Context, users []User) error
}

// TitleQuery selects titles from the catalog. Zero fields do not filter.
type TitleQuery struct {
	Genre  string // exact genre, case-insensitive
	Year   int
	Text   string // case-insensitive substring of the name
	Limit  int    // page size; 0 means 50
	Cursor string // opaque, from TitlePage.Next; empty for the first page
}

// TitlePage is one page of titles in ID order. Next is empty on the last page.
type TitlePage struct {
	Titles []Title
	Next   string
}

// Catalog stores the titles viewers can watch.
type Catalog interface {
	// PutTitles upserts titles by ID. It is idempotent.
	PutTitles(ctx context.Context, titles []Title) error

	// Title returns one title, or ErrNotFound.
	Title(ctx context.Context, id string) (Title, error)

	// Titles returns the titles with the given IDs in the order asked for,
	// leaving out IDs that do not exist.
	Titles(ctx context.Context, ids []string) ([]Title, error)

	// ListTitles returns one page of titles matching q, ordered by ID.
	ListTitles(ctx context.Context, q TitleQuery) (TitlePage, error)

	// DeleteTitle removes a title. It is idempotent.
	DeleteTitle(ctx context.Context, id string) error
}

// Events stores rating and watch events, both time series keyed by user.
//
// Ratings follow "latest wins": a user's current rating of a title is the one
// with the newest time, and a deletion is recorded as an event of its own, so
// the log keeps every change. Two rating events of one user for one title at
// the same millisecond are the same event: writing it again changes nothing.
// A rating and a deletion at the same millisecond are two events, and the
// deletion wins.
type Events interface {
	// PutRatings records rating events. For each, the current rating of the
	// title changes only when the event is newer than it (or than the last
	// deletion). It is idempotent, so retries and re-imports are safe.
	PutRatings(ctx context.Context, ratings []Rating) error

	// DeleteRating records the deletion of the user's current rating of a
	// title at time t. It returns ErrNotFound when there is no current rating.
	// A deletion older than the current rating is recorded but leaves that
	// rating current, since the latest event wins.
	DeleteRating(ctx context.Context, userID, contentID string, t time.Time) error

	// Rating returns the user's current rating of a title, or ErrNotFound.
	Rating(ctx context.Context, userID, contentID string) (Rating, error)

	// Ratings returns the user's current ratings, newest first.
	Ratings(ctx context.Context, userID string) ([]Rating, error)

	// RatingStats returns the count and sum of the current ratings of a title.
	// It is exact: every accepted change and deletion is reflected.
	RatingStats(ctx context.Context, contentID string) (RatingStats, error)

	// AppendWatches records watch events. It is idempotent by event ID: an
	// event whose ID is already stored for that user is ignored.
	AppendWatches(ctx context.Context, events []WatchEvent) error

	// Watches returns the user's watch events, newest first, at most limit of
	// them (all when limit <= 0).
	Watches(ctx context.Context, userID string, limit int) ([]WatchEvent, error)

	// Watch returns the user's stored watch event with the given ID, or
	// ErrNotFound. After AppendWatches it is the event that the store kept
	// for that ID, which may be an earlier event than the one just sent.
	Watch(ctx context.Context, userID, eventID string) (WatchEvent, error)

	// ScanEvents calls fn for every rating, rating deletion and watch event
	// whose time falls in w, in no particular order, and never from two
	// goroutines at once. It stops at the first error fn returns and
	// returns it.
	ScanEvents(ctx context.Context, w Window, fn func(Event) error) error
}

// Store is the whole storage port: the one value an adapter provides.
type Store interface {
	Users
	Catalog
	Events

	// Close releases the store's resources. Calls after Close fail.
	Close() error
}

// ScanPartition is one independent slice of the event log, named by a key
// that is stable across calls for the same window, such as a day and bucket
// or a token range.
type ScanPartition struct {
	Key string
}

// PartitionedScanner is implemented by stores that can split a scan of the
// event log into partitions read independently and in parallel. The export
// uses it to read with bounded concurrency and to resume after a failure
// without reading finished partitions again.
type PartitionedScanner interface {
	// ScanPartitions returns partitions that together hold every event in w,
	// each event in exactly one of them.
	ScanPartitions(ctx context.Context, w Window) ([]ScanPartition, error)

	// ScanPartition calls fn for every event of partition p whose time falls
	// in w, never from two goroutines at once. A failed call may be retried:
	// it has no effect on the store.
	ScanPartition(ctx context.Context, p ScanPartition, w Window, fn func(Event) error) error
}

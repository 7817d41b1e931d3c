// Package sqlite is Marquee's embedded storage, the single-machine default:
// [Store] implements data.Store and [Lists] implements data.Lists, both in
// SQLite database files through modernc.org/sqlite, a pure Go driver, so
// nothing needs cgo or a server. Store also implements data.Sessions and
// data.EventEraser, for the accounts of the HTTP API.
//
// Both types are safe for concurrent use by many goroutines, and several
// processes may open the same file. Each handle writes through a single
// connection, and every write transaction takes the database write lock when
// it begins (BEGIN IMMEDIATE). A writer that finds the lock held by another
// process waits up to the busy timeout, then retries the whole transaction a
// few times before it returns an error wrapping data.ErrUnavailable. Writes are
// committed to the write-ahead log with synchronous=FULL, so a write that
// returns nil survives a crash of the process or of the machine, on a disk
// that honours fsync, and is seen by every later read from any handle. Reads use a separate pool of read-only
// connections and are not blocked by writers.
//
// Cancelling the context of a call interrupts its running SQL statement, and
// a write transaction cut short this way is rolled back whole.
//
// [Open] and [OpenLists] create or upgrade their schema in one transaction
// and record its version in the schema_version table, one row per schema, so
// running them twice is safe and a store and a list store may share one file.
//
// Errors wrap the data sentinels: data.ErrNotFound for a missing record,
// data.ErrConflict for a broken uniqueness rule, data.ErrInvalid for a record
// that fails validation, and in those cases nothing was written. Lookups that
// return a collection return an empty one for an unknown key: Ratings and
// Watches of an unknown user, Titles of unknown IDs, and RatingStats of an
// unrated title, which is zero.
package sqlite

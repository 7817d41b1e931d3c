// Package serving serves recommendation lookups online: a user's list from
// the current published run, similar titles, trending titles, and the
// fallbacks for users the run does not know.
//
// # Consistency
//
// Every response first reads the current run ID and then only lists of that
// run, so a page never mixes two runs, and a page that follows a cursor
// reads the run the cursor names, so pages repeat and skip no title even
// when a run is published between them. A cursor into a run that is no
// longer current and that the list store no longer holds is rejected with
// ErrBadCursor, by every replica alike. Titles that the catalog no longer
// has are left out of every page, which stays full.
//
// # Freshness
//
// Titles a user rated or watched to the end are left out at read time:
// those before the run was trained are missing from the run's lists
// already, and newer ones come from the History, which the API's write
// routes feed through RecordInteraction. A user whose ratings are newer
// than the run, or whom the run does not know, gets a list folded in from
// the run's published item factors (package models/foldin) within
// Config.FoldInTimeout. A user with no history gets the trending titles of
// the genres they prefer.
//
// # Caching and degraded responses
//
// The current run ID, lists, users' histories and preferences, titles and
// folded-in lists are cached in process with a TTL and bounded memory. A
// Bus (Redis pub/sub) drops them across replicas when a run is published, a
// user rates or watches something, or a title of the catalog changes.
// RecordInteraction and InvalidateTitle drop the entries in their own
// process before they return.
//
// Every read of a dependency has a timeout (Config.Timeout, 50 ms by
// default). A read that fails or times out is served from the last good
// copy, however old, or from the last good trending list, and the page is
// marked Degraded. A dependency that keeps failing is skipped for a second
// at a time, and responses become fresh again once it recovers. A list
// store that comes back without the current run, as a Redis without
// persistence does after a restart, counts as failing until a run is
// published again. Only a process that never read anything returns an
// error, which wraps data.ErrUnavailable.
//
// A Service is safe for concurrent use. The serving path imports neither
// gonum nor parquet.
package serving

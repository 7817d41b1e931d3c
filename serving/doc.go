// Package serving answers recommendation lookups online: a user's top-N
// list from the current published run, similar titles, trending titles, and
// the fallbacks for users the run does not know.
//
// Every lookup first reads the current run ID and then only lists of that
// run, so an answer never mixes two runs. Titles the user rated or watched
// to the end are filtered out at read time, including those newer than the
// run. A Service is safe for concurrent use.
package serving

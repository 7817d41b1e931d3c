// Package cassandra is Marquee's production storage: [Store] implements
// data.Store and data.PartitionedScanner on Apache Cassandra (4.0 or
// later) through the gocql driver. It also implements data.Sessions, the
// sign-in sessions of the HTTP API, with a lightweight transaction for
// every session write, and data.EventEraser, for deleted accounts.
//
// # Setup
//
// [ParseURL] reads a configuration such as
// cassandra://10.0.0.1,10.0.0.2:9042/marquee?consistency=LOCAL_QUORUM.
// [Open] connects, retrying while the cluster starts. [Store.Migrate]
// creates the keyspace and applies the embedded schema migrations, and is
// safe to run twice and from several processes at once. A Store is safe
// for concurrent use until Close.
//
// # Tables
//
// Tables are designed per query:
//   - users by ID, and e-mail claims by lower-cased e-mail;
//   - titles by ID, and again in 16 hash buckets clustered by ID, which
//     ListTitles merges into exact ID order;
//   - current ratings by user and by title;
//   - rating history and watch events by user;
//   - the event log by UTC day and bucket (a hash of the user ID modulo
//     Config.Buckets), with a small table of the days that contain events,
//     so that an export of a time window reads only the partitions of that
//     window.
//
// # Consistency and durability
//
// Reads and writes use Config.Consistency (LOCAL_QUORUM by default), so
// with a replication factor of three a write that returned nil is on two
// replicas of the local data center and every later read sees it.
// Lightweight transactions, used for the e-mail claims, the account rows
// of CreateUser, UpdateUser and DeleteUser, and the migration lock, use
// Config.SerialConsistency (LOCAL_SERIAL by default). PutUsers writes
// account rows without one, so a PutUsers that races with UpdateUser on
// the same user may leave either version.
//
// # Latest wins without reads
//
// Rating events are written with USING TIMESTAMP set to the event time in
// microseconds, and deletions one microsecond later. Cassandra keeps the
// cell with the greatest write timestamp, so the current rating is the
// newest event whatever the order in which events arrive, with no
// lightweight transaction and no read of the current rating. Because of
// this, rows of the rating tables must never be deleted with the server's
// clock: such a tombstone would hide every older event time for good.
//
// # Idempotence and retries
//
// PutRatings, AppendWatches, PutTitles, PutUsers, DeleteRating and
// DeleteTitle are idempotent: calling one again after an error, or twice,
// leaves the same state. A second DeleteRating of the same rating returns
// data.ErrNotFound, as the rating is no longer current.
//
// Their statements are marked idempotent, and the driver retries them after
// a timeout, an unavailable or overloaded replica or a broken connection,
// on the next host, up to Config.Retries times with exponential backoff
// between Config.RetryMin and Config.RetryMax. Lightweight transactions are
// not marked idempotent, so the driver does not retry them, and an error
// that leaves their outcome unknown is returned wrapping
// data.ErrUnavailable.
//
// Bulk calls keep up to Config.Concurrency writes in flight, as unlogged
// batches of statements that share a partition key and as single
// statements otherwise. A failed bulk call may have written part of its
// records, and is safe to repeat.
//
// # Errors
//
// Errors wrap the data sentinels: data.ErrNotFound for a missing record,
// data.ErrConflict for a taken ID or e-mail, data.ErrInvalid for a record
// that fails validation (nothing is then written), and data.ErrUnavailable
// for timeouts, unavailable replicas and unreachable hosts, with the
// driver's error kept in the chain. Collections of an unknown key are
// empty, not an error.
//
// # Cancellation
//
// Every method takes a context. Cancelling it abandons the requests in
// flight, whose writes may or may not have been applied.
package cassandra

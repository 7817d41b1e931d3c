package data

import (
	"context"
	"time"
)

// ScoredItem is one entry of a published list.
type ScoredItem struct {
	ID    string
	Score float32
}

// ListKind names the three families of published lists.
type ListKind string

// Published list kinds. A user list is keyed by user ID, a similar list by
// content ID and a trending list by its name ("all" or a genre).
const (
	ListUser     ListKind = "user"
	ListSimilar  ListKind = "similar"
	ListTrending ListKind = "trending"
)

// ListEntry is one list of a run, as written by the publish stage.
type ListEntry struct {
	Kind  ListKind
	Key   string
	Items []ScoredItem
}

// PublishedRun describes a run held by a list store.
type PublishedRun struct {
	ID          string
	PublishedAt time.Time
	Lists       int  // number of lists written
	Complete    bool // every list was written and the run can be made current
}

// RunWriter writes the lists of one run. Nothing it writes is visible to
// readers until Commit switches the store's pointer to the run. It is not
// safe for concurrent use.
type RunWriter interface {
	// Put writes lists. It is idempotent, so a resumed publish may rewrite
	// lists it already wrote.
	Put(ctx context.Context, lists []ListEntry) error

	// PutArtifact writes an opaque artifact of the run under a name, such
	// as the item factors that serving folds new users in with. Like a
	// list, it stays hidden until Commit, and writing a name again replaces
	// the artifact.
	PutArtifact(ctx context.Context, name string, b []byte) error

	// Commit marks the run complete and makes it current in one atomic step.
	Commit(ctx context.Context) error

	// Abort deletes the incomplete run and its lists, including those an
	// earlier writer of a resumed run wrote. The current run is unchanged.
	Abort(ctx context.Context) error
}

// FencedCommitter is implemented by the RunWriters of list stores that
// also hold the scheduler's lock, such as Redis. The lock issues an
// increasing fencing token with every lease. A commit that names a token
// older than the newest one issued comes from a holder whose lease expired
// while another holder took over, so switching the pointer then could
// undo the newer holder's work.
type FencedCommitter interface {
	// CommitFenced is Commit, done only while token is the newest fencing
	// token of the lock, checked in the same atomic step as the switch of
	// the pointer. It returns an error wrapping ErrConflict, and commits
	// nothing, when a newer token was issued.
	CommitFenced(ctx context.Context, token int64) error
}

// Lists stores published recommendation lists, versioned by run ID. Readers
// name the run they read, so a lookup that first reads Current and then its
// lists never mixes two runs.
type Lists interface {
	// NewRun starts writing the run with the given ID. Writing an incomplete
	// run that already exists resumes it. A complete run never changes, so
	// NewRun returns ErrConflict for one.
	NewRun(ctx context.Context, runID string) (RunWriter, error)

	// Current returns the ID of the run readers see, or ErrNotFound before
	// the first commit.
	Current(ctx context.Context) (string, error)

	// List returns one list of a run, or ErrNotFound when the run has no list
	// under that kind and key.
	List(ctx context.Context, runID string, kind ListKind, key string) ([]ScoredItem, error)

	// Artifact returns an artifact of a complete run, or ErrNotFound when
	// the run is unknown or incomplete or has no artifact of that name.
	Artifact(ctx context.Context, runID, name string) ([]byte, error)

	// Activate makes an earlier complete run current, for rollback. It
	// returns ErrNotFound for an unknown or incomplete run.
	Activate(ctx context.Context, runID string) error

	// Runs returns the runs held, newest first.
	Runs(ctx context.Context) ([]PublishedRun, error)

	// DeleteRun removes a run's lists and artifacts. It returns ErrConflict
	// for the current run and nil for an unknown one.
	DeleteRun(ctx context.Context, runID string) error

	// Close releases the store's resources.
	Close() error
}

// Package pipeline is Marquee's batch side. It holds the stages of a run
// (export, split, train, evaluate, the quality gate, publish, and tune on
// its own) and the manifest that records each run. It also holds the run
// registry, and the scheduler that retrains unattended under a lock that
// its replicas share.
//
// A run lives in a directory of a Workspace, WORKDIR/runs/<run-id>, whose
// manifest.json is rewritten after every stage. [Runner] runs stages and
// records them; [Scheduler] runs them all at the times of a cron schedule,
// under a [Lock], and publishes a run only when the gate passes it.
// [Registry] merges the workspace's runs with the published runs of a
// data.Lists, derives each run's status from those two records, and
// promotes, deletes and recovers runs.
//
// Stages read and write files of their run only, and publish switches the
// list store's pointer in one atomic step after every list is written, so
// a run killed at any stage leaves the current run as it was. A Runner and
// a Scheduler are not safe for concurrent use; Registry is, as far as its
// list store is.
package pipeline

// Package redis is Marquee's production list cache: [Lists] implements
// data.Lists on Redis through github.com/redis/go-redis/v9, and the same
// connection serves the per-user history of recent interactions ([History])
// and the channel on which API replicas invalidate their caches ([Bus]).
//
// # Keys
//
// Every key starts with a prefix, "mq" by default, so that several
// deployments or tests can share one Redis. The registry of runs lives under
// the hash tag {runs}, so that on Redis Cluster all of it sits in one slot
// and the scripts that change it are atomic:
//
//	mq:{runs}:current        string: ID of the run readers see
//	mq:{runs}:run:<run-id>   hash: state, gen, buckets, created, published, seq, lists
//	mq:{runs}:index          set: IDs of the runs held
//	mq:{runs}:seq            counter: generation and commit order
//	mq:{runs}:trash          set: "<gen>:<buckets>" of runs whose keys are being deleted
//	mq:{runs}:lock           string: the scheduler lock holder's random token, with a TTL (Lock)
//	mq:{runs}:fence          counter: the newest fencing token of the scheduler lock
//	mq:{runs}:tick           string: the last scheduled time (Unix ms) the lock was taken for
//
// The lists of a run are keyed by its generation, a number that NewRun draws
// from the counter. They are spread over a fixed number of hash buckets per
// kind, so that a run's keys can be listed without SCAN and spread over
// every slot of a cluster:
//
//	mq:l:<gen>:<u|s|t>:<bucket>  hash: list key -> list blob (package listblob)
//	mq:a:<gen>                   hash: artifact name -> bytes
//	mq:h:<user-id>               hash: the user's recent interactions (History)
//	mq:events                    pub/sub channel (Bus)
//
// NOTE: a list spells out its title IDs, 1.4 KB for 100 titles with 9-byte
// IDs, so a run of a million users takes about 1.5 GB. In a trial, keeping
// each ID once per run and lists as indexes into it halved that and cut
// Redis's CPU time per list by about a third. The publisher's lookups cost
// more CPU than Redis saved, though, on a 2-core machine that ran both, so
// the lists written per second fell and the format stayed.
//
// A run's data keys are written before the run is complete and are read only
// through a complete run's registry entry, so a reader never sees a run that
// is being written. Commit marks the run complete and sets the current
// pointer in one script, then publishes "run <run-id>" on the channel;
// Activate does the same for rollback.
//
// # The scheduler's lock
//
// [Lock] is the lock that scheduler replicas share, so that two runs never
// overlap and each scheduled time runs once. A lease expires unless its
// holder renews it, so a dead holder blocks the next run for one TTL at
// most. Every lease carries a fencing token, which the fenced commit of a
// run checks in the script that switches the pointer, so a holder whose
// lease ran out while it was paused cannot publish over a newer one.
//
// # Retention
//
// After each Commit, Lists deletes in the background every complete run
// except the newest Keep and the current one, and incomplete runs started
// more than a day earlier, whose writer is taken to have crashed. Deleting a
// run first removes its registry entry, atomically refusing the current run,
// then unlinks its data keys, which Redis frees in a background thread. A
// deletion cut short is finished by the next pruning, from the trash set.
//
// # Errors and concurrency
//
// Lists, History and Bus are safe for concurrent use; a RunWriter is not.
// Errors wrap the data sentinels: data.ErrNotFound for a missing run, list
// or artifact, data.ErrConflict for a complete run that cannot change or the
// current run that cannot be deleted, data.ErrInvalid for bad input, and
// data.ErrUnavailable when Redis cannot be reached or does not answer in
// time. Every call honours its context's deadline.
package redis

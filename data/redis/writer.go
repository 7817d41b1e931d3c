package redis

import (
	"context"
	"fmt"
	"strconv"

	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/data/internal/listblob"
)

// runWriter is the data.RunWriter of Lists. It is not safe for concurrent
// use.
type runWriter struct {
	lists *Lists
	runID string
	info  runInfo
	done  bool     // set by Commit and Abort
	bufs  [][]byte // encoding buffers of Put, one per pipeline, reused
}

var _ data.FencedCommitter = (*runWriter)(nil)

// addListsScript adds to the list count of a run that is still being
// written by the given generation.
// KEYS: run. ARGV: gen, number of new lists.
var addListsScript = goredis.NewScript(`
local st = redis.call('HMGET', KEYS[1], 'state', 'gen')
if st[1] ~= 'writing' or st[2] ~= ARGV[1] then return 0 end
redis.call('HINCRBY', KEYS[1], 'lists', ARGV[2])
return 1
`)

// Put writes lists, replacing any list of the run under the same kind and
// key. It encodes and sends the lists in pipelines over several
// connections at once, grouped by bucket. It returns an error wrapping
// ErrInvalid, and writes nothing, when an entry has an unknown kind or an
// empty key, ErrConflict when the run was committed meanwhile and
// ErrNotFound when it was deleted.
func (w *runWriter) Put(ctx context.Context, lists []data.ListEntry) error {
	op := fmt.Sprintf("put lists of run %s", quote(w.runID))
	if err := w.check(ctx); err != nil {
		return wrap(op, err)
	}
	for i, e := range lists {
		if err := validateListEntry(e); err != nil {
			return wrap(op, fmt.Errorf("list %d: %w", i, err))
		}
	}

	added, err := w.write(ctx, lists)
	if err == nil && added > 0 {
		err = addListsScript.Run(ctx, w.lists.rdb, []string{w.lists.keys.run(w.runID)}, w.info.gen, added).Err()
	}
	return wrap(op, err)
}

// write encodes and sends lists in up to cfg.writers concurrent pipelines,
// each for the lists of its own buckets, so that encoding runs in parallel
// with sending. It returns the number of lists that were new to the run.
func (w *runWriter) write(ctx context.Context, lists []data.ListEntry) (int64, error) {
	n := max(1, min(w.lists.cfg.writers, len(lists)/64))
	for len(w.bufs) < n {
		w.bufs = append(w.bufs, nil)
	}
	buckets := make([]int, len(lists))
	for i, e := range lists {
		buckets[i] = bucketOf(e.Key, w.info.buckets)
	}

	counts := make([]int64, n)
	g, gctx := errgroup.WithContext(ctx)
	for part := range n {
		g.Go(func() error {
			groups := w.groups(part, n, lists, buckets)
			var err error
			counts[part], err = w.send(gctx, groups)
			return err
		})
	}
	err := g.Wait()
	var added int64
	for _, c := range counts {
		added += c
	}
	return added, err
}

// hset is one HSET of a bucket: the bucket's key, then field and value
// pairs.
type hset []any

// groups encodes the lists of the buckets that fall to part into the part's
// buffer and groups them into one HSET per bucket. A list written twice in
// one call keeps its last version.
func (w *runWriter) groups(part, parts int, lists []data.ListEntry, buckets []int) []hset {
	size := 0
	for i, e := range lists {
		if buckets[i]%parts == part {
			size += listblob.Size(e.Items)
		}
	}
	buf := w.bufs[part][:0]
	if cap(buf) < size {
		buf = make([]byte, 0, size)
	}
	type bucket struct {
		kind data.ListKind
		b    int
	}
	byBucket := map[bucket]int{}
	var groups []hset
	for i, e := range lists {
		if buckets[i]%parts != part {
			continue
		}
		start := len(buf)
		buf = listblob.Append(buf, e.Items)
		k := bucket{e.Kind, buckets[i]}
		g, ok := byBucket[k]
		if !ok {
			g = len(groups)
			byBucket[k] = g
			groups = append(groups, hset{w.lists.keys.bucketAt(w.info.gen, kindCode(e.Kind), buckets[i])})
		}
		groups[g] = append(groups[g], e.Key, buf[start:len(buf):len(buf)])
	}
	// The buffer is reused by the next Put, once the pipeline has sent it.
	w.bufs[part] = buf
	return groups
}

// send writes groups in one pipeline and returns the number of new fields.
func (w *runWriter) send(ctx context.Context, groups []hset) (int64, error) {
	pipe := w.lists.rdb.Pipeline()
	cmds := make([]*goredis.IntCmd, len(groups))
	for i, g := range groups {
		cmds[i] = pipe.HSet(ctx, g[0].(string), g[1:]...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, err
	}
	var added int64
	for _, c := range cmds {
		added += c.Val()
	}
	return added, nil
}

func validateListEntry(e data.ListEntry) error {
	switch {
	case e.Kind != data.ListUser && e.Kind != data.ListSimilar && e.Kind != data.ListTrending:
		return fmt.Errorf("%w: kind %q is not user, similar or trending", data.ErrInvalid, e.Kind)
	case e.Key == "":
		return fmt.Errorf("%w: key is empty", data.ErrInvalid)
	}
	return nil
}

// check returns ErrConflict when the writer or the run is done and
// ErrNotFound when the run was deleted or started again by another writer
// after a deletion.
func (w *runWriter) check(ctx context.Context) error {
	if w.done {
		return fmt.Errorf("%w: the writer was committed or aborted", data.ErrConflict)
	}
	st, err := w.lists.rdb.HMGet(ctx, w.lists.keys.run(w.runID), "state", "gen").Result()
	switch {
	case err != nil:
		return err
	case st[0] == nil || fmt.Sprint(st[1]) != strconv.FormatInt(w.info.gen, 10):
		return fmt.Errorf("%w: the run was deleted", data.ErrNotFound)
	case st[0] == "complete":
		return fmt.Errorf("%w: the run is complete and cannot change", data.ErrConflict)
	}
	return nil
}

// PutArtifact writes an artifact of the run, replacing one of the same name.
// It returns an error wrapping ErrInvalid for an empty name, ErrConflict when
// the run was committed meanwhile and ErrNotFound when it was deleted.
func (w *runWriter) PutArtifact(ctx context.Context, name string, b []byte) error {
	op := fmt.Sprintf("put artifact %s of run %s", quote(name), quote(w.runID))
	if name == "" {
		return wrap(op, fmt.Errorf("%w: artifact name is empty", data.ErrInvalid))
	}
	if err := w.check(ctx); err != nil {
		return wrap(op, err)
	}
	return wrap(op, w.lists.rdb.HSet(ctx, w.lists.keys.artifacts(w.info.gen), name, b).Err())
}

// Commit counts the run's lists, marks it complete, stamps it with the
// current time and makes it current in one script, then announces the
// switch on the channel and starts pruning older runs in the background.
func (w *runWriter) Commit(ctx context.Context) error {
	return w.commit(ctx, "")
}

// CommitFenced is Commit, done only while token is the newest fencing
// token that Lock issued, checked in the script that switches the pointer.
// It returns an error wrapping data.ErrConflict, and leaves the run
// incomplete, when a newer lease was issued.
func (w *runWriter) CommitFenced(ctx context.Context, token int64) error {
	return w.commit(ctx, strconv.FormatInt(token, 10))
}

func (w *runWriter) commit(ctx context.Context, token string) error {
	op := "commit run " + quote(w.runID)
	if err := w.check(ctx); err != nil {
		return wrap(op, err)
	}
	n, err := w.count(ctx)
	if err != nil {
		return wrap(op, err)
	}
	l := w.lists
	res, err := commitScript.Run(ctx, l.rdb, []string{l.keys.run(w.runID), l.keys.current(), l.keys.seq(), l.keys.fence()},
		w.info.gen, l.cfg.now().UnixMilli(), n, w.runID, token).Int()
	switch {
	case err != nil:
		return wrap(op, err)
	case res == 0:
		return wrap(op, fmt.Errorf("%w: the run was deleted", data.ErrNotFound))
	case res == 1:
		return wrap(op, fmt.Errorf("%w: the run is complete and cannot change", data.ErrConflict))
	case res == 3:
		return wrap(op, fmt.Errorf("%w: fencing token %s is stale: the scheduler lock was taken over by a newer holder", data.ErrConflict, token))
	}
	w.done = true
	l.announce(ctx, w.runID)
	l.schedulePrune()
	return nil
}

// count returns the number of lists the run holds, summed over its buckets.
func (w *runWriter) count(ctx context.Context) (int64, error) {
	pipe := w.lists.rdb.Pipeline()
	var cmds []*goredis.IntCmd
	for _, kind := range kinds {
		for b := range w.info.buckets {
			cmds = append(cmds, pipe.HLen(ctx, w.lists.keys.bucketAt(w.info.gen, kind, b)))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, err
	}
	var n int64
	for _, c := range cmds {
		n += c.Val()
	}
	return n, nil
}

// Abort deletes the run, its lists and its artifacts, those of an earlier
// writer of the same run included. The current run is unchanged. After
// Commit, Abort does nothing and returns nil, so a deferred Abort is safe.
func (w *runWriter) Abort(ctx context.Context) error {
	if w.done {
		return nil
	}
	err := w.lists.deleteRun(ctx, w.runID, true, strconv.FormatInt(w.info.gen, 10))
	if err != nil {
		return wrap("abort run "+quote(w.runID), err)
	}
	w.done = true
	return nil
}

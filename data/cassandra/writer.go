package cassandra

import (
	"context"
	"slices"
	"sync"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// Batches stay below Cassandra's default warning threshold for batch size
// (5 KiB): an unlogged batch of one partition saves round trips, and a
// large one only moves the work to the coordinator.
const (
	maxBatchStatements = 64
	maxBatchBytes      = 4 << 10
)

// statement is one idempotent CQL statement and its values.
type statement struct {
	cql  string
	args []any
}

// group is a list of statements that share one partition key. Statements
// of several tables count as one partition when their partition keys have
// the same value and type: Cassandra applies them as one mutation.
type group []statement

// grouper collects statements by partition, in the order partitions first
// appear.
type grouper struct {
	keys   []string
	groups map[string]group
}

func newGrouper() *grouper {
	return &grouper{groups: make(map[string]group)}
}

// add appends st to the group of partition key.
func (g *grouper) add(key string, st statement) {
	if _, ok := g.groups[key]; !ok {
		g.keys = append(g.keys, key)
	}
	g.groups[key] = append(g.groups[key], st)
}

// batches returns the groups cut into pieces that fit one batch each.
func (g *grouper) batches() []group {
	out := make([]group, 0, len(g.keys))
	for _, k := range g.keys {
		out = append(out, split(g.groups[k])...)
	}
	return out
}

func split(stmts group) []group {
	var out []group
	start, size := 0, 0
	for i, st := range stmts {
		n := argBytes(st.args)
		if i > start && (i-start == maxBatchStatements || size+n > maxBatchBytes) {
			out = append(out, stmts[start:i])
			start, size = i, 0
		}
		size += n
	}
	return append(out, stmts[start:])
}

// argBytes estimates the encoded size of values.
func argBytes(args []any) int {
	n := 0
	for _, a := range args {
		switch v := a.(type) {
		case string:
			n += len(v) + 4
		case []string:
			for _, s := range v {
				n += len(s) + 4
			}
		default:
			n += 12
		}
	}
	return n
}

// exec runs one group: a single statement, or an unlogged batch, which
// all replicas of the partition apply as one mutation.
func (s *Store) exec(ctx context.Context, g group) error {
	if len(g) == 1 {
		return s.session.Query(g[0].cql, g[0].args...).Idempotent(true).ExecContext(ctx)
	}
	b := s.session.Batch(gocql.UnloggedBatch)
	for _, st := range g {
		b.Entries = append(b.Entries, gocql.BatchEntry{Stmt: st.cql, Args: st.args, Idempotent: true})
	}
	return b.ExecContext(ctx)
}

// execAll runs the groups with up to cfg.Concurrency of them in flight and
// returns the first error, after the groups already sent have finished.
// Groups are independent: they may run in any order.
func (s *Store) execAll(ctx context.Context, groups []group) error {
	return s.parallel(ctx, len(groups), s.cfg.Concurrency, func(ctx context.Context, i int) error {
		return s.exec(ctx, groups[i])
	})
}

// parallel calls fn for 0 <= i < n with up to limit calls at once. At the
// first error it stops starting calls, cancels the context of those
// running, waits for them and returns that error.
func (s *Store) parallel(ctx context.Context, n, limit int, fn func(context.Context, int) error) error {
	if n == 1 {
		return fn(ctx, 0)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, limit) {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
	send(ctx, next, n)
	wg.Wait()
	if ctx.Err() == nil {
		return nil
	}
	return context.Cause(ctx)
}

// send sends 0..n-1 on next until ctx is done, then closes it.
func send(ctx context.Context, next chan<- int, n int) {
	defer close(next)
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			return
		}
	}
}

// maxInValues bounds the values of one IN clause: a long list makes one
// replica do the work of many queries.
const maxInValues = 100

// byUser collects values per user ID, in the order users first appear.
type byUser[T any] struct {
	users  []string
	values map[string][]T
}

func newByUser[T any]() *byUser[T] {
	return &byUser[T]{values: make(map[string][]T)}
}

func (b *byUser[T]) add(user string, v T) {
	if _, ok := b.values[user]; !ok {
		b.users = append(b.users, user)
	}
	b.values[user] = append(b.values[user], v)
}

// lookup runs cql, which takes a user ID and the list of an IN clause, for
// the values of every user, at most maxInValues per query, with up to
// cfg.Concurrency queries in flight. It calls rows with each query's
// result, from one goroutine at a time.
func lookup[T any](ctx context.Context, s *Store, cql string, b *byUser[T], rows func(user string, iter *gocql.Iter)) error {
	type query struct {
		user   string
		values []T
	}
	var queries []query
	for _, u := range b.users {
		for vs := range slices.Chunk(b.values[u], maxInValues) {
			queries = append(queries, query{u, vs})
		}
	}
	var mu sync.Mutex
	return s.parallel(ctx, len(queries), s.cfg.Concurrency, func(ctx context.Context, i int) error {
		q := queries[i]
		iter := s.session.Query(cql, q.user, q.values).Idempotent(true).IterContext(ctx)
		mu.Lock()
		rows(q.user, iter)
		mu.Unlock()
		return iter.Close()
	})
}

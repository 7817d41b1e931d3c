package cassandra

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/data/internal/titlecursor"
)

// titleBuckets is the number of partitions of titles_by_bucket. It is part
// of the schema: changing it needs a rewrite of the table.
const titleBuckets = 16

// Page sizes of ListTitles.
const (
	defaultTitleLimit = 50
	maxTitleLimit     = 1000
)

// PutTitles upserts titles by ID into titles and titles_by_bucket, with up
// to cfg.Concurrency writes in flight. Both copies of a title are written
// with the same write timestamp, so that when two calls race on one title
// both tables keep the same winner.
func (s *Store) PutTitles(ctx context.Context, titles []data.Title) error {
	for _, t := range titles {
		if t.ID == "" {
			return wrap("put titles", invalidf("title: id is empty"))
		}
	}
	ts := time.Now().UnixMicro()
	for chunk := range slices.Chunk(titles, chunkSize) {
		g := newGrouper()
		for _, t := range chunk {
			s.addTitle(g, t, ts)
		}
		if err := s.execAll(ctx, g.batches()); err != nil {
			return wrap("put titles", err)
		}
	}
	return nil
}

// chunkSize is the number of records a bulk call groups by partition at a
// time: large enough for full batches, small enough to bound memory.
const chunkSize = 20000

func (s *Store) addTitle(g *grouper, t data.Title, ts int64) {
	t.CreatedAt, t.UpdatedAt = data.Normalize(t.CreatedAt), data.Normalize(t.UpdatedAt)
	args := []any{t.ID, t.Name, t.Year, t.Genres, t.Type, t.DurationSec, t.Description, t.CreatedAt, t.UpdatedAt}
	g.add("i"+t.ID, statement{s.q.upsertTitle, append(slices.Clip(args), ts)})
	bucket := bucketOf(t.ID, titleBuckets)
	g.add("b"+strconv.Itoa(bucket), statement{s.q.upsertTitleInBucket, append([]any{bucket}, append(args, ts)...)})
}

// scanTitle scans one row of titleColumns.
func scanTitle(scan func(...any) bool) (data.Title, bool) {
	var t data.Title
	ok := scan(&t.ID, &t.Name, &t.Year, &t.Genres, &t.Type, &t.DurationSec, &t.Description, &t.CreatedAt, &t.UpdatedAt)
	return t, ok
}

// Title returns one title, or data.ErrNotFound.
func (s *Store) Title(ctx context.Context, id string) (data.Title, error) {
	t, err := s.title(ctx, id)
	return t, wrap("title", err)
}

func (s *Store) title(ctx context.Context, id string) (data.Title, error) {
	iter := s.session.Query(s.q.selectTitle, id).Idempotent(true).IterContext(ctx)
	t, ok := scanTitle(iter.Scan)
	if err := iter.Close(); err != nil {
		return data.Title{}, err
	}
	if !ok {
		return data.Title{}, gocql.ErrNotFound
	}
	return t, nil
}

// Titles returns the titles with the given IDs in the order asked for,
// leaving out unknown IDs. Lookups run in parallel, one partition each.
func (s *Store) Titles(ctx context.Context, ids []string) ([]data.Title, error) {
	unique := slices.Compact(slices.Sorted(slices.Values(ids)))
	found := make(map[string]data.Title, len(unique))
	var mu sync.Mutex
	err := s.parallel(ctx, len(unique), s.cfg.ScanConcurrency, func(ctx context.Context, i int) error {
		t, err := s.title(ctx, unique[i])
		if errors.Is(err, gocql.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		mu.Lock()
		found[t.ID] = t
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, wrap("titles", err)
	}
	out := make([]data.Title, 0, len(found))
	for _, id := range ids {
		if t, ok := found[id]; ok {
			out = append(out, t)
		}
	}
	return out, nil
}

// DeleteTitle removes a title from both tables. It is idempotent.
func (s *Store) DeleteTitle(ctx context.Context, id string) error {
	ts := time.Now().UnixMicro()
	groups := []group{
		{{s.q.deleteTitle, []any{ts, id}}},
		{{s.q.deleteTitleInBucket, []any{ts, bucketOf(id, titleBuckets), id}}},
	}
	return wrap("delete title", s.execAll(ctx, groups))
}

// ListTitles returns one page of titles matching q in ID order. It merges
// the ID-ordered streams of the 16 partitions of titles_by_bucket, each
// starting after the cursor, and filters rows in the client: a filter
// that matches few titles reads many rows for one page.
func (s *Store) ListTitles(ctx context.Context, q data.TitleQuery) (data.TitlePage, error) {
	after, err := titlecursor.Decode(q.Cursor)
	if err != nil {
		return data.TitlePage{}, wrap("list titles", err)
	}
	limit := q.Limit
	switch {
	case limit < 0:
		return data.TitlePage{}, wrap("list titles", invalidf("limit %d is negative", limit))
	case limit == 0:
		limit = defaultTitleLimit
	}
	limit = min(limit, maxTitleLimit)
	m := s.openMerge(ctx, after, streamPageSize(q, limit))
	page := collectPage(m, titleFilter(q), limit)
	if err := m.close(); err != nil {
		return data.TitlePage{}, wrap("list titles", err)
	}
	return page, nil
}

// streamPageSize returns how many rows each bucket fetches at a time:
// without a filter, about twice its share of a page.
func streamPageSize(q data.TitleQuery, limit int) int {
	if q.Genre != "" || q.Year != 0 || q.Text != "" {
		return 1000
	}
	return max(8, 2*limit/titleBuckets+1)
}

func collectPage(m *merge, keep func(data.Title) bool, limit int) data.TitlePage {
	var page data.TitlePage
	for {
		t, ok := m.next()
		if !ok {
			return page
		}
		if !keep(t) {
			continue
		}
		if len(page.Titles) == limit {
			page.Next = titlecursor.Encode(page.Titles[limit-1].ID)
			return page
		}
		page.Titles = append(page.Titles, t)
	}
}

func titleFilter(q data.TitleQuery) func(data.Title) bool {
	text := strings.ToLower(q.Text)
	return func(t data.Title) bool {
		if q.Year != 0 && t.Year != q.Year {
			return false
		}
		if q.Genre != "" && !slices.ContainsFunc(t.Genres, func(g string) bool { return strings.EqualFold(g, q.Genre) }) {
			return false
		}
		return text == "" || strings.Contains(strings.ToLower(t.Name), text)
	}
}

// merge yields titles from several ID-ordered iterators in ID order.
type merge struct {
	iters []*gocql.Iter
	heads []*data.Title
}

// openMerge starts one query per bucket, in parallel since each first
// page is fetched when the query starts.
func (s *Store) openMerge(ctx context.Context, after string, pageSize int) *merge {
	m := &merge{iters: make([]*gocql.Iter, titleBuckets), heads: make([]*data.Title, titleBuckets)}
	var wg sync.WaitGroup
	for b := range titleBuckets {
		wg.Go(func() {
			m.iters[b] = s.session.Query(s.q.listBucket, b, after).PageSize(pageSize).Idempotent(true).IterContext(ctx)
			m.advance(b)
		})
	}
	wg.Wait()
	return m
}

func (m *merge) advance(b int) {
	t, ok := scanTitle(m.iters[b].Scan)
	m.heads[b] = nil
	if ok {
		m.heads[b] = &t
	}
}

func (m *merge) next() (data.Title, bool) {
	best := -1
	for b, h := range m.heads {
		if h != nil && (best < 0 || h.ID < m.heads[best].ID) {
			best = b
		}
	}
	if best < 0 {
		return data.Title{}, false
	}
	t := *m.heads[best]
	m.advance(best)
	return t, true
}

func (m *merge) close() error {
	var errs []error
	for _, it := range m.iters {
		errs = append(errs, it.Close())
	}
	return errors.Join(errs...)
}

package serving

import (
	"strings"
	"testing"
	"time"

	"github.com/marquee/marquee/data"
)

// clock is a manual clock for tests.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func items(ids ...string) []data.ScoredItem {
	out := make([]data.ScoredItem, len(ids))
	for i, id := range ids {
		out[i] = data.ScoredItem{ID: id, Score: float32(len(ids) - i)}
	}
	return out
}

func TestLRU(t *testing.T) {
	c := newClock()
	l := newLRU[string, int](3, time.Minute, c.now)
	l.put("a", 1, 1)
	l.put("b", 2, 1)
	l.put("c", 3, 1)
	l.get("a") // a is now the most recently used
	l.put("d", 4, 1)
	if _, _, ok := l.get("b"); ok {
		t.Error("b survived past the bound, want it dropped as the least recently used")
	}
	for _, k := range []string{"a", "c", "d"} {
		if _, fresh, ok := l.get(k); !ok || !fresh {
			t.Errorf("get(%q): got fresh %v, ok %v, want both", k, fresh, ok)
		}
	}

	c.add(2 * time.Minute)
	if v, fresh, ok := l.get("a"); !ok || fresh || v != 1 {
		t.Errorf("get after the TTL: got %v, fresh %v, ok %v, want 1, stale, present", v, fresh, ok)
	}
	l.put("a", 5, 1)
	l.expire()
	if _, fresh, ok := l.get("a"); !ok || fresh {
		t.Errorf("get after expire: got fresh %v, ok %v, want stale and present", fresh, ok)
	}
	l.put("huge", 9, 4)
	if _, _, ok := l.get("huge"); ok || l.len() != 3 {
		t.Errorf("an entry costlier than the bound was kept, or evicted others: len %d", l.len())
	}
	l.delete("a")
	if _, _, ok := l.get("a"); ok {
		t.Error("get after delete: got the entry")
	}
}

func TestBreaker(t *testing.T) {
	c := newClock()
	b := &breaker{threshold: 2, cooldown: time.Second, now: c.now}
	steps := []struct {
		name      string
		advance   time.Duration
		outcome   *bool // recorded when the call was allowed
		wantAllow bool
	}{
		{"closed", 0, ptr(false), true},
		{"one failure keeps it closed", 0, ptr(false), true},
		{"open after two failures", 0, nil, false},
		{"still open within the cooldown", 900 * time.Millisecond, nil, false},
		{"one probe after the cooldown", 200 * time.Millisecond, nil, true},
		{"no second probe while the first runs", 0, nil, false},
	}
	for _, s := range steps {
		c.add(s.advance)
		if got := b.allow(); got != s.wantAllow {
			t.Fatalf("%s: allow got %v, want %v", s.name, got, s.wantAllow)
		}
		if s.outcome != nil {
			b.record(*s.outcome)
		}
	}
	b.record(true) // the probe succeeded
	if !b.allow() || b.open() {
		t.Error("after a successful probe the breaker is not closed")
	}
}

func ptr[T any](v T) *T { return &v }

func TestCursorRoundTrip(t *testing.T) {
	tests := []cursor{
		{run: "r1", source: SourcePersonal, pos: 10, query: 7},
		{run: "2026-12-04T20:00:00Z 日本", source: SourceFolded, pos: 0, query: 0xffffffff},
		{run: "", source: SourceTrending, pos: 1 << 20},
	}
	for _, c := range tests {
		got, err := decodeCursor(c.encode())
		if err != nil || got != c {
			t.Errorf("decode(encode(%+v)): got %+v, %v", c, got, err)
		}
	}
}

func TestCursorMalformed(t *testing.T) {
	valid := cursor{run: "r1", source: SourcePersonal, pos: 3, query: 1}.encode()
	for _, s := range []string{"", "!!", "AA", valid[:len(valid)-2], valid + "AA", strings.Repeat("A", maxCursor+1)} {
		if c, err := decodeCursor(s); err == nil {
			t.Errorf("decodeCursor(%q): got %+v and no error", s, c)
		}
	}
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(cursor{run: "r1", source: SourcePersonal, pos: 3, query: 1}.encode())
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err != nil {
			return
		}
		if again, err := decodeCursor(c.encode()); err != nil || again != c {
			t.Fatalf("re-decoding %+v: got %+v, %v", c, again, err)
		}
	})
}

func TestWindow(t *testing.T) {
	list := items("a", "b", "c", "d", "e", "f")
	drop := func(ids ...string) func(string) bool {
		return func(id string) bool { return !strings.Contains(strings.Join(ids, ","), id) }
	}
	tests := []struct {
		name             string
		start, skip, lim int
		keep             func(string) bool
		wantIDs          string
		wantNext         int
	}{
		{"first page", 0, 0, 2, drop(), "a b", 2},
		{"filtered entries are passed over", 0, 0, 2, drop("a", "c"), "b d", 4},
		{"from a position", 4, 0, 5, drop(), "e f", -1},
		{"offset skips kept entries", 0, 2, 2, drop("b"), "d e", 5},
		{"no next page when the rest is filtered", 0, 0, 2, drop("c", "d", "e", "f"), "a b", -1},
		{"start past the end", 9, 0, 2, drop(), "", -1},
	}
	for _, tc := range tests {
		got, next := window(list, tc.start, tc.skip, tc.lim, func(i int) bool { return tc.keep(list[i].ID) })
		if strings.Join(ids(got), " ") != tc.wantIDs || next != tc.wantNext {
			t.Errorf("%s: got %v next %d, want %s next %d", tc.name, ids(got), next, tc.wantIDs, tc.wantNext)
		}
	}
}

func ids(items []data.ScoredItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

func TestMergeByScore(t *testing.T) {
	drama := []data.ScoredItem{{ID: "a", Score: 9}, {ID: "b", Score: 5}, {ID: "c", Score: 1}}
	comedy := []data.ScoredItem{{ID: "d", Score: 7}, {ID: "b", Score: 5}, {ID: "e", Score: 5}}
	got := ids(mergeByScore([][]data.ScoredItem{drama, comedy}))
	if want := "a d b e c"; strings.Join(got, " ") != want {
		t.Errorf("mergeByScore: got %v, want %s", got, want)
	}
}

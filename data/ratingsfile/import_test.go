package ratingsfile

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/marquee/marquee/data"
)

// fakeStore keeps what an import writes, with the upsert semantics of the
// store's bulk writes.
type fakeStore struct {
	titles  map[string]data.Title
	users   map[string]data.User
	ratings map[string]data.Rating
}

func newFakeStore() *fakeStore {
	return &fakeStore{titles: map[string]data.Title{}, users: map[string]data.User{}, ratings: map[string]data.Rating{}}
}

func (s *fakeStore) PutTitles(_ context.Context, ts []data.Title) error {
	for _, t := range ts {
		s.titles[t.ID] = t
	}
	return nil
}

func (s *fakeStore) Titles(_ context.Context, ids []string) ([]data.Title, error) {
	var out []data.Title
	for _, id := range ids {
		if t, ok := s.titles[id]; ok {
			out = append(out, t)
		}
	}
	return out, nil
}

func (s *fakeStore) PutUsers(_ context.Context, us []data.User) error {
	for _, u := range us {
		s.users[u.ID] = u
	}
	return nil
}

func (s *fakeStore) PutRatings(_ context.Context, rs []data.Rating) error {
	for _, r := range rs {
		if err := data.ValidateRating(r); err != nil {
			return err
		}
		s.ratings[r.UserID+"/"+r.ContentID+"/"+r.Time.String()] = r
	}
	return nil
}

func (s *fakeStore) sortedRatings() []data.Rating {
	var out []data.Rating
	for _, r := range s.ratings {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b data.Rating) int {
		return strings.Compare(a.UserID+"/"+a.ContentID, b.UserID+"/"+b.ContentID)
	})
	return out
}

func rating(user, item string, v float64, t time.Time) data.Rating {
	return data.Rating{UserID: user, ContentID: item, Value: v, Time: t.UTC()}
}

func TestImportDat(t *testing.T) {
	store := newFakeStore()
	// A title the store already has keeps its name.
	store.titles["30"] = data.Title{ID: "30", Name: "Stored"}

	rep, err := Import(context.Background(), store, "testdata/ml1m/ratings.dat", Options{BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}

	wantRatings := []data.Rating{
		rating("1", "10", 5, time.Unix(978300760, 0)),
		rating("1", "20", 3, time.Unix(978302109, 0)),
		rating("2", "10", 4, time.Unix(978301968, 0)),
		rating("3", "30", 2.5, time.Unix(978824291, 0)),
	}
	if got := store.sortedRatings(); !reflect.DeepEqual(got, wantRatings) {
		t.Errorf("ratings = %v, want %v", got, wantRatings)
	}
	if rep.Read != 7 || rep.Imported != 4 || rep.Bad != 3 || rep.Users != 3 || rep.NewTitles != 2 {
		t.Errorf("report = %+v, want 7 read, 4 imported, 3 bad, 3 users, 2 new titles", rep)
	}
	wantBad := []string{
		"ratings.dat:4: invalid: rating: value 9 is not between 0.5 and 5.0 in steps of 0.5",
		`ratings.dat:5: rating "x" is not a number`,
		"ratings.dat:8: row has 1 fields, want 4 (user::item::rating::timestamp)",
	}
	if !reflect.DeepEqual(rep.BadRows, wantBad) {
		t.Errorf("bad rows = %q, want %q", rep.BadRows, wantBad)
	}
	wantTitles := map[string]data.Title{
		"10": {ID: "10", Name: "Toy Story", Year: 1995, Genres: []string{"Animation", "Children's", "Comedy"}, Type: "movie"},
		"20": {ID: "20", Name: "Amélie", Year: 2001, Genres: []string{"Comedy", "Romance"}, Type: "movie"},
		"30": {ID: "30", Name: "Stored"},
	}
	if !reflect.DeepEqual(store.titles, wantTitles) {
		t.Errorf("titles = %v, want %v", store.titles, wantTitles)
	}
	if u := store.users["2"]; !u.CreatedAt.Equal(time.Unix(978301968, 0)) || u.Role != data.RoleUser {
		t.Errorf("user 2 = %+v, want role user created at its first valid rating", u)
	}

	again := newFakeStore()
	again.titles["30"] = data.Title{ID: "30", Name: "Stored"}
	for range 2 {
		if _, err := Import(context.Background(), again, "testdata/ml1m/ratings.dat", Options{}); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(again.sortedRatings(), wantRatings) || !reflect.DeepEqual(again.titles, wantTitles) {
		t.Error("importing twice left other data than importing once")
	}
}

func TestImportCSV(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.tsv")
	content := "\xef\xbb\xbfwhen\tscore\tviewer\ttitle\n" +
		"2024-05-01T10:00:00Z\t10\tu1\tt1\n" +
		"2024-05-02T10:00:00+02:00\t1\tu2\tt1\n" +
		"yesterday\t5\tu2\tt2\n" +
		"2024-05-03T10:00:00Z\t11\tu2\tt2\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	store := newFakeStore()
	rep, err := Import(context.Background(), store, path, Options{
		Layout:     LayoutCSV,
		Comma:      '\t',
		Columns:    Columns{User: "viewer", Item: "title", Rating: "score", Time: "when"},
		TimeFormat: TimeRFC3339,
		Scale:      &Scale{Min: 1, Max: 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []data.Rating{
		rating("u1", "t1", 5, time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)),
		rating("u2", "t1", 0.5, time.Date(2024, 5, 2, 8, 0, 0, 0, time.UTC)),
	}
	if got := store.sortedRatings(); !reflect.DeepEqual(got, want) {
		t.Errorf("ratings = %v, want %v", got, want)
	}
	if rep.Bad != 2 || rep.NewTitles != 1 {
		t.Errorf("report = %+v, want 2 bad rows and 1 new title", rep)
	}
	if store.titles["t1"].Name != "t1" {
		t.Errorf("title t1 = %+v, want one named by its ID", store.titles["t1"])
	}
}

func TestImportParquet(t *testing.T) {
	type row struct {
		User   int64   `parquet:"uid"`
		Item   string  `parquet:"movie"`
		Rating float32 `parquet:"stars"`
		Time   int64   `parquet:"ts,timestamp(millisecond)"`
	}
	path := filepath.Join(t.TempDir(), "ratings.parquet")
	rows := []row{
		{User: 7, Item: "m1", Rating: 4.5, Time: 1_700_000_000_123},
		{User: 8, Item: "m2", Rating: 3, Time: 1_700_000_100_000},
	}
	if err := parquet.WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
	store := newFakeStore()
	_, err := Import(context.Background(), store, path, Options{Columns: Columns{User: "uid", Item: "movie", Rating: "stars", Time: "ts"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []data.Rating{
		rating("7", "m1", 4.5, time.UnixMilli(1_700_000_000_123)),
		rating("8", "m2", 3, time.UnixMilli(1_700_000_100_000)),
	}
	if got := store.sortedRatings(); !reflect.DeepEqual(got, want) {
		t.Errorf("ratings = %v, want %v", got, want)
	}
}

func TestImportErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	csvPath := filepath.Join(t.TempDir(), "r.csv")
	if err := os.WriteFile(csvPath, []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ctx  context.Context
		path string
		opts Options
		want string
	}{
		{"missing file", context.Background(), "testdata/none.dat", Options{}, "no such file"},
		{"missing column", context.Background(), csvPath, Options{}, `column "user_id" is not in the header`},
		{"bad layout", context.Background(), csvPath, Options{Layout: "xml"}, `unknown layout "xml"`},
		{"bad time format", context.Background(), csvPath, Options{TimeFormat: "days"}, `unknown time format "days"`},
		{"bad scale", context.Background(), csvPath, Options{Scale: &Scale{Min: 5, Max: 1}}, "invalid rating scale 5:1"},
		{"quote as separator", context.Background(), csvPath, Options{Comma: '"'}, `invalid CSV field separator '"'`},
		{"invalid separator", context.Background(), csvPath, Options{Comma: 0xD800}, "invalid CSV field separator"},
		{"cancelled", cancelled, "testdata/ml1m/ratings.dat", Options{}, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Import(tt.ctx, newFakeStore(), tt.path, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Import error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := Import(cancelled, newFakeStore(), "testdata/ml1m/ratings.dat", Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Import error = %v, want context.Canceled", err)
	}
}

// FuzzDat feeds arbitrary text to the dat reader and the row parser, which
// must never panic and must accept only valid ratings.
func FuzzDat(f *testing.F) {
	f.Add("1::10::5::978300760\n")
	f.Add("1::10::4.5::-1\n::::\n")
	f.Fuzz(func(t *testing.T, s string) {
		p := parser{timeFormat: TimeUnix}
		err := readDat(context.Background(), strings.NewReader(s), func(fl fields) error {
			r, err := p.parse(fl)
			if err == nil && data.ValidateRating(r) != nil {
				t.Errorf("parsed an invalid rating %+v", r)
			}
			return nil
		})
		if err != nil && !strings.Contains(err.Error(), "token too long") {
			t.Errorf("readDat error = %v", err)
		}
	})
}

// TestImportRejectsInfiniteScale imports with an infinite scale bound. The
// check min < max alone passed it, and every rating was then stored as 0.5
// or dropped.
func TestImportRejectsInfiniteScale(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.csv")
	body := "user_id,item_id,rating,timestamp\na,x,1,1\nb,y,10,2\nc,z,5,3\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	scales := []Scale{
		{Min: 0, Max: math.Inf(1)}, {Min: math.Inf(-1), Max: 10}, {Min: math.Inf(-1), Max: math.Inf(1)},
		{Min: -math.MaxFloat64, Max: math.MaxFloat64}, {Min: math.NaN(), Max: 10},
	}
	for _, scale := range scales {
		store := newFakeStore()
		if _, err := Import(t.Context(), store, path, Options{Scale: &scale}); err == nil {
			t.Errorf("scale %v:%v accepted, stored %v", scale.Min, scale.Max, store.sortedRatings())
		}
	}
}

// TestImportRejectsInvalidUTF8IDs checks that user and item IDs that are
// not valid UTF-8 or hold a control character are bad rows: an item ID
// becomes a title's ID and name, which the API accepts neither of.
func TestImportRejectsInvalidUTF8IDs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.csv")
	body := "user_id,item_id,rating,timestamp\n" +
		"a,x,4,1\n" +
		"b,bad\xff\xfe,4,2\n" +
		"\xffu,y,4,3\n" +
		"c,\"tab\there\",4,4\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	store := newFakeStore()
	rep, err := Import(t.Context(), store, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 1 || rep.Bad != 3 {
		t.Errorf("report = %+v, want 1 imported and 3 bad", rep)
	}
	for i, want := range []string{"r.csv:3: item", "r.csv:4: user", "r.csv:5: item"} {
		if i >= len(rep.BadRows) || !strings.HasPrefix(rep.BadRows[i], want) {
			t.Errorf("bad rows = %q, want row %d to start with %q", rep.BadRows, i, want)
		}
	}
	for id := range store.titles {
		if id != "x" {
			t.Errorf("stored title %q, want only x", id)
		}
	}
}

// TestImportBrokenQuotes checks that a line with a broken quote is one bad
// row and that the rows after it are imported. encoding/csv let a quoted
// field run on into the following lines, so an unclosed quote swallowed
// every row up to the next quote in the file without counting them.
func TestImportBrokenQuotes(t *testing.T) {
	const header = "user_id,item_id,rating,timestamp\n"
	const errQuote = `malformed CSV: extraneous or missing " in quoted-field`
	const errBareQuote = `malformed CSV: bare " in non-quoted-field`
	tests := []struct {
		name         string
		body         string
		wantImported int
		wantBadRows  []string
	}{
		{
			name: "unclosed quote",
			body: header + "u1,i1,4,1600000000\n" + "u2,\"i2,4,1600000001\n" + "u3,i3,4,1600000002\n" +
				"u4,i4,3,1600000003\n" + "u5,i5,5,1600000004\n",
			wantImported: 4,
			wantBadRows:  []string{"r.csv:3: " + errQuote},
		},
		{
			name: "unclosed quote with CRLF",
			body: strings.ReplaceAll(header+"u1,i1,4,1600000000\n"+"u2,\"i2,4,1600000001\n"+
				"u3,i3,4,1600000002\n"+"u4,i4,3,1600000003\n", "\n", "\r\n"),
			wantImported: 3,
			wantBadRows:  []string{"r.csv:3: " + errQuote},
		},
		{
			name:         "unclosed quote on last line",
			body:         header + "u1,i1,4,1600000000\n" + "u2,i2,4,1600000001\n" + "u3,\"i3,4,1600000002\n",
			wantImported: 2,
			wantBadRows:  []string{"r.csv:4: " + errQuote},
		},
		{
			name:         "unclosed quote on last line without line end",
			body:         header + "u1,i1,4,1600000000\n" + "u2,\"i2,4,1600000001",
			wantImported: 1,
			wantBadRows:  []string{"r.csv:3: " + errQuote},
		},
		{
			name: "quote in unquoted field",
			body: header + "u1,i1,4,1600000000\n" + "u2,i\"2,4,1600000001\n" + "u3,i3,4,1600000002\n" +
				"u4,\"i4\",3,1600000003\n",
			wantImported: 3,
			wantBadRows:  []string{"r.csv:3: " + errBareQuote},
		},
		{
			// encoding/csv closed the field at the quote of line 5 and
			// reported lines 3 to 5 as one bad row.
			name: "unclosed quote before a quoted field",
			body: header + "u1,i1,4,1600000000\n" + "u2,\"i2,4,1600000001\n" + "u3,i3,4,1600000002\n" +
				"u4,\"i4, part 2\",3,1600000003\n" + "u5,i5,5,1600000004\n",
			wantImported: 4,
			wantBadRows:  []string{"r.csv:3: " + errQuote},
		},
		{
			name:         "quoted field split over two lines",
			body:         header + "u1,\"i1\n" + "i1\",4,1600000000\n" + "u2,i2,4,1600000001\n",
			wantImported: 1,
			wantBadRows:  []string{"r.csv:2: " + errQuote, "r.csv:3: " + errBareQuote},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r.csv")
			if err := os.WriteFile(path, []byte(tt.body), 0o600); err != nil {
				t.Fatal(err)
			}
			store := newFakeStore()
			rep, err := Import(t.Context(), store, path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Imported != tt.wantImported || len(store.ratings) != tt.wantImported {
				t.Errorf("imported %d ratings and stored %d, want %d", rep.Imported, len(store.ratings), tt.wantImported)
			}
			if rep.Bad != len(tt.wantBadRows) {
				t.Errorf("bad = %d, want %d", rep.Bad, len(tt.wantBadRows))
			}
			if want := tt.wantImported + len(tt.wantBadRows); rep.Read != want {
				t.Errorf("read = %d, want %d", rep.Read, want)
			}
			if !reflect.DeepEqual(rep.BadRows, tt.wantBadRows) {
				t.Errorf("bad rows = %q, want %q", rep.BadRows, tt.wantBadRows)
			}
		})
	}
}

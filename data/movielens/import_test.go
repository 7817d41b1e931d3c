package movielens

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/marquee/marquee/data"
)

func importDir(t *testing.T, store Store, dir string, opts Options) ImportReport {
	t.Helper()
	rep, err := Import(context.Background(), store, dir, opts)
	if err != nil {
		t.Fatalf("Import(%s): %v", dir, err)
	}
	return rep
}

func TestImportCraftedCounts(t *testing.T) {
	rep := importDir(t, newFakeStore(), "testdata/crafted", Options{})

	files := []struct {
		got  FileReport
		want FileReport
	}{
		{rep.Movies, FileReport{File: MoviesFile, Read: 13, Imported: 8, Bad: 5}},
		{rep.Ratings, FileReport{File: RatingsFile, Read: 14, Imported: 6, Bad: 8}},
		// Lines 4 and 5 contain a tag split over two lines, so they are two bad rows.
		{rep.Tags, FileReport{File: TagsFile, Read: 6, Imported: 0, Bad: 3}},
	}
	for _, f := range files {
		if f.got != f.want {
			t.Errorf("file report = %+v, want %+v", f.got, f.want)
		}
	}
	if rep.Users != 3 {
		t.Errorf("Users = %d, want 3", rep.Users)
	}
	if rep.BadTotal() != 16 {
		t.Errorf("BadTotal = %d, want 16", rep.BadTotal())
	}
	if len(rep.BadRows) != DefaultMaxBadRows {
		t.Errorf("kept %d bad rows, want %d", len(rep.BadRows), DefaultMaxBadRows)
	}
}

func TestImportCraftedBadRows(t *testing.T) {
	rep := importDir(t, newFakeStore(), "testdata/crafted", Options{MaxBadRows: 100})

	want := []string{
		"movies.csv:8: movieId is empty",
		"movies.csv:9: row has 2 fields, want 3",
		"movies.csv:10: movieId 1 repeats line 2",
		`movies.csv:12: movieId "abc" is not a decimal integer`,
		"movies.csv:13: malformed CSV: bare \"",
		"ratings.csv:6: invalid: rating: value 5.5 is not between 0.5 and 5.0",
		"ratings.csv:7: invalid: rating: value 3.25",
		`ratings.csv:8: rating "abc" is not a number`,
		"ratings.csv:9: userId is empty",
		"ratings.csv:10: movieId 999 is not in movies.csv",
		"ratings.csv:11: row has 3 fields, want 4",
		`ratings.csv:12: timestamp "-5" is not Unix seconds`,
		"ratings.csv:15: movieId 12 is not in movies.csv",
		"tags.csv:4: malformed CSV: extraneous or missing \" in quoted-field",
		"tags.csv:5: malformed CSV: bare \" in non-quoted-field",
		"tags.csv:6: tag is empty",
	}
	if len(rep.BadRows) != len(want) {
		t.Fatalf("got %d bad rows, want %d: %v", len(rep.BadRows), len(want), rep.BadRows)
	}
	for i, b := range rep.BadRows {
		if !strings.HasPrefix(b.String(), want[i]) {
			t.Errorf("bad row %d = %q, want prefix %q", i, b.String(), want[i])
		}
	}
}

func TestImportCraftedRecords(t *testing.T) {
	store := newFakeStore()
	importDir(t, store, "testdata/crafted", Options{})

	wantTitles := map[string]data.Title{
		"1":      {ID: "1", Name: "Toy Story", Year: 1995, Type: "movie", Genres: []string{"Adventure", "Animation", "Children", "Comedy", "Fantasy"}},
		"11":     {ID: "11", Name: "American President, The", Year: 1995, Type: "movie", Genres: []string{"Comedy", "Drama", "Romance"}},
		"27008":  {ID: "27008", Name: "From Dusk Till Dawn 2: Texas Blood Money", Year: 1999, Type: "movie", Genres: []string{"Comedy", "Crime", "Horror"}},
		"40697":  {ID: "40697", Name: "Babylon 5", Type: "movie", Genres: []string{"Sci-Fi"}},
		"171749": {ID: "171749", Name: "Death Note: Desu nôto", Year: 2006, Type: "movie"},
		"7789":   {ID: "7789", Name: `11'09"01 - September 11`, Year: 2002, Type: "movie", Genres: []string{"Drama"}},
		"30":     {ID: "30", Name: "Shanghai Triad (Yao a yao yao dao waipo qiao)", Year: 1995, Type: "movie", Genres: []string{"Crime", "Drama"}},
		"6":      {ID: "6", Name: "Heat", Year: 1995, Type: "movie", Genres: []string{"Action", "Crime", "Thriller"}},
	}
	if !reflect.DeepEqual(store.titles, wantTitles) {
		t.Errorf("titles =\n%+v\nwant\n%+v", store.titles, wantTitles)
	}

	unix := func(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
	wantUsers := map[string]data.User{
		"1": {ID: "1", Role: data.RoleUser, CreatedAt: unix(964981247), UpdatedAt: unix(964981247)},
		"2": {ID: "2", Role: data.RoleUser, CreatedAt: unix(1445714000), UpdatedAt: unix(1445714000)},
		"3": {ID: "3", Role: data.RoleUser, CreatedAt: unix(1537799250), UpdatedAt: unix(1537799250)},
	}
	if !reflect.DeepEqual(store.users, wantUsers) {
		t.Errorf("users =\n%+v\nwant\n%+v", store.users, wantUsers)
	}

	wantRatings := []data.Rating{
		{UserID: "1", ContentID: "1", Value: 4, Time: unix(964982703)},
		{UserID: "1", ContentID: "11", Value: 5, Time: unix(964981247)},
		{UserID: "2", ContentID: "1", Value: 3.5, Time: unix(1445714994)},
		{UserID: "2", ContentID: "27008", Value: 0.5, Time: unix(1445714000)},
		{UserID: "3", ContentID: "171749", Value: 2, Time: unix(1537799250)},
	}
	if got := sortedRatings(store); !reflect.DeepEqual(got, wantRatings) {
		t.Errorf("ratings =\n%+v\nwant\n%+v", got, wantRatings)
	}
}

func sortedRatings(s *fakeStore) []data.Rating {
	rs := slices.Collect(maps.Values(s.ratings))
	slices.SortFunc(rs, func(a, b data.Rating) int {
		return strings.Compare(a.UserID+"/"+a.ContentID, b.UserID+"/"+b.ContentID)
	})
	return rs
}

func TestImportTwiceSameData(t *testing.T) {
	once, twice := newFakeStore(), newFakeStore()
	importDir(t, once, "testdata/crafted", Options{})
	importDir(t, twice, "testdata/crafted", Options{BatchSize: 2})
	importDir(t, twice, "testdata/crafted", Options{BatchSize: 3})

	if !reflect.DeepEqual(once.titles, twice.titles) {
		t.Error("titles differ after a second import")
	}
	if !reflect.DeepEqual(once.users, twice.users) {
		t.Error("users differ after a second import")
	}
	if !reflect.DeepEqual(once.ratings, twice.ratings) {
		t.Error("ratings differ after a second import")
	}
}

func TestImportBatches(t *testing.T) {
	store := newFakeStore()
	var got []Progress
	importDir(t, store, "testdata/crafted", Options{BatchSize: 2, Progress: func(p Progress) { got = append(got, p) }})

	// 8 titles in 4 calls, 3 users in 2 and 6 ratings in 3.
	if store.calls != 9 {
		t.Errorf("store calls = %d, want 9", store.calls)
	}
	last := map[string]Progress{}
	for _, p := range got {
		if prev, ok := last[p.Stage]; ok && p.Imported < prev.Imported {
			t.Errorf("progress of %s went from %d to %d", p.Stage, prev.Imported, p.Imported)
		}
		last[p.Stage] = p
	}
	want := map[string]Progress{
		MoviesFile:  {Stage: MoviesFile, Read: 13, Imported: 8, Bad: 5},
		usersStage:  {Stage: usersStage, Read: 3, Imported: 3},
		RatingsFile: {Stage: RatingsFile, Read: 14, Imported: 6, Bad: 8},
		TagsFile:    {Stage: TagsFile, Read: 6, Bad: 3},
	}
	if !reflect.DeepEqual(last, want) {
		t.Errorf("last progress per stage =\n%+v\nwant\n%+v", last, want)
	}
}

func TestImportWithoutTags(t *testing.T) {
	rep := importDir(t, newFakeStore(), "testdata/notags", Options{})
	if rep.Tags != (FileReport{}) {
		t.Errorf("Tags = %+v, want zero for a directory without tags.csv", rep.Tags)
	}
	if rep.Ratings.Imported != 2 || rep.Users != 1 {
		t.Errorf("imported %d ratings and %d users, want 2 and 1", rep.Ratings.Imported, rep.Users)
	}
}

func TestImportMissingFile(t *testing.T) {
	for _, name := range []string{MoviesFile, RatingsFile} {
		t.Run(name, func(t *testing.T) {
			dir := copyDir(t, "testdata/crafted")
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			store := newFakeStore()
			_, err := Import(context.Background(), store, dir, Options{})
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Import error = %v, want fs.ErrNotExist", err)
			}
			if err != nil && !strings.Contains(err.Error(), "required file "+name+" is missing") {
				t.Errorf("Import error = %q, want it to name %s", err, name)
			}
			if store.calls != 0 {
				t.Errorf("store calls = %d, want 0", store.calls)
			}
		})
	}
}

func TestImportBadHeader(t *testing.T) {
	store := newFakeStore()
	_, err := Import(context.Background(), store, "testdata/badheader", Options{})
	if !errors.Is(err, ErrHeader) {
		t.Fatalf("Import error = %v, want ErrHeader", err)
	}
	want := `tags.csv: unexpected CSV header: got "userId,movieId,tag", want "userId,movieId,tag,timestamp"`
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Import error = %q, want it to contain %q", err, want)
	}
	if store.calls != 0 {
		t.Errorf("store calls = %d, want 0", store.calls)
	}
}

func TestImportEmptyFile(t *testing.T) {
	dir := copyDir(t, "testdata/crafted")
	if err := os.WriteFile(filepath.Join(dir, RatingsFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Import(context.Background(), newFakeStore(), dir, Options{})
	if !errors.Is(err, ErrHeader) || !strings.Contains(err.Error(), "ratings.csv: unexpected CSV header: the file is empty") {
		t.Errorf("Import error = %v, want ErrHeader for the empty ratings.csv", err)
	}
}

func TestImportWriteFailure(t *testing.T) {
	// Batches of 2: calls 1-4 write titles, 5-6 users, 7-9 ratings.
	errDown := errors.New("store down")
	store := newFakeStore()
	store.failCall = 8
	store.failErr = errDown

	rep, err := Import(context.Background(), store, "testdata/crafted", Options{BatchSize: 2})
	var we *WriteError
	if !errors.As(err, &we) {
		t.Fatalf("Import error = %v, want a *WriteError", err)
	}
	if !errors.Is(err, errDown) {
		t.Errorf("Import error = %v, want it to wrap the store's error", err)
	}
	want := WriteError{Stage: RatingsFile, FirstLine: 4, LastLine: 5, Written: 2, Err: errDown}
	if *we != want {
		t.Errorf("WriteError = %+v, want %+v", *we, want)
	}
	if msg := err.Error(); !strings.Contains(msg, "write ratings.csv lines 4-5: store down") ||
		!strings.Contains(msg, "after 2 records were written") {
		t.Errorf("error message = %q, want the file, the lines and the count written", msg)
	}
	if rep.Ratings.Imported != 2 || len(store.ratings) != 2 {
		t.Errorf("report says %d ratings imported and the store has %d, want 2 and 2", rep.Ratings.Imported, len(store.ratings))
	}

	// The rerun finishes the import.
	store.failCall = 0
	importDir(t, store, "testdata/crafted", Options{BatchSize: 2})
	if len(store.ratings) != 5 {
		t.Errorf("store has %d ratings after the rerun, want 5", len(store.ratings))
	}
}

func TestImportCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	store := newFakeStore()
	_, err := Import(ctx, store, "testdata/crafted", Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Import error = %v, want context.Canceled", err)
	}
	if len(store.titles) != 0 {
		t.Errorf("store has %d titles, want none", len(store.titles))
	}
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestImportInvalidUTF8TitleIsBad imports a title containing the bytes FF
// FE. The API rejects such names on write, so the importer counts the row
// bad.
func TestImportInvalidUTF8TitleIsBad(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		MoviesFile:  "movieId,title,genres\n1,Good (1995),Drama\n2,Bad \xff\xfe bytes (1999),Drama\n",
		RatingsFile: "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	store := newFakeStore()
	report := importDir(t, store, dir, Options{})
	for id, title := range store.titles {
		if !utf8.ValidString(title.Name) {
			t.Errorf("title %s stored with invalid UTF-8 name %q", id, title.Name)
		}
	}
	if report.Movies.Bad != 1 {
		t.Errorf("movies report %+v, expected the invalid UTF-8 row counted bad", report.Movies)
	}
	if want := "movies.csv:3: title"; len(report.BadRows) != 1 || !strings.HasPrefix(report.BadRows[0].String(), want) {
		t.Errorf("bad rows %q, want one starting with %q", report.BadRows, want)
	}
}

// TestImportBrokenQuotes checks that a line with a broken quote is one bad
// row and that the rows after it are imported. encoding/csv let a quoted
// field run on into the following lines, so an unclosed quote swallowed the
// rows up to the next quote in the file without counting them.
func TestImportBrokenQuotes(t *testing.T) {
	const errQuote = `malformed CSV: extraneous or missing " in quoted-field`
	const errBareQuote = `malformed CSV: bare " in non-quoted-field`
	const ratings = "userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n"
	tests := []struct {
		name        string
		files       map[string]string // CRLF line ends, as GroupLens writes them
		want        map[string]FileReport
		wantBadRows []string
	}{
		{
			name: "movies unclosed quote",
			files: map[string]string{
				MoviesFile: "movieId,title,genres\r\n1,Toy Story (1995),Comedy\r\n2,\"Jumanji (1995),Adventure\r\n" +
					"3,\"American President, The (1995)\",Drama\r\n4,Heat (1995),Action\r\n",
				RatingsFile: ratings,
			},
			want:        map[string]FileReport{MoviesFile: {File: MoviesFile, Read: 4, Imported: 3, Bad: 1}},
			wantBadRows: []string{"movies.csv:3: " + errQuote},
		},
		{
			name: "movies unclosed quote on last line",
			files: map[string]string{
				MoviesFile:  "movieId,title,genres\r\n1,Toy Story (1995),Comedy\r\n2,\"Jumanji (1995),Adventure\r\n",
				RatingsFile: ratings,
			},
			want:        map[string]FileReport{MoviesFile: {File: MoviesFile, Read: 2, Imported: 1, Bad: 1}},
			wantBadRows: []string{"movies.csv:3: " + errQuote},
		},
		{
			name: "movies quote in unquoted field",
			files: map[string]string{
				MoviesFile: "movieId,title,genres\r\n1,Toy Story (1995),Comedy\r\n2,Jumanji \"(1995),Adventure\r\n" +
					"3,\"American President, The (1995)\",Drama\r\n4,Heat (1995),Action\r\n",
				RatingsFile: ratings,
			},
			want:        map[string]FileReport{MoviesFile: {File: MoviesFile, Read: 4, Imported: 3, Bad: 1}},
			wantBadRows: []string{"movies.csv:3: " + errBareQuote},
		},
		{
			name: "ratings unclosed quote",
			files: map[string]string{
				MoviesFile:  "movieId,title,genres\r\n1,Toy Story (1995),Comedy\r\n",
				RatingsFile: ratings + "1,\"1,3.0,964982704\r\n2,1,3.5,964982705\r\n3,1,4.5,964982706\r\n",
			},
			want:        map[string]FileReport{RatingsFile: {File: RatingsFile, Read: 4, Imported: 3, Bad: 1}},
			wantBadRows: []string{"ratings.csv:3: " + errQuote},
		},
		{
			name: "tags unclosed quote",
			files: map[string]string{
				MoviesFile:  "movieId,title,genres\r\n1,Toy Story (1995),Comedy\r\n",
				RatingsFile: ratings,
				TagsFile:    "userId,movieId,tag,timestamp\r\n1,1,\"funny,964982703\r\n1,1,pixar,964982703\r\n1,1,\"a, b\",964982703\r\n",
			},
			want:        map[string]FileReport{TagsFile: {File: TagsFile, Read: 3, Bad: 1}},
			wantBadRows: []string{"tags.csv:2: " + errQuote},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			store := newFakeStore()
			rep := importDir(t, store, dir, Options{})

			got := map[string]FileReport{MoviesFile: rep.Movies, RatingsFile: rep.Ratings, TagsFile: rep.Tags}
			for name, want := range tt.want {
				if got[name] != want {
					t.Errorf("%s report = %+v, want %+v", name, got[name], want)
				}
			}
			var badRows []string
			for _, b := range rep.BadRows {
				badRows = append(badRows, b.String())
			}
			if !slices.Equal(badRows, tt.wantBadRows) {
				t.Errorf("bad rows = %q, want %q", badRows, tt.wantBadRows)
			}
			if len(store.titles) != rep.Movies.Imported || len(store.ratings) != rep.Ratings.Imported {
				t.Errorf("store has %d titles and %d ratings, report says %d and %d",
					len(store.titles), len(store.ratings), rep.Movies.Imported, rep.Ratings.Imported)
			}
		})
	}
}

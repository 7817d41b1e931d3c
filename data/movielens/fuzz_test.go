package movielens

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/marquee/marquee/data"
)

func FuzzParseRating(f *testing.F) {
	f.Add("1", "31", "2.5", "964982703")
	f.Add("", "31", "5.5", "-1")
	f.Add(" 7 ", "0", "0x1p-1", "253402300799")
	f.Add("1", "2", "NaN", "1e3")
	f.Fuzz(func(t *testing.T, user, movie, rating, ts string) {
		r, err := parseRating([]string{user, movie, rating, ts})
		if err != nil {
			return
		}
		if err := data.ValidateRating(r); err != nil {
			t.Errorf("parseRating(%q, %q, %q, %q) accepted an invalid rating: %v", user, movie, rating, ts, err)
		}
		if strings.TrimSpace(r.UserID) != r.UserID || strings.TrimSpace(r.ContentID) != r.ContentID {
			t.Errorf("parseRating kept spaces around IDs %q, %q", r.UserID, r.ContentID)
		}
		if !r.Time.Equal(data.Normalize(r.Time)) {
			t.Errorf("time %v is not whole milliseconds in UTC", r.Time)
		}
	})
}

func FuzzParseMovie(f *testing.F) {
	f.Add("1", "Toy Story (1995)", "Adventure|Animation")
	f.Add("11", "American President, The (1995) ", "(no genres listed)")
	f.Add("171749", "Death Note: Desu nôto (2006–2007)", "||")
	f.Add("2", "(1995)", "")
	f.Add("3", "x (2006–)", "a| |b")
	f.Fuzz(func(t *testing.T, id, title, genres string) {
		m, err := parseMovie([]string{id, title, genres})
		if err != nil {
			return
		}
		if m.ID == "" || m.Name == "" || m.Type != "movie" {
			t.Errorf("parseMovie(%q, %q, %q) = %+v, want an ID, a name and type movie", id, title, genres, m)
		}
		if m.Year != 0 && (m.Year < 1 || m.Year > 9999) {
			t.Errorf("year %d is outside 1..9999", m.Year)
		}
		if m.Name != strings.TrimSpace(m.Name) {
			t.Errorf("name %q has surrounding spaces", m.Name)
		}
		for _, g := range m.Genres {
			if g == "" || g == noGenres || strings.Contains(g, "|") {
				t.Errorf("genre %q in %q", g, m.Genres)
			}
		}
	})
}

func FuzzTable(f *testing.F) {
	f.Add([]byte(utf8BOM + "userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n"))
	f.Add([]byte("userId,movieId,rating,timestamp\n1,\"1\n\",4.0,9\n2,x\"y,3,4\n\n3,3,3,3"))
	f.Add([]byte("userId,movieId\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, file []byte) {
		tb, err := newTable(RatingsFile, bytes.NewReader(file), ratingsHeader)
		if err != nil {
			if !errors.Is(err, ErrHeader) {
				t.Fatalf("newTable error %v does not wrap ErrHeader", err)
			}
			return
		}
		lastLine := 1
		for range len(file) + 1 {
			r, err := tb.next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				t.Fatalf("next: %v", err)
			}
			if r.line <= lastLine {
				t.Fatalf("line %d after line %d", r.line, lastLine)
			}
			lastLine = r.line
			if r.err == nil {
				_, _ = parseRating(r.fields)
			}
		}
		t.Fatalf("more rows than bytes in a %d-byte file", len(file))
	})
}

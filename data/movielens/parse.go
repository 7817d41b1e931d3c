package movielens

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/marquee/marquee/data"
)

// noGenres is the genres value of a movie without genres in movies.csv.
const noGenres = "(no genres listed)"

// maxTimestamp is the last second of year 9999 UTC. Later timestamps are
// rejected because exports store times as int64 milliseconds.
const maxTimestamp = 253402300799

// maxIDDigits bounds IDs so that they fit an int64 where a consumer parses them.
const maxIDDigits = 18

// parseMovie maps a movies.csv row onto a title.
func parseMovie(fields []string) (data.Title, error) {
	if err := checkFieldCount(fields, moviesHeader); err != nil {
		return data.Title{}, err
	}
	id, err := parseID("movieId", fields[0])
	if err != nil {
		return data.Title{}, err
	}
	title := strings.TrimSpace(fields[1])
	if title == "" {
		return data.Title{}, fmt.Errorf("title is empty")
	}
	if err := data.ValidateText("title", title); err != nil {
		return data.Title{}, err
	}
	if err := data.ValidateText("genres", fields[2]); err != nil {
		return data.Title{}, err
	}

	name, year := splitTitle(title)
	return data.Title{
		ID:     id,
		Name:   name,
		Year:   year,
		Genres: splitGenres(fields[2]),
		Type:   "movie",
	}, nil
}

// parseRating maps a ratings.csv row onto a rating and validates it.
func parseRating(fields []string) (data.Rating, error) {
	if err := checkFieldCount(fields, ratingsHeader); err != nil {
		return data.Rating{}, err
	}
	userID, err := parseID("userId", fields[0])
	if err != nil {
		return data.Rating{}, err
	}
	movieID, err := parseID("movieId", fields[1])
	if err != nil {
		return data.Rating{}, err
	}
	value, err := strconv.ParseFloat(strings.TrimSpace(fields[2]), 64)
	if err != nil {
		return data.Rating{}, fmt.Errorf("rating %q is not a number", fields[2])
	}
	t, err := parseTimestamp(fields[3])
	if err != nil {
		return data.Rating{}, err
	}

	r := data.Rating{UserID: userID, ContentID: movieID, Value: value, Time: t}
	if err := data.ValidateRating(r); err != nil {
		return data.Rating{}, err
	}
	return r, nil
}

// tag is a tags.csv row. Tags are checked but not stored.
type tag struct {
	userID, movieID, text string
	time                  time.Time
}

// parseTag checks a tags.csv row.
func parseTag(fields []string) (tag, error) {
	if err := checkFieldCount(fields, tagsHeader); err != nil {
		return tag{}, err
	}
	userID, err := parseID("userId", fields[0])
	if err != nil {
		return tag{}, err
	}
	movieID, err := parseID("movieId", fields[1])
	if err != nil {
		return tag{}, err
	}
	text := strings.TrimSpace(fields[2])
	if text == "" {
		return tag{}, fmt.Errorf("tag is empty")
	}
	if !utf8.ValidString(text) {
		return tag{}, fmt.Errorf("tag %q is not valid UTF-8", strings.ToValidUTF8(text, "\uFFFD"))
	}
	t, err := parseTimestamp(fields[3])
	if err != nil {
		return tag{}, err
	}
	return tag{userID: userID, movieID: movieID, text: text, time: t}, nil
}

func checkFieldCount(fields []string, header string) error {
	want := strings.Count(header, ",") + 1
	if len(fields) != want {
		return fmt.Errorf("row has %d fields, want %d (%s)", len(fields), want, header)
	}
	return nil
}

// parseID accepts the decimal integers MovieLens uses as IDs and returns them
// as written, so "007" stays "007".
func parseID(column, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("%s is empty", column)
	}
	if len(s) > maxIDDigits || strings.Trim(s, "0123456789") != "" {
		return "", fmt.Errorf("%s %q is not a decimal integer of at most %d digits", column, s, maxIDDigits)
	}
	return s, nil
}

// parseTimestamp parses Unix seconds into a UTC time.
func parseTimestamp(s string) (time.Time, error) {
	sec, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || sec < 0 || sec > maxTimestamp {
		return time.Time{}, fmt.Errorf("timestamp %q is not Unix seconds between 0 and %d", s, maxTimestamp)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// splitTitle splits a trailing year in brackets off a MovieLens title:
// "Heat (1995)" gives "Heat" and 1995. A range such as "(2006–2007)" gives its
// first year. A title without a year comes back whole with year 0, and so
// does a title that is nothing but a year.
func splitTitle(title string) (name string, year int) {
	title = strings.TrimSpace(title)
	if !strings.HasSuffix(title, ")") {
		return title, 0
	}
	open := strings.LastIndexByte(title, '(')
	if open < 0 {
		return title, 0
	}
	year = parseYear(title[open+1 : len(title)-1])
	name = strings.TrimSpace(title[:open])
	if year == 0 || name == "" {
		return title, 0
	}
	return name, year
}

// parseYear returns the year of "1995", "2006–2007", "2006-2007" or "2006-",
// or 0 for anything else.
func parseYear(s string) int {
	first, second := s, ""
	for _, dash := range []string{"–", "-"} {
		if a, b, ok := strings.Cut(s, dash); ok {
			first, second = a, b
			break
		}
	}
	if !isYear(first) || (second != "" && !isYear(second)) {
		return 0
	}
	year, _ := strconv.Atoi(first) // isYear checked the digits
	return year
}

func isYear(s string) bool {
	return len(s) == 4 && strings.Trim(s, "0123456789") == ""
}

// splitGenres splits "Action|Comedy" into its genres, dropping empty entries
// and MovieLens' marker for a movie without genres.
func splitGenres(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" || s == noGenres {
		return nil
	}
	var genres []string
	for _, g := range strings.Split(s, "|") {
		if g = strings.TrimSpace(g); g != "" && g != noGenres {
			genres = append(genres, g)
		}
	}
	return genres
}

// SplitTitle splits a trailing year in brackets off a MovieLens title, as
// the importer does: "Heat (1995)" gives "Heat" and 1995, and a title
// without a year comes back whole with year 0. Other importers of
// MovieLens layouts use it to name titles the same way.
func SplitTitle(title string) (name string, year int) { return splitTitle(title) }

// SplitGenres splits "Action|Comedy" into its genres, as the importer does.
func SplitGenres(s string) []string { return splitGenres(s) }

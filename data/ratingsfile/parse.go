package ratingsfile

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/data/movielens"
)

// fields are the raw values of one row.
type fields struct {
	user, item, rating, time string
	line                     int
	// at is the time of a Parquet DATE, TIMESTAMP or INT96 column, whose
	// type carries its unit. It is set when typed is true, and time is empty.
	at    time.Time
	typed bool
	err   error // set when the row could not be split into fields
}

type parser struct {
	timeFormat string
	scale      *Scale
}

// maxTime bounds times so that they fit the int64 milliseconds of exports.
var maxTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// Unix seconds and milliseconds share their integers: 1600000000 is
// 2020-09-13 in seconds and 1970-01-19 in milliseconds. maxUnixSeconds, the
// last second of 9999, splits them. An integer above it is past 9999 in
// seconds, so the range check rejects milliseconds read as seconds. The
// symmetric check rejects an integer up to it read as milliseconds, which is
// a time before 1978-01-11 21:31:40.8 UTC. Both bounds are where the two
// units meet, so the hint at the other unit is always right. A later bound,
// such as 1990, would also reject integers that are past 9999 in seconds.
//
// NOTE: genuine millisecond times before 1978-01-11 are rejected too. They
// can be imported as RFC 3339 text or from a Parquet TIMESTAMP column, whose
// unit is part of its type, so these checks do not apply to it.
var (
	maxUnixSeconds = maxTime.Unix()
	maxUnixMillis  = maxTime.UnixMilli()
)

func (p parser) parse(f fields) (data.Rating, error) {
	if f.err != nil {
		return data.Rating{}, f.err
	}
	r := data.Rating{UserID: strings.TrimSpace(f.user), ContentID: strings.TrimSpace(f.item)}
	if err := data.ValidateText("user", r.UserID); err != nil {
		return data.Rating{}, err
	}
	if err := data.ValidateText("item", r.ContentID); err != nil {
		return data.Rating{}, err
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(f.rating), 64)
	if err != nil {
		return data.Rating{}, fmt.Errorf("rating %q is not a number", f.rating)
	}
	if r.Value, err = p.rescale(v); err != nil {
		return data.Rating{}, err
	}
	if f.typed {
		r.Time, err = inRange(f.at, f.at.UTC().Format(time.RFC3339Nano))
	} else {
		r.Time, err = parseTime(strings.TrimSpace(f.time), p.timeFormat)
	}
	if err != nil {
		return data.Rating{}, err
	}
	if err := data.ValidateRating(r); err != nil {
		return data.Rating{}, err
	}
	return r, nil
}

// rescale maps v from the import's scale onto 0.5 to 5 in steps of 0.5.
func (p parser) rescale(v float64) (float64, error) {
	s := p.scale
	if s == nil {
		return v, nil
	}
	if v < s.Min || v > s.Max || math.IsNaN(v) {
		return 0, fmt.Errorf("rating %v is outside the scale %v to %v", v, s.Min, s.Max)
	}
	scaled := 0.5 + (v-s.Min)/(s.Max-s.Min)*4.5
	return math.Round(scaled*2) / 2, nil
}

// parseTime parses s in format and checks that it lies between 1970 and
// 9999, and, for Unix times, that it does not look like the other unit.
func parseTime(s, format string) (time.Time, error) {
	if format == TimeRFC3339 {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("time %q is not RFC 3339", s)
		}
		return inRange(t, strconv.Quote(s))
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q is not an integer (%s)", s, format)
	}
	if format == TimeUnixMillis {
		return unixMillis(n, s)
	}
	return unixSeconds(n, s)
}

// unixSeconds returns the time n seconds after 1970, which s spells.
func unixSeconds(n int64, s string) (time.Time, error) {
	switch {
	case n > maxUnixSeconds && n <= maxUnixMillis:
		return time.Time{}, fmt.Errorf("time %q is past 9999 in seconds and looks like Unix milliseconds (%s): use --time-format unix_ms",
			s, time.UnixMilli(n).UTC().Format(time.RFC3339Nano))
	case n < 0 || n > maxUnixSeconds:
		return time.Time{}, outOfRange(strconv.Quote(s))
	}
	return time.Unix(n, 0).UTC(), nil
}

// unixMillis returns the time n milliseconds after 1970, which s spells.
func unixMillis(n int64, s string) (time.Time, error) {
	switch {
	case n < 0 || n > maxUnixMillis:
		return time.Time{}, outOfRange(strconv.Quote(s))
	case n <= maxUnixSeconds:
		return time.Time{}, fmt.Errorf("time %q is before 1978-01-11 in milliseconds and looks like Unix seconds (%s): use --time-format unix",
			s, time.Unix(n, 0).UTC().Format(time.RFC3339))
	}
	return time.UnixMilli(n).UTC(), nil
}

// inRange returns t in UTC when it lies between 1970 and 9999. text names t
// in the error.
func inRange(t time.Time, text string) (time.Time, error) {
	if t.Before(time.Unix(0, 0)) || t.After(maxTime) {
		return time.Time{}, outOfRange(text)
	}
	return t.UTC(), nil
}

func outOfRange(text string) error { return fmt.Errorf("time %s is outside 1970 to 9999", text) }

// sortUsers orders users by ID: decimal IDs by value, so user 9 comes
// before user 10, then others as strings.
func sortUsers(users []data.User) {
	sort.Slice(users, func(a, b int) bool {
		x, y := users[a].ID, users[b].ID
		if len(x) != len(y) && isDecimal(x) && isDecimal(y) {
			return len(x) < len(y)
		}
		return x < y
	})
}

func isDecimal(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }

// titleInfo is a title's entry in movies.dat.
type titleInfo struct {
	name   string
	year   int
	genres []string
}

// titleNames reads the movies.dat beside a dat file, if any.
func (im *importer) titleNames() (map[string]titleInfo, error) {
	if im.opts.Layout != LayoutDat {
		return nil, nil
	}
	path := filepath.Join(filepath.Dir(im.path), "movies.dat")
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names := map[string]titleInfo{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(latin1ToUTF8(sc.Text()), "::")
		if len(parts) != 3 || strings.ContainsFunc(parts[1]+parts[2], unicode.IsControl) {
			continue // a bad line leaves its title named by its ID
		}
		name, year := movielens.SplitTitle(parts[1])
		names[strings.TrimSpace(parts[0])] = titleInfo{name: name, year: year, genres: movielens.SplitGenres(parts[2])}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return names, nil
}

// latin1ToUTF8 returns s unchanged when it is valid UTF-8 and otherwise
// reads its bytes as ISO 8859-1, the encoding of MovieLens 1M's movies.dat.
func latin1ToUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	runes := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		runes[i] = rune(s[i])
	}
	return string(runes)
}

// newTitle returns the title of id, named by its entry in names when there
// is one and by its ID otherwise.
func newTitle(id string, names map[string]titleInfo) data.Title {
	t := data.Title{ID: id, Name: id, Type: "movie"}
	if info, ok := names[id]; ok {
		t.Name, t.Year, t.Genres = info.name, info.year, info.genres
	}
	return t
}

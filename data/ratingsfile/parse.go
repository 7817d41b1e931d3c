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
	// timeFormat overrides the import's time format, for Parquet timestamp
	// columns, which carry their own unit.
	timeFormat string
	err        error // set when the row could not be split into fields
}

type parser struct {
	timeFormat string
	scale      *Scale
}

// maxTime bounds times so that they fit the int64 milliseconds of exports.
var maxTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

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
	format := p.timeFormat
	if f.timeFormat != "" {
		format = f.timeFormat
	}
	if r.Time, err = parseTime(strings.TrimSpace(f.time), format); err != nil {
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

func parseTime(s, format string) (time.Time, error) {
	var t time.Time
	switch format {
	case TimeRFC3339:
		var err error
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return t, fmt.Errorf("time %q is not RFC 3339", s)
		}
	default:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return t, fmt.Errorf("time %q is not an integer (%s)", s, format)
		}
		if format == TimeUnixMillis {
			t = time.UnixMilli(n)
		} else {
			t = time.Unix(n, 0)
		}
	}
	if t.Before(time.Unix(0, 0)) || t.After(maxTime) {
		return time.Time{}, fmt.Errorf("time %q is outside 1970 to 9999", s)
	}
	return t.UTC(), nil
}

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

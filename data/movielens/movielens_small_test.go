package movielens

import (
	"testing"
	"time"

	"github.com/marquee/marquee/internal/testenv"
)

// smallDir returns the ml-latest-small directory (see testenv.MovieLensDir).
func smallDir(t testing.TB) string {
	return testenv.MovieLensDir(t)
}

func TestImportMovieLensSmall(t *testing.T) {
	dir := smallDir(t)
	store := newFakeStore()
	rep := importDir(t, store, dir, Options{})

	counts := []struct {
		name      string
		got, want int
	}{
		{"movies imported", rep.Movies.Imported, 9742},
		{"ratings imported", rep.Ratings.Imported, 100836},
		{"tags read", rep.Tags.Read, 3683},
		{"users", rep.Users, 610},
		{"bad rows", rep.BadTotal(), 0},
		{"titles stored", len(store.titles), 9742},
		{"ratings stored", len(store.ratings), 100836},
		{"users stored", len(store.users), 610},
	}
	for _, c := range counts {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if len(rep.BadRows) > 0 {
		t.Errorf("first bad rows: %v", rep.BadRows)
	}

	title := store.titles["11"]
	if title.Name != "American President, The" || title.Year != 1995 {
		t.Errorf("title 11 = %q (%d), want \"American President, The\" (1995)", title.Name, title.Year)
	}
	// User 1's earliest rating, of movie 1210 at 964980499.
	if got, want := store.users["1"].CreatedAt, time.Unix(964980499, 0).UTC(); !got.Equal(want) {
		t.Errorf("user 1 created at %v, want %v", got, want)
	}
	r, ok := store.ratings[ratingKey{"1", "1", 964982703000}]
	if !ok || r.Value != 4 {
		t.Errorf("rating of user 1 for movie 1 = %+v (found %v), want 4.0", r, ok)
	}
}

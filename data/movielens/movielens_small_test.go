package movielens

import (
	"os"
	"testing"
	"time"
)

// smallDir returns the ml-latest-small directory: $MARQUEE_ML_SMALL, or by
// default the shared data folder that sits beside the repository checkout
// on developer machines and in CI. The dataset is not in the repository
// because its licence limits redistribution. The test skips when the
// directory is missing, except under CI=true where it fails.
func smallDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("MARQUEE_ML_SMALL")
	if dir == "" {
		dir = "../../../shared/data/ml-latest-small"
	}
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("MovieLens ml-latest-small is required under CI=true: %v", err)
		}
		t.Skipf("MovieLens ml-latest-small not found: %v", err)
	}
	return dir
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

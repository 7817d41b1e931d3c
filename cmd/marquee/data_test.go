package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseScaleRejectsInfinity checks --rating-scale bounds that
// strconv.ParseFloat accepts as infinite. Such a scale maps every rating to
// one end.
func TestParseScaleRejectsInfinity(t *testing.T) {
	for _, s := range []string{"0:Inf", "-Inf:10", "1:+Inf", "-inf:inf", "0:1e309", "-1.7e308:1.7e308", "NaN:1"} {
		if scale, err := parseScale(s); err == nil {
			t.Errorf("parseScale(%q) = %+v, expected an error", s, *scale)
		}
	}
	if scale, err := parseScale("1:10"); err != nil || scale.Min != 1 || scale.Max != 10 {
		t.Errorf("parseScale(1:10) = %+v, %v, want 1 to 10", scale, err)
	}
}

// TestImportFailsWhenNothingImported checks the exit status of imports:
// an error when a file had rows and every one was bad, success when some
// were imported, with the bad ones reported either way.
func TestImportFailsWhenNothingImported(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	allBad := write("bad.csv", "user_id,item_id,rating,timestamp\na,x,9,1\nb,y,9,2\n")
	someBad := write("some.csv", "user_id,item_id,rating,timestamp\na,x,4,1\nb,y,9,2\n")
	empty := write("empty.csv", "user_id,item_id,rating,timestamp\n")
	mlBad := filepath.Dir(write("ml-bad/movies.csv", "movieId,title,genres\nx,Bad,Drama\n"))
	write("ml-bad/ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n")
	mlRatingsBad := filepath.Dir(write("ml-ratings-bad/movies.csv", "movieId,title,genres\n1,Good (1995),Drama\n"))
	write("ml-ratings-bad/ratings.csv", "userId,movieId,rating,timestamp\n1,1,9.0,964982703\n")

	tests := []struct {
		name    string
		args    []string
		wantErr string // empty: success
		wantOut string
	}{
		{"every rating bad", []string{"ratings", allBad}, "import bad.csv: none of its 2 rows", "skipped 2 bad rows"},
		{"some ratings bad", []string{"ratings", someBad}, "", "skipped 1 bad rows"},
		{"no rows", []string{"ratings", empty}, "", "imported 0 ratings"},
		{"every movie bad", []string{"movielens", mlBad}, "import movies.csv: none of its 1 rows", "movies.csv:2"},
		{"every MovieLens rating bad", []string{"movielens", mlRatingsBad}, "import ratings.csv: none of its 1 rows", "ratings.csv:2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--workdir", t.TempDir(), "data", "import"}, tc.args...)
			out, err := runCLIErr(args...)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("marquee %s: %v, want success", strings.Join(args, " "), err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("marquee %s: error %v, want one containing %q", strings.Join(args, " "), err, tc.wantErr)
			}
			if !strings.Contains(out, tc.wantOut) {
				t.Errorf("output %q lacks %q", out, tc.wantOut)
			}
		})
	}
}

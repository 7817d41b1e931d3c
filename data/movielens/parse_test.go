package movielens

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSplitTitle(t *testing.T) {
	tests := []struct {
		title    string
		wantName string
		wantYear int
	}{
		{"Toy Story (1995)", "Toy Story", 1995},
		{"American President, The (1995)", "American President, The", 1995},
		{"From Dusk Till Dawn 2: Texas Blood Money (1999) ", "From Dusk Till Dawn 2: Texas Blood Money", 1999},
		{"Babylon 5", "Babylon 5", 0},
		{"Death Note: Desu nôto (2006–2007)", "Death Note: Desu nôto", 2006},
		{"Some Show (2006-2007)", "Some Show", 2006},
		{"Ongoing Show (2016-)", "Ongoing Show", 2016},
		{"Shanghai Triad (Yao a yao yao dao waipo qiao) (1995)", "Shanghai Triad (Yao a yao yao dao waipo qiao)", 1995},
		{"(500) Days of Summer (2009)", "(500) Days of Summer", 2009},
		{"Chapter (1)", "Chapter (1)", 0},
		{"Odd (19x5)", "Odd (19x5)", 0},
		{"Odd Range (2006–20x7)", "Odd Range (2006–20x7)", 0},
		{"(1995)", "(1995)", 0},
		{"Long (19955)", "Long (19955)", 0},
		{"", "", 0},
	}
	for _, tt := range tests {
		name, year := splitTitle(tt.title)
		if name != tt.wantName || year != tt.wantYear {
			t.Errorf("splitTitle(%q) = %q, %d; want %q, %d", tt.title, name, year, tt.wantName, tt.wantYear)
		}
	}
}

func TestSplitGenres(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Adventure|Animation|Children", []string{"Adventure", "Animation", "Children"}},
		{"Drama", []string{"Drama"}},
		{"(no genres listed)", nil},
		{"", nil},
		{"Drama||Comedy|", []string{"Drama", "Comedy"}},
	}
	for _, tt := range tests {
		if got := splitGenres(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("splitGenres(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseMovie(t *testing.T) {
	got, err := parseMovie([]string{"11", "American President, The (1995)", "Comedy|Drama|Romance"})
	if err != nil {
		t.Fatalf("parseMovie: %v", err)
	}
	if got.ID != "11" || got.Name != "American President, The" || got.Year != 1995 || got.Type != "movie" {
		t.Errorf("parseMovie = %+v, want ID 11, Name \"American President, The\", Year 1995, Type movie", got)
	}
	if want := []string{"Comedy", "Drama", "Romance"}; !slices.Equal(got.Genres, want) {
		t.Errorf("genres = %q, want %q", got.Genres, want)
	}
}

func TestParseMovieBadRows(t *testing.T) {
	tests := []struct {
		name    string
		fields  []string
		wantErr string
	}{
		{"too few fields", []string{"1", "Heat (1995)"}, "row has 2 fields, want 3"},
		{"too many fields", []string{"1", "Heat", "(1995)", "Action"}, "row has 4 fields, want 3"},
		{"empty id", []string{"", "Heat (1995)", "Action"}, "movieId is empty"},
		{"id not a number", []string{"x1", "Heat (1995)", "Action"}, `movieId "x1" is not a decimal integer`},
		{"negative id", []string{"-1", "Heat (1995)", "Action"}, `movieId "-1" is not a decimal integer`},
		{"id too long", []string{strings.Repeat("9", 19), "Heat", "Action"}, "is not a decimal integer of at most 18 digits"},
		{"empty title", []string{"1", "  ", "Action"}, "title is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseMovie(tt.fields)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseMovie(%q) error = %v, want it to contain %q", tt.fields, err, tt.wantErr)
			}
		})
	}
}

func TestParseRating(t *testing.T) {
	got, err := parseRating([]string{"1", "31", "2.5", "964982703"})
	if err != nil {
		t.Fatalf("parseRating: %v", err)
	}
	wantTime := time.Date(2000, 7, 30, 18, 45, 3, 0, time.UTC)
	if got.UserID != "1" || got.ContentID != "31" || got.Value != 2.5 || !got.Time.Equal(wantTime) {
		t.Errorf("parseRating = %+v, want user 1, content 31, value 2.5, time %v", got, wantTime)
	}
	if got.Time.Location() != time.UTC {
		t.Errorf("time zone = %v, want UTC", got.Time.Location())
	}
}

func TestParseRatingBadRows(t *testing.T) {
	tests := []struct {
		name    string
		fields  []string
		wantErr string
	}{
		{"too few fields", []string{"1", "31", "2.5"}, "row has 3 fields, want 4"},
		{"too many fields", []string{"1", "31", "2.5", "964982703", "x"}, "row has 5 fields, want 4"},
		{"empty user", []string{"", "31", "2.5", "964982703"}, "userId is empty"},
		{"empty movie", []string{"1", " ", "2.5", "964982703"}, "movieId is empty"},
		{"user not a number", []string{"u1", "31", "2.5", "964982703"}, `userId "u1" is not a decimal integer`},
		{"rating not a number", []string{"1", "31", "good", "964982703"}, `rating "good" is not a number`},
		{"rating empty", []string{"1", "31", "", "964982703"}, `rating "" is not a number`},
		{"rating above 5", []string{"1", "31", "5.5", "964982703"}, "value 5.5 is not between 0.5 and 5.0"},
		{"rating zero", []string{"1", "31", "0", "964982703"}, "value 0 is not between 0.5 and 5.0"},
		{"rating off step", []string{"1", "31", "3.25", "964982703"}, "value 3.25 is not between 0.5 and 5.0 in steps of 0.5"},
		{"rating NaN", []string{"1", "31", "NaN", "964982703"}, "value NaN is not between"},
		{"timestamp fraction", []string{"1", "31", "3", "964982703.5"}, `timestamp "964982703.5" is not Unix seconds`},
		{"timestamp negative", []string{"1", "31", "3", "-1"}, `timestamp "-1" is not Unix seconds`},
		{"timestamp after 9999", []string{"1", "31", "3", "253402300800"}, `timestamp "253402300800" is not Unix seconds`},
		{"timestamp empty", []string{"1", "31", "3", ""}, `timestamp "" is not Unix seconds`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseRating(tt.fields)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseRating(%q) error = %v, want it to contain %q", tt.fields, err, tt.wantErr)
			}
		})
	}
}

func TestParseTagBadRows(t *testing.T) {
	tests := []struct {
		name    string
		fields  []string
		wantErr string
	}{
		{"too few fields", []string{"2", "60756", "funny"}, "row has 3 fields, want 4"},
		{"empty tag", []string{"2", "60756", " ", "1445714994"}, "tag is empty"},
		{"empty movie", []string{"2", "", "funny", "1445714994"}, "movieId is empty"},
		{"bad timestamp", []string{"2", "60756", "funny", "yesterday"}, `timestamp "yesterday" is not Unix seconds`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseTag(tt.fields)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseTag(%q) error = %v, want it to contain %q", tt.fields, err, tt.wantErr)
			}
		})
	}
}

package synth

import (
	"fmt"
	"strings"
	"time"
)

// Defaults for the zero fields of [Config].
const (
	DefaultUsers            = 2000
	DefaultTitles           = 3000
	DefaultDim              = 8
	DefaultMeanInteractions = 60
	DefaultSpan             = 180 * 24 * time.Hour
	DefaultRatingShare      = 0.3
	DefaultSeriesShare      = 0.15
	DefaultZipf             = 1.0
	DefaultTasteWeight      = 4.0
)

// Upper bounds checked by Validate. They keep the output within what a demo
// store holds, and IDs within their zero-padded widths.
const (
	maxUsers  = 10_000_000
	maxTitles = 1_000_000
	maxDim    = 256
)

// DefaultGenres returns the 18 genres of MovieLens as movies.csv spells them,
// most frequent first in ml-latest-small, leaving out IMAX, which is a format.
// Each call returns a new slice.
func DefaultGenres() []string {
	return strings.Fields("Drama Comedy Thriller Action Romance Adventure Crime Sci-Fi Horror " +
		"Fantasy Children Animation Mystery Documentary War Musical Western Film-Noir")
}

// Config describes a synthetic dataset. Zero fields take the defaults above,
// except End, which must be set, and Seed, for which 0 is a seed like any
// other. The same Config gives the same data.
type Config struct {
	// Seed selects the dataset.
	Seed uint64

	// End is the reference time the event log ends at: every event falls in
	// [End-Span, End). It is passed in rather than read from the clock so
	// that a seed always gives the same data.
	End time.Time

	// Span is the length of the event log.
	Span time.Duration

	Users  int
	Titles int

	// Genres are the genre names titles and users draw from, 1 to 3 each.
	// Earlier genres are drawn more often.
	Genres []string

	// Dim is the dimension of the latent taste space.
	Dim int

	// MeanInteractions is the mean number of titles a user rates or
	// watches. The count per user follows a log-normal law, so a few users
	// have many times the mean. A watched title produces several watch
	// events.
	MeanInteractions float64

	// RatingShare is the share of interactions recorded as a rating; the
	// others are recorded as watch sessions. It lies in (0, 1].
	RatingShare float64

	// SeriesShare is the share of titles that are series; the others are
	// movies. It lies in (0, 1].
	SeriesShare float64

	// Zipf is the exponent s of the popularity law: the title of rank r
	// (from 1) has a popularity weight proportional to r^-s.
	Zipf float64

	// TasteWeight scales the user-title affinity against log popularity
	// when users choose titles. Higher values give more personal, less
	// popularity-driven histories.
	TasteWeight float64
}

// WithDefaults returns c with its zero fields set to the defaults.
//
// NOTE: because zero means "default", RatingShare and SeriesShare cannot be
// set to exactly 0; a tiny value such as 1e-9 comes close.
func (c Config) WithDefaults() Config {
	setDefault(&c.Users, DefaultUsers)
	setDefault(&c.Titles, DefaultTitles)
	setDefault(&c.Dim, DefaultDim)
	setDefault(&c.Span, DefaultSpan)
	setDefault(&c.MeanInteractions, DefaultMeanInteractions)
	setDefault(&c.RatingShare, DefaultRatingShare)
	setDefault(&c.SeriesShare, DefaultSeriesShare)
	setDefault(&c.Zipf, DefaultZipf)
	setDefault(&c.TasteWeight, DefaultTasteWeight)
	if c.Genres == nil {
		c.Genres = DefaultGenres()
	}
	return c
}

func setDefault[T comparable](field *T, value T) {
	var zero T
	if *field == zero {
		*field = value
	}
}

// ConfigError names a Config field whose value is out of range.
type ConfigError struct {
	Field string
	Value any
	Want  string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("invalid synth config: %s is %v, want %s", e.Field, e.Value, e.Want)
}

// Validate returns a *ConfigError for the first field out of range. Call it
// on the result of WithDefaults: a zero field is reported, not defaulted.
func (c Config) Validate() error {
	checks := []struct {
		ok    bool
		field string
		value any
		want  string
	}{
		{!c.End.IsZero(), "End", c.End, "the reference time the event log ends at"},
		{c.Span >= 24*time.Hour, "Span", c.Span, "at least 24h"},
		{c.Users >= 1 && c.Users <= maxUsers, "Users", c.Users, fmt.Sprintf("1 to %d", maxUsers)},
		{c.Titles >= 1 && c.Titles <= maxTitles, "Titles", c.Titles, fmt.Sprintf("1 to %d", maxTitles)},
		{c.Dim >= 2 && c.Dim <= maxDim, "Dim", c.Dim, fmt.Sprintf("2 to %d", maxDim)},
		{c.MeanInteractions >= 1 && c.MeanInteractions <= float64(c.Titles), "MeanInteractions", c.MeanInteractions,
			"at least 1 and at most Titles"},
		{c.RatingShare > 0 && c.RatingShare <= 1, "RatingShare", c.RatingShare, "a share in (0, 1]"},
		{c.SeriesShare > 0 && c.SeriesShare <= 1, "SeriesShare", c.SeriesShare, "a share in (0, 1]"},
		{c.Zipf > 0 && c.Zipf <= 10, "Zipf", c.Zipf, "an exponent in (0, 10]"},
		{c.TasteWeight > 0 && c.TasteWeight <= 100, "TasteWeight", c.TasteWeight, "a weight in (0, 100]"},
	}
	for _, ck := range checks {
		if !ck.ok {
			return &ConfigError{Field: ck.field, Value: ck.value, Want: ck.want}
		}
	}
	return validateGenres(c.Genres)
}

func validateGenres(genres []string) error {
	if len(genres) == 0 {
		return &ConfigError{Field: "Genres", Value: genres, Want: "at least one genre name"}
	}
	seen := make(map[string]bool, len(genres))
	for _, g := range genres {
		key := strings.ToLower(g)
		if strings.TrimSpace(g) == "" || seen[key] {
			return &ConfigError{Field: "Genres", Value: fmt.Sprintf("%q", genres), Want: "distinct, non-empty genre names"}
		}
		seen[key] = true
	}
	return nil
}

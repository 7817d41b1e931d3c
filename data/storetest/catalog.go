package storetest

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/marquee/marquee/data"
)

func testTitleRoundTrip(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	want := data.Title{
		ID: "tt0133093", Name: "The Matrix", Year: 1999, Genres: []string{"Action", "Sci-Fi"},
		Type: "movie", DurationSec: 8160, Description: "A hacker learns what the world is.",
		CreatedAt: at(10), UpdatedAt: at(20),
	}
	bare := data.Title{ID: "bare"}
	must(t, "PutTitles", s.PutTitles(ctx, []data.Title{want, bare}))

	got, err := s.Title(ctx, want.ID)
	must(t, "Title", err)
	checkTitles(t, "Title("+want.ID+")", []data.Title{got}, []data.Title{want})
	got, err = s.Title(ctx, "bare")
	must(t, "Title", err)
	checkTitles(t, "Title(bare) with zero fields", []data.Title{got}, []data.Title{bare})
}

func testTitleUnknown(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()

	_, err := s.Title(ctx, "nothing")
	wantErr(t, "Title(nothing)", err, data.ErrNotFound)
	must(t, "DeleteTitle(nothing)", s.DeleteTitle(ctx, "nothing"))
	wantErr(t, "PutTitles with an empty ID", s.PutTitles(ctx, []data.Title{{ID: "t1"}, {Name: "no id"}}), data.ErrInvalid)
	_, err = s.Title(ctx, "t1")
	wantErr(t, "Title(t1) of a rejected batch", err, data.ErrNotFound)
	must(t, "PutTitles with no titles", s.PutTitles(ctx, nil))
}

func testPutTitlesUpsert(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	first := data.Title{ID: "t1", Name: "First Cut", Year: 2001, Genres: []string{"Drama", "Crime"}}
	must(t, "PutTitles", s.PutTitles(ctx, []data.Title{first}))
	must(t, "PutTitles again", s.PutTitles(ctx, []data.Title{first}))
	page, err := s.ListTitles(ctx, data.TitleQuery{})
	must(t, "ListTitles", err)
	checkTitles(t, "ListTitles after putting one title twice", page.Titles, []data.Title{first})

	second := data.Title{ID: "t1", Name: "Director's Cut", Year: 2002, Genres: []string{"Comedy"}}
	must(t, "PutTitles replacing t1", s.PutTitles(ctx, []data.Title{second}))
	got, err := s.Title(ctx, "t1")
	must(t, "Title", err)
	checkTitles(t, "Title(t1) after upsert", []data.Title{got}, []data.Title{second})

	// The genre filter follows the new genres only.
	for genre, want := range map[string][]data.Title{"Drama": nil, "Crime": nil, "Comedy": {second}} {
		page, err := s.ListTitles(ctx, data.TitleQuery{Genre: genre})
		must(t, "ListTitles", err)
		checkTitles(t, "ListTitles(genre "+genre+") after upsert", page.Titles, want)
	}
}

func testTitlesInOrder(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	titles := []data.Title{{ID: "a", Name: "A"}, {ID: "b", Name: "B"}, {ID: "c", Name: "C"}}
	must(t, "PutTitles", s.PutTitles(ctx, titles))

	got, err := s.Titles(ctx, []string{"c", "missing", "a", "b"})
	must(t, "Titles", err)
	checkTitles(t, "Titles(c, missing, a, b)", got, []data.Title{titles[2], titles[0], titles[1]})

	got, err = s.Titles(ctx, nil)
	must(t, "Titles(nil)", err)
	if len(got) != 0 {
		t.Errorf("Titles(nil): got %d titles, want 0", len(got))
	}
	got, err = s.Titles(ctx, []string{"missing"})
	must(t, "Titles(missing)", err)
	if len(got) != 0 {
		t.Errorf("Titles(missing): got %d titles, want 0", len(got))
	}
}

// catalog is a small catalog for filter tests. Names contain the characters
// that SQL LIKE patterns treat as wildcards.
func catalog() []data.Title {
	return []data.Title{
		{ID: "t01", Name: "The Matrix", Year: 1999, Genres: []string{"Action", "Sci-Fi"}},
		{ID: "t02", Name: "Matrix Reloaded", Year: 2003, Genres: []string{"action", "sci-fi"}},
		{ID: "t03", Name: "Amélie", Year: 2001, Genres: []string{"Comedy", "Romance"}},
		{ID: "t04", Name: "100% Wolf", Year: 2020, Genres: []string{"Animation", "Comedy"}},
		{ID: "t05", Name: "Docudrama_Story", Year: 1999, Genres: []string{"Docudrama"}},
		{ID: "t06", Name: "Drama Queen", Year: 2001, Genres: []string{"Drama"}},
		{ID: "t07", Name: "ÉCOLE", Year: 2001, Genres: []string{"Drama", "COMEDY"}},
		{ID: "t08", Name: "No Genre", Year: 0},
	}
}

func testListTitlesFilters(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	titles := catalog()
	must(t, "PutTitles", s.PutTitles(ctx, titles))

	tests := []struct {
		name string
		q    data.TitleQuery
		want []string
	}{
		{"no filter", data.TitleQuery{}, []string{"t01", "t02", "t03", "t04", "t05", "t06", "t07", "t08"}},
		{"genre", data.TitleQuery{Genre: "Comedy"}, []string{"t03", "t04", "t07"}},
		{"genre in other case", data.TitleQuery{Genre: "SCI-FI"}, []string{"t01", "t02"}},
		{"genre is exact, not a substring", data.TitleQuery{Genre: "drama"}, []string{"t06", "t07"}},
		{"unknown genre", data.TitleQuery{Genre: "Western"}, nil},
		{"year", data.TitleQuery{Year: 2001}, []string{"t03", "t06", "t07"}},
		{"text", data.TitleQuery{Text: "matrix"}, []string{"t01", "t02"}},
		{"text in other case", data.TitleQuery{Text: "MATRIX RE"}, []string{"t02"}},
		{"text with non-ASCII case", data.TitleQuery{Text: "école"}, []string{"t07"}},
		{"text with accents", data.TitleQuery{Text: "amélie"}, []string{"t03"}},
		{"text percent sign is literal", data.TitleQuery{Text: "%"}, []string{"t04"}},
		{"text underscore is literal", data.TitleQuery{Text: "_"}, []string{"t05"}},
		{"genre and year", data.TitleQuery{Genre: "action", Year: 1999}, []string{"t01"}},
		{"genre, year and text", data.TitleQuery{Genre: "drama", Year: 2001, Text: "queen"}, []string{"t06"}},
		{"filters matching nothing", data.TitleQuery{Genre: "Drama", Year: 1999}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page, err := s.ListTitles(ctx, tc.q)
			must(t, "ListTitles", err)
			if got := titleIDs(page.Titles); !slices.Equal(got, tc.want) {
				t.Errorf("ListTitles(%+v): got %q, want %q", tc.q, got, tc.want)
			}
			if page.Next != "" {
				t.Errorf("ListTitles(%+v): got Next %q on the only page, want none", tc.q, page.Next)
			}
		})
	}
}

func titleIDs(titles []data.Title) []string {
	var ids []string
	for _, t := range titles {
		ids = append(ids, t.ID)
	}
	return ids
}

func testListTitlesPages(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	var titles []data.Title
	var all, comedies []string
	for i := range 23 {
		title := data.Title{ID: fmt.Sprintf("t%03d", i), Name: fmt.Sprintf("Title %d", i), Genres: []string{"Drama"}}
		if i%3 == 0 {
			title.Genres = append(title.Genres, "Comedy")
			comedies = append(comedies, title.ID)
		}
		titles = append(titles, title)
		all = append(all, title.ID)
	}
	// Put in reverse order, so that insertion order cannot pass for ID order.
	slices.Reverse(titles)
	must(t, "PutTitles", s.PutTitles(ctx, titles))

	tests := []struct {
		name string
		q    data.TitleQuery
		want []string
	}{
		{"all by 5", data.TitleQuery{Limit: 5}, all},
		{"all by 1", data.TitleQuery{Limit: 1}, all},
		{"all by 23", data.TitleQuery{Limit: 23}, all},
		{"all by 100", data.TitleQuery{Limit: 100}, all},
		{"genre by 3", data.TitleQuery{Genre: "comedy", Limit: 3}, comedies},
		{"genre by 4", data.TitleQuery{Genre: "Comedy", Limit: 4}, comedies},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := listAllPages(t, s, tc.q)
			if !slices.Equal(got, tc.want) {
				t.Errorf("ListTitles(%+v) over all pages:\n got %q\nwant %q", tc.q, got, tc.want)
			}
		})
	}
}

// listAllPages follows Next until the last page and returns the IDs of all
// pages in order. A trailing empty page is allowed.
func listAllPages(t *testing.T, s data.Store, q data.TitleQuery) []string {
	t.Helper()
	var ids []string
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatalf("ListTitles(%+v): more than 100 pages, Next never became empty", q)
		}
		page, err := s.ListTitles(t.Context(), q)
		must(t, "ListTitles", err)
		if q.Limit > 0 && len(page.Titles) > q.Limit {
			t.Errorf("ListTitles(%+v): got %d titles, more than the limit", q, len(page.Titles))
		}
		if len(page.Titles) == 0 && page.Next != "" {
			t.Fatalf("ListTitles(%+v): got an empty page with Next %q", q, page.Next)
		}
		ids = append(ids, titleIDs(page.Titles)...)
		if page.Next == "" {
			return ids
		}
		q.Cursor = page.Next
	}
}

func testListTitlesDefaultLimit(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	var titles []data.Title
	for i := range 60 {
		titles = append(titles, data.Title{ID: fmt.Sprintf("t%03d", i), Name: "Same"})
	}
	must(t, "PutTitles", s.PutTitles(ctx, titles))

	page, err := s.ListTitles(ctx, data.TitleQuery{})
	must(t, "ListTitles", err)
	if len(page.Titles) != 50 || page.Next == "" {
		t.Fatalf("ListTitles with limit 0: got %d titles and Next %q, want 50 and a cursor", len(page.Titles), page.Next)
	}
	page, err = s.ListTitles(ctx, data.TitleQuery{Cursor: page.Next})
	must(t, "ListTitles", err)
	if got := titleIDs(page.Titles); len(got) != 10 || got[0] != "t050" {
		t.Errorf("ListTitles second page: got %q, want t050 to t059", got)
	}
}

// testListTitlesForgedCursor checks that a cursor ListTitles did not
// return is rejected, not read as a position in the catalog.
func testListTitlesForgedCursor(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	must(t, "PutTitles", s.PutTitles(ctx, catalog()))
	page, err := s.ListTitles(ctx, data.TitleQuery{Limit: 1})
	must(t, "ListTitles", err)
	if page.Next == "" {
		t.Fatal("ListTitles with limit 1: no Next")
	}
	edited := []byte(page.Next)
	edited[len(edited)/2] ^= 'A' ^ 'B'
	if edited[len(edited)/2] == page.Next[len(edited)/2] {
		edited[len(edited)/2] = 'C'
	}
	for _, cursor := range []string{
		"abc", "JyBPUiAxPTE", strings.Repeat("A", 40), "!!",
		base64.RawURLEncoding.EncodeToString([]byte(page.Titles[0].ID)),
		page.Next[:len(page.Next)-1], page.Next + "A", string(edited),
	} {
		got, err := s.ListTitles(ctx, data.TitleQuery{Limit: 1, Cursor: cursor})
		if !errors.Is(err, data.ErrInvalid) {
			t.Errorf("ListTitles(cursor %q): got %d titles, %v, want ErrInvalid", cursor, len(got.Titles), err)
		}
	}
}

func testDeleteTitle(t *testing.T, open Opener[data.Store]) {
	s, ctx := openStore(t, open), t.Context()
	titles := catalog()
	must(t, "PutTitles", s.PutTitles(ctx, titles))

	must(t, "DeleteTitle", s.DeleteTitle(ctx, "t06"))
	must(t, "DeleteTitle again", s.DeleteTitle(ctx, "t06"))

	_, err := s.Title(ctx, "t06")
	wantErr(t, "Title(t06) after delete", err, data.ErrNotFound)
	got, err := s.Titles(ctx, []string{"t06", "t07"})
	must(t, "Titles", err)
	if ids := titleIDs(got); !slices.Equal(ids, []string{"t07"}) {
		t.Errorf("Titles(t06, t07) after delete: got %q, want [t07]", ids)
	}
	page, err := s.ListTitles(ctx, data.TitleQuery{Genre: "Drama"})
	must(t, "ListTitles", err)
	if ids := titleIDs(page.Titles); !slices.Equal(ids, []string{"t07"}) {
		t.Errorf("ListTitles(genre Drama) after delete: got %q, want [t07]", ids)
	}

	// A title put again under a deleted ID starts with its own genres only.
	must(t, "PutTitles", s.PutTitles(ctx, []data.Title{{ID: "t06", Name: "Back", Genres: []string{"Western"}}}))
	page, err = s.ListTitles(ctx, data.TitleQuery{Genre: "Drama"})
	must(t, "ListTitles", err)
	if ids := titleIDs(page.Titles); !slices.Equal(ids, []string{"t07"}) {
		t.Errorf("ListTitles(genre Drama) after re-adding t06 as a western: got %q, want [t07]", ids)
	}
}

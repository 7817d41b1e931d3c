package movielens

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/marquee/marquee/data"
)

// usersStage names the stage that writes users in progress and errors.
const usersStage = "users"

// importFile streams one file into the store: each row is parsed, a bad one
// is counted and skipped, and the records are written in batches.
func importFile[T any](ctx context.Context, im *importer, fr *FileReport, header string,
	parse func(row) (T, error), write func(context.Context, []T) error) error {
	start := time.Now()
	b := newBatch(fr.File, im.opts.BatchSize, write, &fr.Imported, im.fileProgress(fr))
	err := im.eachRow(ctx, fr.File, header, func(r row) error {
		fr.Read++
		rec, err := parse(r)
		if err != nil {
			im.bad(fr, r.line, err)
			return nil
		}
		return b.add(ctx, rec, r.line)
	})
	if err == nil {
		err = b.flush(ctx)
	}
	if err != nil {
		return err
	}
	im.fileDone(fr, start)
	return nil
}

func (im *importer) importMovies(ctx context.Context) error {
	im.report.Movies.File = MoviesFile
	return importFile(ctx, im, &im.report.Movies, moviesHeader, im.parseMovieRow, im.store.PutTitles)
}

func (im *importer) importRatings(ctx context.Context) error {
	im.report.Ratings.File = RatingsFile
	return importFile(ctx, im, &im.report.Ratings, ratingsHeader, im.parseRatingRow, im.store.PutRatings)
}

// parseMovieRow parses a movies.csv row and remembers its movieId, rejecting
// one that an earlier row already used.
func (im *importer) parseMovieRow(r row) (data.Title, error) {
	if r.err != nil {
		return data.Title{}, fmt.Errorf("malformed CSV: %w", r.err)
	}
	t, err := parseMovie(r.fields)
	if err != nil {
		return data.Title{}, err
	}
	if line, ok := im.movies[t.ID]; ok {
		return data.Title{}, fmt.Errorf("movieId %s repeats line %d", t.ID, line)
	}
	im.movies[t.ID] = r.line
	return t, nil
}

// parseRatingRow parses a ratings.csv row whose movie is in movies.csv.
func (im *importer) parseRatingRow(r row) (data.Rating, error) {
	if r.err != nil {
		return data.Rating{}, fmt.Errorf("malformed CSV: %w", r.err)
	}
	rt, err := parseRating(r.fields)
	if err != nil {
		return data.Rating{}, err
	}
	if _, ok := im.movies[rt.ContentID]; !ok {
		return data.Rating{}, fmt.Errorf("movieId %s is not in %s", rt.ContentID, MoviesFile)
	}
	return rt, nil
}

// importUsers writes one user per userId with a valid rating, created at the
// time of that user's first rating. It reads ratings.csv once for that, ahead
// of the ratings stage, so that users exist before their ratings are written.
func (im *importer) importUsers(ctx context.Context) error {
	start := time.Now()
	first, err := im.firstRatingTimes(ctx)
	if err != nil {
		return err
	}

	ids := make([]string, 0, len(first))
	for id := range first {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, compareIDs)

	after := func() {
		im.progress(Progress{Stage: usersStage, Read: len(ids), Imported: im.report.Users})
	}
	b := newBatch(usersStage, im.opts.BatchSize, im.store.PutUsers, &im.report.Users, after)
	for _, id := range ids {
		t := first[id]
		u := data.User{ID: id, Role: data.RoleUser, CreatedAt: t, UpdatedAt: t}
		if err := b.add(ctx, u, 0); err != nil {
			return err
		}
	}
	if err := b.flush(ctx); err != nil {
		return err
	}
	after()
	im.log.Info("movielens users imported", "users", im.report.Users, "elapsed", time.Since(start))
	return nil
}

// firstRatingTimes maps each user with a valid rating to the time of the
// earliest one. Bad rows are skipped here and reported by the ratings stage.
func (im *importer) firstRatingTimes(ctx context.Context) (map[string]time.Time, error) {
	first := make(map[string]time.Time)
	err := im.eachRow(ctx, RatingsFile, ratingsHeader, func(r row) error {
		rt, err := im.parseRatingRow(r)
		if err != nil {
			return nil
		}
		if t, ok := first[rt.UserID]; !ok || rt.Time.Before(t) {
			first[rt.UserID] = rt.Time
		}
		return nil
	})
	return first, err
}

// compareIDs orders decimal IDs by value, so user 9 comes before user 10.
func compareIDs(a, b string) int {
	return cmp.Or(cmp.Compare(len(a), len(b)), cmp.Compare(a, b))
}

// checkTags reads tags.csv, when present, to count its rows and report bad
// ones. It writes nothing: the domain records have no field for tags.
func (im *importer) checkTags(ctx context.Context) error {
	if !im.hasTags {
		return nil
	}
	start := time.Now()
	fr := &im.report.Tags
	fr.File = TagsFile
	err := im.eachRow(ctx, TagsFile, tagsHeader, func(r row) error {
		fr.Read++
		if err := im.checkTagRow(r); err != nil {
			im.bad(fr, r.line, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	im.fileDone(fr, start)
	return nil
}

func (im *importer) checkTagRow(r row) error {
	if r.err != nil {
		return fmt.Errorf("malformed CSV: %w", r.err)
	}
	tg, err := parseTag(r.fields)
	if err != nil {
		return err
	}
	if _, ok := im.movies[tg.movieID]; !ok {
		return fmt.Errorf("movieId %s is not in %s", tg.movieID, MoviesFile)
	}
	return nil
}

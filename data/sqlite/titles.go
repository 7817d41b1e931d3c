package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/data/internal/titlecursor"
)

const titleColumns = `id, name, year, genres, type, duration_sec, description, created_at, updated_at`

// titleArgs returns the column values of t in the order of PutTitles' upsert.
func titleArgs(t data.Title) ([]any, error) {
	if t.ID == "" {
		return nil, fmt.Errorf("%w: title: id is empty", data.ErrInvalid)
	}
	genres, err := encodeStrings(t.Genres)
	if err != nil {
		return nil, err
	}
	return []any{
		t.ID, t.Name, foldCase(t.Name), t.Year, genres, t.Type, t.DurationSec, t.Description,
		nullMillis(t.CreatedAt), nullMillis(t.UpdatedAt),
	}, nil
}

func scanTitle(row interface{ Scan(...any) error }) (data.Title, error) {
	var (
		t                data.Title
		genres           string
		created, updated sql.NullInt64
	)
	err := row.Scan(&t.ID, &t.Name, &t.Year, &genres, &t.Type, &t.DurationSec, &t.Description, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return t, data.ErrNotFound
	}
	if err != nil {
		return t, err
	}

	t.CreatedAt, t.UpdatedAt = fromNullMillis(created), fromNullMillis(updated)
	t.Genres, err = decodeStrings(genres)
	return t, err
}

// PutTitles upserts titles by ID in one transaction. It is idempotent.
func (s *Store) PutTitles(ctx context.Context, titles []data.Title) error {
	rows := make([][]any, len(titles))
	for i, t := range titles {
		args, err := titleArgs(t)
		if err != nil {
			return wrap("put titles", fmt.Errorf("title %d: %w", i, err))
		}
		rows[i] = args
	}

	err := s.db.update(ctx, func(tx *sql.Tx) error {
		if err := execEach(ctx, tx, `INSERT INTO titles (id, name, name_key, year, genres, type,
			duration_sec, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, name_key = excluded.name_key,
			year = excluded.year, genres = excluded.genres, type = excluded.type,
			duration_sec = excluded.duration_sec, description = excluded.description,
			created_at = excluded.created_at, updated_at = excluded.updated_at`, rows); err != nil {
			return err
		}
		return putTitleGenres(ctx, tx, titles)
	})
	return wrap("put titles", err)
}

// putTitleGenres replaces the rows of title_genres of each title.
func putTitleGenres(ctx context.Context, tx *sql.Tx, titles []data.Title) error {
	clearGenres, err := tx.PrepareContext(ctx, `DELETE FROM title_genres WHERE title_id = ?`)
	if err != nil {
		return err
	}
	defer clearGenres.Close()
	insert, err := tx.PrepareContext(ctx, `INSERT INTO title_genres (genre_key, title_id) VALUES (?, ?)
		ON CONFLICT DO NOTHING`)
	if err != nil {
		return err
	}
	defer insert.Close()

	for _, t := range titles {
		if _, err := clearGenres.ExecContext(ctx, t.ID); err != nil {
			return fmt.Errorf("%q: %w", t.ID, err)
		}
		for _, g := range t.Genres {
			if _, err := insert.ExecContext(ctx, foldCase(g), t.ID); err != nil {
				return fmt.Errorf("%q: %w", t.ID, err)
			}
		}
	}
	return nil
}

// Title returns one title, or an error wrapping ErrNotFound.
func (s *Store) Title(ctx context.Context, id string) (data.Title, error) {
	t, err := scanTitle(s.titleStmt.QueryRowContext(ctx, id))
	if err != nil {
		return data.Title{}, wrap(fmt.Sprintf("title %q", id), err)
	}
	return t, nil
}

// Titles returns the titles with the given IDs in the requested order,
// leaving out IDs that do not exist. An ID requested twice is returned twice.
func (s *Store) Titles(ctx context.Context, ids []string) ([]data.Title, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	idsJSON, err := json.Marshal(ids)
	if err != nil {
		return nil, wrap("titles", err)
	}

	found := make(map[string]data.Title, len(ids))
	err = s.queryTitles(ctx, func(t data.Title) { found[t.ID] = t },
		`SELECT `+titleColumns+` FROM titles WHERE id IN (SELECT value FROM json_each(?))`, string(idsJSON))
	if err != nil {
		return nil, wrap("titles", err)
	}

	titles := make([]data.Title, 0, len(found))
	for _, id := range ids {
		if t, ok := found[id]; ok {
			titles = append(titles, t)
		}
	}
	return titles, nil
}

func (s *Store) queryTitles(ctx context.Context, fn func(data.Title), query string, args ...any) error {
	rows, err := s.db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()

	for rows.Next() {
		t, err := scanTitle(rows)
		if err != nil {
			return err
		}
		fn(t)
	}
	return rows.Err()
}

// defaultPageSize is the page size of ListTitles when the query sets none.
const defaultPageSize = 50

// ListTitles returns one page of the titles matching q, ordered by ID. The
// cursor names the last ID of the previous page, in the form of package
// titlecursor. The pages never repeat a title and never skip one that
// exists from the first page to the last, even when other titles are
// written between calls. It returns an error wrapping ErrInvalid for a
// negative limit or a cursor that ListTitles did not return.
func (s *Store) ListTitles(ctx context.Context, q data.TitleQuery) (data.TitlePage, error) {
	limit := q.Limit
	if limit == 0 {
		limit = defaultPageSize
	}
	if limit < 0 {
		return data.TitlePage{}, wrap("list titles", fmt.Errorf("%w: limit %d is negative", data.ErrInvalid, q.Limit))
	}
	after, err := titlecursor.Decode(q.Cursor)
	if err != nil {
		return data.TitlePage{}, wrap("list titles", err)
	}

	var page data.TitlePage
	query, args := titleListQuery(q, after, limit+1)
	err = s.queryTitles(ctx, func(t data.Title) { page.Titles = append(page.Titles, t) }, query, args...)
	if err != nil {
		return data.TitlePage{}, wrap("list titles", err)
	}

	// One row more than the page was read to learn whether another page follows.
	if len(page.Titles) > limit {
		page.Titles = page.Titles[:limit]
		page.Next = titlecursor.Encode(page.Titles[limit-1].ID)
	}
	return page, nil
}

// titleListQuery builds the SQL of ListTitles. With a genre filter the scan
// starts from title_genres, whose key orders the titles of a genre by ID.
func titleListQuery(q data.TitleQuery, after string, limit int) (string, []any) {
	var b strings.Builder
	var args []any
	if q.Genre != "" {
		b.WriteString(`SELECT ` + prefixColumns("t.", titleColumns) + ` FROM title_genres g
			JOIN titles t ON t.id = g.title_id WHERE g.genre_key = ? AND g.title_id > ?`)
		args = append(args, foldCase(q.Genre), after)
	} else {
		b.WriteString(`SELECT ` + prefixColumns("t.", titleColumns) + ` FROM titles t WHERE t.id > ?`)
		args = append(args, after)
	}

	if q.Year != 0 {
		b.WriteString(` AND t.year = ?`)
		args = append(args, q.Year)
	}
	if q.Text != "" {
		// instr, unlike LIKE, gives % and _ in the text no special meaning.
		// NOTE: no index serves a substring, so a rare text scans titles in
		// ID order until the page is full, up to the whole catalog.
		b.WriteString(` AND instr(t.name_key, ?) > 0`)
		args = append(args, foldCase(q.Text))
	}
	b.WriteString(` ORDER BY t.id LIMIT ?`)
	args = append(args, limit)
	return b.String(), args
}

func prefixColumns(prefix, columns string) string {
	return prefix + strings.ReplaceAll(columns, ", ", ", "+prefix)
}

// DeleteTitle removes a title. Deleting an unknown title returns nil.
func (s *Store) DeleteTitle(ctx context.Context, id string) error {
	err := s.db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM titles WHERE id = ?`, id)
		return err
	})
	return wrap(fmt.Sprintf("delete title %q", id), err)
}

// PutRatings records rating events in one transaction. Triggers of the

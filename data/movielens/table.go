package movielens

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/marquee/marquee/data/internal/csvline"
)

// ErrHeader means a file's first line does not name the columns the MovieLens
// layout defines for it. Nothing is written when an import fails with it.
var ErrHeader = errors.New("unexpected CSV header")

// Expected headers, in column order.
const (
	moviesHeader  = "movieId,title,genres"
	ratingsHeader = "userId,movieId,rating,timestamp"
	tagsHeader    = "userId,movieId,tag,timestamp"
)

// utf8BOM is the byte order mark some editors write at the start of a CSV file.
const utf8BOM = "\xef\xbb\xbf"

// table reads the data rows of one CSV file after checking its header. Each
// line is one row, because a quoted field cannot span lines. So a broken quote
// makes only its own line a bad row.
type table struct {
	name string
	r    *csvline.Reader
}

// row is one data row. err is set, and fields may be incomplete, when the
// line is not valid CSV, as for a stray or unclosed quote.
type row struct {
	fields []string
	line   int
	err    error
}

// newTable reads the header of src, skipping a leading byte order mark, and
// returns an error wrapping ErrHeader unless its columns, with surrounding
// spaces trimmed, are exactly header.
func newTable(name string, src io.Reader, header string) (*table, error) {
	br := bufio.NewReaderSize(src, 64<<10)
	if err := skipBOM(br); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	r := csvline.NewReader(br, ',')

	got, _, err := r.Read()
	switch {
	case errors.Is(err, io.EOF):
		return nil, fmt.Errorf("%s: %w: the file is empty, want %q", name, ErrHeader, header)
	case err != nil:
		return nil, fmt.Errorf("%s: %w: %v", name, ErrHeader, err)
	}
	if line := joinTrimmed(got); line != header {
		return nil, fmt.Errorf("%s: %w: got %q, want %q", name, ErrHeader, line, header)
	}
	return &table{name: name, r: r}, nil
}

func skipBOM(br *bufio.Reader) error {
	head, err := br.Peek(len(utf8BOM))
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if !bytes.Equal(head, []byte(utf8BOM)) {
		return nil
	}
	_, err = br.Discard(len(utf8BOM))
	return err
}

func joinTrimmed(fields []string) string {
	trimmed := make([]string, len(fields))
	for i, f := range fields {
		trimmed[i] = strings.TrimSpace(f)
	}
	return strings.Join(trimmed, ",")
}

// next returns the next data row, or io.EOF after the last one. A line that
// is not valid CSV comes back with row.err set; any other error is an I/O
// error that ends the file. The fields slice is reused by the following call,
// but the strings in it are not.
func (t *table) next() (row, error) {
	fields, line, err := t.r.Read()
	var parseErr *csv.ParseError
	switch {
	case errors.As(err, &parseErr):
		return row{fields: fields, line: line, err: parseErr.Err}, nil
	case err != nil:
		return row{}, err
	}
	return row{fields: fields, line: line}, nil
}

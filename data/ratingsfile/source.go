package ratingsfile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/marquee/marquee/data/internal/csvline"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// checkEvery is the number of rows read between two checks of the context.
const checkEvery = 4096

// readRows calls fn with the fields of every data row of the file at path,
// in file order, until fn returns an error.
func readRows(ctx context.Context, path string, opts Options, fn func(fields) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	switch opts.Layout {
	case LayoutDat:
		return readDat(ctx, f, fn)
	case LayoutCSV:
		return readCSV(ctx, f, opts, fn)
	}
	info, err := f.Stat()
	if err != nil {
		return err
	}
	return readParquet(ctx, f, info.Size(), opts.Columns, fn)
}

// readDat reads lines of user::item::rating::timestamp.
func readDat(ctx context.Context, r io.Reader, fn func(fields) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if line%checkEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		text := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		f := fields{line: line}
		parts := strings.Split(text, "::")
		if len(parts) == 4 {
			f.user, f.item, f.rating, f.time = parts[0], parts[1], parts[2], parts[3]
		} else {
			f.err = fmt.Errorf("row has %d fields, want 4 (user::item::rating::timestamp)", len(parts))
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return sc.Err()
}

// readCSV reads a CSV file whose header names the columns. Each line is one
// row, because a quoted field cannot span lines. So a broken quote makes only
// its own line a bad row.
func readCSV(ctx context.Context, r io.Reader, opts Options, fn func(fields) error) error {
	br := bufio.NewReader(r)
	if head, err := br.Peek(3); err == nil && bytes.Equal(head, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	lr := csvline.NewReader(br, opts.Comma)
	header, _, err := lr.Read()
	if err != nil {
		return fmt.Errorf("read header: %w", err)
	}
	idx, err := columnIndexes(header, opts.Columns)
	if err != nil {
		return err
	}
	for n := 1; ; n++ {
		if n%checkEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		rec, line, err := lr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		f := fields{line: line}
		var parseErr *csv.ParseError
		switch {
		case errors.As(err, &parseErr):
			f.err = fmt.Errorf("malformed CSV: %w", parseErr.Err)
		case err != nil:
			return err
		case len(rec) <= slices.Max(idx[:]):
			f.err = fmt.Errorf("row has %d fields, want at least %d", len(rec), slices.Max(idx[:])+1)
		default:
			f.user, f.item, f.rating, f.time = rec[idx[0]], rec[idx[1]], rec[idx[2]], rec[idx[3]]
		}
		if err := fn(f); err != nil {
			return err
		}
	}
}

// columnIndexes returns the positions in header of the user, item, rating
// and time columns.
func columnIndexes(header []string, c Columns) ([4]int, error) {
	var idx [4]int
	for k, name := range []string{c.User, c.Item, c.Rating, c.Time} {
		idx[k] = slices.IndexFunc(header, func(h string) bool { return strings.TrimSpace(h) == name })
		if idx[k] < 0 {
			return idx, fmt.Errorf("column %q is not in the header %q: name the columns with the column flags", name, header)
		}
	}
	return idx, nil
}

// parquetColumn is a mapped column of a Parquet file.
type parquetColumn struct {
	index int
	unit  time.Duration // unit of a timestamp column; 0 otherwise
}

// readParquet reads the mapped columns of a Parquet file. Rows are numbered
// from 1 in place of lines.
func readParquet(ctx context.Context, r io.ReaderAt, size int64, c Columns, fn func(fields) error) error {
	pf, err := parquet.OpenFile(r, size)
	if err != nil {
		return fmt.Errorf("open parquet: %w", err)
	}
	var cols [4]parquetColumn
	for k, name := range []string{c.User, c.Item, c.Rating, c.Time} {
		leaf, ok := pf.Schema().Lookup(name)
		if !ok {
			return fmt.Errorf("column %q is not in the Parquet schema: name the columns with the column flags", name)
		}
		cols[k] = parquetColumn{index: leaf.ColumnIndex, unit: timestampUnit(leaf.Node)}
	}
	n := 0
	buf := make([]parquet.Row, 512)
	for _, rg := range pf.RowGroups() {
		if err := readRowGroup(ctx, rg, buf, cols, &n, fn); err != nil {
			return err
		}
	}
	return nil
}

func readRowGroup(ctx context.Context, rg parquet.RowGroup, buf []parquet.Row, cols [4]parquetColumn, n *int, fn func(fields) error) error {
	rows := rg.Rows()
	defer rows.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, err := rows.ReadRows(buf)
		for _, row := range buf[:k] {
			*n++
			if err := fn(parquetFields(row, cols, *n)); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read parquet: %w", err)
		}
	}
}

func parquetFields(row parquet.Row, cols [4]parquetColumn, n int) fields {
	var text [4]string
	f := fields{line: n}
	for k, c := range cols {
		v, ok := columnValue(row, c.index)
		if !ok {
			f.err = fmt.Errorf("row %d: column %d is missing or null", n, c.index)
			return f
		}
		text[k] = valueText(v)
		if c.unit > 0 {
			text[k] = strconv.FormatInt(v.Int64()*int64(c.unit)/int64(time.Millisecond), 10)
			f.timeFormat = TimeUnixMillis
		}
	}
	f.user, f.item, f.rating, f.time = text[0], text[1], text[2], text[3]
	return f
}

func columnValue(row parquet.Row, index int) (parquet.Value, bool) {
	for _, v := range row {
		if v.Column() == index {
			return v, !v.IsNull()
		}
	}
	return parquet.Value{}, false
}

func valueText(v parquet.Value) string {
	switch v.Kind() {
	case parquet.Int32:
		return strconv.FormatInt(int64(v.Int32()), 10)
	case parquet.Int64:
		return strconv.FormatInt(v.Int64(), 10)
	case parquet.Float:
		return strconv.FormatFloat(float64(v.Float()), 'g', -1, 32)
	case parquet.Double:
		return strconv.FormatFloat(v.Double(), 'g', -1, 64)
	case parquet.Boolean:
		return strconv.FormatBool(v.Boolean())
	}
	return string(v.ByteArray())
}

// timestampUnit returns the unit of a timestamp column, or 0.
func timestampUnit(n parquet.Node) time.Duration {
	lt := n.Type().LogicalType()
	if lt == nil {
		return 0
	}
	ts, ok := lt.Value.(*format.TimestampType)
	if !ok || ts.Unit.Value == nil {
		return 0
	}
	return ts.Unit.Value.Duration()
}

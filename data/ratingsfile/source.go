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
	index    int
	unsigned bool // set for an unsigned integer column, whose large values Int32 and Int64 return as negative
	// toTime converts the values of a time column whose type carries its
	// unit. It is nil when the column's text is parsed with Options.TimeFormat.
	toTime func(parquet.Value) time.Time
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
		cols[k].index, cols[k].unsigned = leaf.ColumnIndex, isUnsigned(leaf.Node.Type())
	}
	leaf, _ := pf.Schema().Lookup(c.Time) // found in the loop above
	if cols[3].toTime, err = timeReader(c.Time, leaf.Node.Type()); err != nil {
		return err
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
		if c.toTime != nil {
			f.at, f.typed = c.toTime(v), true
			continue
		}
		text[k] = valueText(v, c.unsigned)
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

func valueText(v parquet.Value, unsigned bool) string {
	switch v.Kind() {
	case parquet.Int32:
		if unsigned {
			return strconv.FormatUint(uint64(uint32(v.Int32())), 10)
		}
		return strconv.FormatInt(int64(v.Int32()), 10)
	case parquet.Int64:
		if unsigned {
			return strconv.FormatUint(v.Uint64(), 10)
		}
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

// isUnsigned reports whether typ is an unsigned integer type, such as
// UINT_32 or INT(64, false).
func isUnsigned(typ parquet.Type) bool {
	lt := typ.LogicalType()
	if lt == nil {
		return false
	}
	it, ok := lt.Value.(*format.IntType)
	return ok && !it.IsSigned
}

// julianDayOfUnixEpoch is the Julian day number of 1970-01-01. An INT96
// timestamp gives its day as a Julian day number.
const julianDayOfUnixEpoch = 2_440_588

// timeReader returns the conversion of a DATE, TIMESTAMP or INT96 time
// column of type typ, whose unit is part of its type. It returns nil for an
// integer or string column, whose text is parsed with the import's time
// format, and an error naming the column for any other type.
func timeReader(name string, typ parquet.Type) (func(parquet.Value) time.Time, error) {
	var logical format.LogicalTypeValue
	if lt := typ.LogicalType(); lt != nil {
		logical = lt.Value
	}
	switch lt := logical.(type) {
	case *format.DateType:
		return func(v parquet.Value) time.Time { return time.Unix(int64(v.Int32())*86400, 0) }, nil
	case *format.TimestampType:
		// A TIMESTAMP not adjusted to UTC contains a wall-clock time in no
		// stated zone, so it is read as UTC.
		switch lt.Unit.Value.(type) {
		case *format.MilliSeconds:
			return func(v parquet.Value) time.Time { return time.UnixMilli(v.Int64()) }, nil
		case *format.MicroSeconds:
			return func(v parquet.Value) time.Time { return time.UnixMicro(v.Int64()) }, nil
		case *format.NanoSeconds:
			return func(v parquet.Value) time.Time { return time.Unix(0, v.Int64()) }, nil
		}
	case *format.IntType, *format.StringType, *format.EnumType:
		return nil, nil
	case nil:
		switch typ.Kind() {
		case parquet.Int32, parquet.Int64, parquet.ByteArray:
			return nil, nil
		case parquet.Int96:
			return int96Time, nil
		}
	}
	return nil, fmt.Errorf("time column %q has Parquet type %s, which cannot be read as a rating time: "+
		"use an INT32 or INT64 of Unix time, a string, a DATE or a TIMESTAMP", name, typeName(typ))
}

// int96Time converts a deprecated INT96 timestamp: nanoseconds since
// midnight in the first 8 bytes, then the Julian day. It has no zone, so it
// is read as UTC.
func int96Time(v parquet.Value) time.Time {
	i := v.Int96()
	nanos := int64(uint64(i[1])<<32 | uint64(i[0]))
	day := int64(int32(i[2]))
	return time.Unix((day-julianDayOfUnixEpoch)*86400, nanos)
}

// typeName names typ for messages: its logical type and the physical type
// under it, or its physical type alone.
func typeName(typ parquet.Type) string {
	if lt := typ.LogicalType(); lt != nil && lt.Value != nil {
		return fmt.Sprintf("%s on %s", typ, typ.Kind())
	}
	return typ.String()
}

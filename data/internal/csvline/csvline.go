// Package csvline reads CSV one physical line at a time, for the importers
// of rating datasets.
package csvline

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// Reader reads CSV records one physical line at a time. Unlike
// encoding/csv, it never lets a quoted field run on into the next line, so an
// unclosed quote makes only its own line malformed instead of swallowing the
// rows up to the next quote in the file. Within a line it splits fields as
// encoding/csv does with LazyQuotes off. A quoted field ends at the next
// single quote, and "" inside it is an escaped quote. Any other quote makes
// the line malformed. LF and CRLF line ends are accepted, and empty lines are
// skipped but counted.
type Reader struct {
	br     *bufio.Reader
	sep    string   // field separator, UTF-8 encoded
	line   int      // number of the line last read, from 1
	long   []byte   // a line that did not fit in the buffer of br
	fields []string // returned by Read and reused by the next call
}

// ValidSeparator reports whether r can separate fields: encoding/csv and
// Reader reject a quote, CR, LF, NUL and an invalid rune.
func ValidSeparator(r rune) bool {
	return r != 0 && r != '"' && r != '\r' && r != '\n' && utf8.ValidRune(r) && r != utf8.RuneError
}

// NewReader returns a reader of the lines of br with fields separated
// by sep, which must not be a quote, CR or LF.
func NewReader(br *bufio.Reader, sep rune) *Reader {
	return &Reader{br: br, sep: string(sep)}
}

// Read returns the fields of the next non-empty line and its number, or
// io.EOF after the last line. For a malformed line it returns the fields
// split so far and a *csv.ParseError wrapping csv.ErrQuote or
// csv.ErrBareQuote, and the next call reads the line after it. Any other
// error comes from the underlying reader. The returned slice is reused by
// the next call, but its strings are not.
func (lr *Reader) Read() ([]string, int, error) {
	for {
		text, err := lr.readLine()
		if err != nil {
			return nil, lr.line, err
		}
		if len(text) == 0 {
			continue
		}

		fields, col, err := splitLine(lr.fields[:0], string(text), lr.sep)
		lr.fields = fields
		if err != nil {
			return fields, lr.line, &csv.ParseError{StartLine: lr.line, Line: lr.line, Column: col, Err: err}
		}
		return fields, lr.line, nil
	}
}

// readLine returns the next line without its line end, or io.EOF after the
// last line. A last line without a line end comes back with a nil error.
func (lr *Reader) readLine() ([]byte, error) {
	text, err := lr.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		lr.long = append(lr.long[:0], text...)
		for errors.Is(err, bufio.ErrBufferFull) {
			text, err = lr.br.ReadSlice('\n')
			lr.long = append(lr.long, text...)
		}
		text = lr.long
	}
	if err != nil && !(errors.Is(err, io.EOF) && len(text) > 0) {
		return nil, err
	}

	lr.line++
	text = bytes.TrimSuffix(text, []byte("\n"))
	return bytes.TrimSuffix(text, []byte("\r")), nil
}

// splitLine appends the fields of line, given without its line end, to dst.
// On a malformed field it returns the fields before it, the 1-based byte
// column of the quote at fault and csv.ErrQuote or csv.ErrBareQuote.
func splitLine(dst []string, line, sep string) ([]string, int, error) {
	pos := 0 // start of the field being split
	for {
		if strings.HasPrefix(line[pos:], `"`) {
			field, next, col, err := quotedField(line, pos, sep)
			if err != nil {
				return dst, col, err
			}
			dst = append(dst, field)
			if next < 0 {
				return dst, 0, nil
			}
			pos = next
			continue
		}

		field, rest, more := strings.Cut(line[pos:], sep)
		if q := strings.IndexByte(field, '"'); q >= 0 {
			return dst, pos + q + 1, csv.ErrBareQuote
		}
		dst = append(dst, field)
		if !more {
			return dst, 0, nil
		}
		pos = len(line) - len(rest)
	}
}

// quotedField returns the value of the quoted field that opens at
// line[start] and the start of the next field, which is -1 at the end of the
// line. A quote left open, or closed and followed by text other than sep,
// gives csv.ErrQuote and its 1-based byte column.
func quotedField(line string, start int, sep string) (field string, next, col int, err error) {
	escaped := false
	for i := start + 1; ; i += 2 {
		q := strings.IndexByte(line[i:], '"')
		if q < 0 {
			return "", 0, start + 1, csv.ErrQuote
		}
		i += q
		if strings.HasPrefix(line[i+1:], `"`) {
			escaped = true
			continue // an escaped quote, which i += 2 skips
		}

		field = line[start+1 : i]
		if escaped {
			field = strings.ReplaceAll(field, `""`, `"`)
		}
		switch after := line[i+1:]; {
		case after == "":
			return field, -1, 0, nil
		case strings.HasPrefix(after, sep):
			return field, i + 1 + len(sep), 0, nil
		}
		return "", 0, i + 1, csv.ErrQuote
	}
}

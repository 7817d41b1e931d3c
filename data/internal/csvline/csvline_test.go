package csvline

import (
	"bufio"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// FuzzLineReader checks Reader against encoding/csv reading each line of
// the input on its own: both must return the same fields, or reject the
// line with the same error.
func FuzzLineReader(f *testing.F) {
	f.Add("a,b\r\n\"c,d\",\"e\"\"f\"\n", ',')
	f.Add("u2,\"i2,4,1\nu3,i3,4,2\n", ',')
	f.Add("x\"y\t\"z\"\"\n\n\r\n\"\"", '\t')
	f.Add("a;\"b;c\"x;d\r", ';')
	f.Add("é→\"x→y\"→\r\"\r", '→')
	f.Fuzz(func(t *testing.T, input string, comma rune) {
		if !ValidSeparator(comma) {
			return
		}
		// The smallest buffer makes long lines take the path of lines that
		// do not fit in it.
		lr := NewReader(bufio.NewReaderSize(strings.NewReader(input), 16), comma)
		for i, text := range strings.Split(input, "\n") {
			cr := csv.NewReader(strings.NewReader(text))
			cr.Comma, cr.FieldsPerRecord = comma, -1
			want, wantErr := cr.Read()
			if errors.Is(wantErr, io.EOF) {
				continue // an empty line, which both skip
			}

			got, line, err := lr.Read()
			if line != i+1 {
				t.Fatalf("read line %d, want line %d (%q)", line, i+1, text)
			}
			if !errors.Is(err, parseErrorReason(wantErr)) || (err == nil) != (wantErr == nil) {
				t.Fatalf("line %q: error %v, want %v", text, err, wantErr)
			}
			if wantErr == nil && !slices.Equal(got, want) {
				t.Fatalf("line %q: fields %q, want %q", text, got, want)
			}
		}
		if _, _, err := lr.Read(); !errors.Is(err, io.EOF) {
			t.Fatalf("read after the last line: error %v, want io.EOF", err)
		}
	})
}

// parseErrorReason returns the reason wrapped by a *csv.ParseError, or err.
func parseErrorReason(err error) error {
	var parseErr *csv.ParseError
	if errors.As(err, &parseErr) {
		return parseErr.Err
	}
	return err
}

func TestLineReaderLongLine(t *testing.T) {
	long := strings.Repeat("x", 100)
	input := "a," + long + "\r\n\"" + long + "\r\nb,\"" + long + `"""` + "\n"
	lr := NewReader(bufio.NewReaderSize(strings.NewReader(input), 16), ',')

	tests := []struct {
		want    []string
		wantErr error
	}{
		{want: []string{"a", long}},
		{wantErr: csv.ErrQuote},
		{want: []string{"b", long + `"`}},
	}
	for i, tt := range tests {
		got, line, err := lr.Read()
		if line != i+1 {
			t.Errorf("line = %d, want %d", line, i+1)
		}
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("line %d: error = %v, want %v", i+1, err, tt.wantErr)
		}
		if tt.wantErr == nil && !slices.Equal(got, tt.want) {
			t.Errorf("line %d: fields = %q, want %q", i+1, got, tt.want)
		}
	}
}

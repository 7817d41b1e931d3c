package movielens

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
)

// benchFile returns a CSV file of n rows after header with CRLF line ends,
// each made by row.
func benchFile(header string, n int, row func(i int) string) []byte {
	var b bytes.Buffer
	b.WriteString(utf8BOM + header + "\r\n")
	for i := range n {
		b.WriteString(row(i))
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

func benchRating(i int) string {
	return fmt.Sprintf("%d,%d,%.1f,%d", 1+i%610, 1+i%9742, 0.5+float64(i%10)/2, 964_982_703+i)
}

// benchMovie returns row i of a movies.csv in which every third title
// contains a comma and is quoted, as "American President, The (1995)" is.
func benchMovie(i int) string {
	if i%3 == 0 {
		return fmt.Sprintf(`%d,"Title %d, The (1995)",Comedy|Drama`, i, i)
	}
	return fmt.Sprintf("%d,Title %d (1995),Comedy|Drama", i, i)
}

func BenchmarkTable(b *testing.B) {
	files := []struct {
		name   string
		header string
		file   []byte
	}{
		{RatingsFile, ratingsHeader, benchFile(ratingsHeader, 100_000, benchRating)},
		{MoviesFile, moviesHeader, benchFile(moviesHeader, 10_000, benchMovie)},
	}
	for _, f := range files {
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(len(f.file)))
			b.ReportAllocs()
			for b.Loop() {
				readAll(b, f.name, f.header, f.file)
			}
		})
	}
}

// readAll reads every row of file and fails b on a bad one.
func readAll(b *testing.B, name, header string, file []byte) {
	t, err := newTable(name, bytes.NewReader(file), header)
	if err != nil {
		b.Fatal(err)
	}
	for {
		r, err := t.next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil || r.err != nil {
			b.Fatalf("line %d: %v %v", r.line, err, r.err)
		}
	}
}

// BenchmarkImportSmall imports ml-latest-small into the in-memory fake store.
// It is skipped when the dataset is absent.
func BenchmarkImportSmall(b *testing.B) {
	dir := smallDir(b)
	b.ReportAllocs()
	for b.Loop() {
		rep, err := Import(b.Context(), newFakeStore(), dir, Options{})
		if err != nil || rep.BadTotal() != 0 {
			b.Fatalf("import: %v, %d bad rows", err, rep.BadTotal())
		}
	}
}

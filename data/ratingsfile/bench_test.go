package ratingsfile

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// benchCSV returns a CSV file of n ratings with CRLF line ends, in which
// every tenth item ID is quoted and contains a comma.
func benchCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("user_id,item_id,rating,timestamp\r\n")
	for i := range n {
		item := fmt.Sprintf("i%d", i%5000)
		if i%10 == 0 {
			item = fmt.Sprintf(`"i%d, part 2"`, i%5000)
		}
		fmt.Fprintf(&b, "u%d,%s,%.1f,%d\r\n", i%700, item, 0.5+float64(i%10)/2, 1_600_000_000+i)
	}
	return b.Bytes()
}

// BenchmarkReadCSV splits 100,000 CSV rows into fields, without parsing them.
func BenchmarkReadCSV(b *testing.B) {
	file := benchCSV(100_000)
	opts, err := Options{}.withDefaults("ratings.csv")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	for b.Loop() {
		rows := 0
		err := readCSV(context.Background(), bytes.NewReader(file), opts, func(f fields) error {
			if f.err != nil {
				return f.err
			}
			rows++
			return nil
		})
		if err != nil || rows != 100_000 {
			b.Fatalf("read %d rows, error %v; want 100000 rows", rows, err)
		}
	}
}

// BenchmarkImportCSV imports 100,000 CSV rows into the in-memory fake store.
func BenchmarkImportCSV(b *testing.B) {
	path := filepath.Join(b.TempDir(), "ratings.csv")
	file := benchCSV(100_000)
	if err := os.WriteFile(path, file, 0o600); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	for b.Loop() {
		rep, err := Import(context.Background(), newFakeStore(), path, Options{})
		if err != nil || rep.Imported != 100_000 {
			b.Fatalf("imported %d ratings, error %v; want 100000", rep.Imported, err)
		}
	}
}

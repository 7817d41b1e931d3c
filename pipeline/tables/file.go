package tables

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/parquet-go/parquet-go"
	"golang.org/x/sys/unix"
)

// Write writes rows to path as one zstd-compressed Parquet file. The file
// appears whole or not at all: rows go to a temporary file in the same
// directory, which is synced and then renamed over path.
func Write[T any](path string, rows []T) error {
	return NewWriter[T]().write(path, rows)
}

// SyncFS flushes every written file of the file system that holds dir to
// disk: one system call in place of one fsync per file written with
// WriteStaged.
func SyncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// Writer writes Parquet files of rows of type T, reusing its buffers from
// one file to the next, which saves most of the cost of a small file. It is
// not safe for concurrent use.
type Writer[T any] struct {
	w *parquet.GenericWriter[T]
}

// NewWriter returns a Writer with the options of every Marquee file.
func NewWriter[T any]() *Writer[T] {
	return &Writer[T]{w: parquet.NewGenericWriter[T](io.Discard,
		parquet.Compression(&parquet.Zstd),
		parquet.CreatedBy("marquee", "", ""),
	)}
}

// WriteStaged writes rows straight to path, a new file in a staging
// directory that is made durable with SyncFS and published whole by a
// rename. It skips the temporary name and the sync that Write uses, which
// are most of the cost of a small file. A failed call may leave a partial
// file at path.
func (fw *Writer[T]) WriteStaged(path string, rows []T) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	fw.w.Reset(f)
	_, err = fw.w.Write(rows)
	if err == nil {
		err = fw.w.Close()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func (fw *Writer[T]) write(path string, rows []T) (err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()

	fw.w.Reset(tmp)
	if _, err := fw.w.Write(rows); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := fw.w.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Read returns every row of the Parquet file at path.
func Read[T any](path string) ([]T, error) {
	rows, err := parquet.ReadFile[T](path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return rows, nil
}

// Exists reports whether path names an existing file.
func Exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}

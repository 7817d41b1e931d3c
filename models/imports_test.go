package models_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the models free of I/O dependencies: their non-test
// files may import only the standard library, gonum, features and other
// model packages.
func TestImports(t *testing.T) {
	allowed := []string{
		"gonum.org/v1/gonum/",
		"github.com/marquee/marquee/features",
		"github.com/marquee/marquee/models",
	}
	banned := []string{"os", "net", "database", "log", "syscall", "io/fs"}

	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !importAllowed(p, allowed, banned) {
				t.Errorf("%s imports %s", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func importAllowed(p string, allowed, banned []string) bool {
	for _, b := range banned {
		if p == b || strings.HasPrefix(p, b+"/") {
			return false
		}
	}
	if !strings.Contains(strings.Split(p, "/")[0], ".") {
		return true // standard library
	}
	for _, a := range allowed {
		if strings.HasPrefix(p, a) {
			return true
		}
	}
	return false
}

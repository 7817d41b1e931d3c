package serving_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/marquee/marquee/"

// TestServingPathImports keeps gonum and parquet off the serving path: no
// non-test file of serving, api or data/redis, nor of a package of this
// module that they import, directly or not, may import them.
func TestServingPathImports(t *testing.T) {
	banned := []string{"gonum.org/", "github.com/parquet-go/"}
	root := filepath.Join("..")
	seen := map[string]bool{}
	var visit func(pkg string, chain []string)
	visit = func(pkg string, chain []string) {
		if seen[pkg] {
			return
		}
		seen[pkg] = true
		for _, imp := range packageImports(t, filepath.Join(root, strings.TrimPrefix(pkg, module))) {
			for _, b := range banned {
				if strings.HasPrefix(imp, b) {
					t.Errorf("%s imports %s", strings.Join(append(chain, pkg), " -> "), imp)
				}
			}
			if strings.HasPrefix(imp, module) {
				visit(imp, append(chain, pkg))
			}
		}
	}
	for _, pkg := range []string{"serving", "data/redis", "api"} {
		visit(module+pkg, nil)
	}
	if !seen[module+"models/foldin"] {
		t.Error("the walk did not reach models/foldin; the test no longer follows serving's imports")
	}
}

// packageImports returns the imports of the non-test Go files in dir.
func packageImports(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, name), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			out = append(out, p)
		}
	}
	return out
}

// Package testenv finds what tests need from outside the repository: the
// MovieLens dataset and the addresses of real services. A test that lacks
// one is skipped on a developer's machine and fails under CI=true, where
// every dataset and service must be present.
package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// CI reports whether the tests run in continuous integration (CI=true).
func CI() bool { return os.Getenv("CI") == "true" }

// Missing skips the test, or fails it under CI=true, because something it
// needs is absent.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if CI() {
		t.Fatalf("required under CI=true: "+format, args...)
	}
	t.Skipf(format, args...)
}

// MovieLensDir returns the directory of MovieLens ml-latest-small:
// $MARQUEE_MOVIELENS when set, or else shared/data/ml-latest-small in the
// nearest ancestor of the working directory that has one (the shared data
// folder beside a checkout). The dataset is not in the repository because
// its license limits redistribution.
func MovieLensDir(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("MARQUEE_MOVIELENS"); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "ratings.csv")); err != nil {
			Missing(t, "MARQUEE_MOVIELENS=%s has no ratings.csv: %v", dir, err)
		}
		return dir
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		candidate := filepath.Join(dir, "shared", "data", "ml-latest-small")
		if _, err := os.Stat(filepath.Join(candidate, "ratings.csv")); err == nil {
			return candidate
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	Missing(t, "MovieLens ml-latest-small not found beside the checkout; set MARQUEE_MOVIELENS to its directory")
	return ""
}

// Service returns the host:port of a real service named by an environment
// variable such as MARQUEE_TEST_REDIS, or skips (fails under CI=true) when
// the variable is unset.
func Service(t testing.TB, env string) string {
	t.Helper()
	addr := os.Getenv(env)
	if addr == "" {
		Missing(t, "%s is not set; start the service with the scripts under scripts/ and set it to host:port", env)
	}
	return addr
}

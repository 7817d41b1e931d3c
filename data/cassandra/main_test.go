package cassandra

import (
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"
)

// The tests run against a real node at MARQUEE_TEST_CASSANDRA (host:port).
// Without it they skip, except under CI=true, where a missing variable or
// an unreachable node fails them.
const envAddr = "MARQUEE_TEST_CASSANDRA"

// testAddr returns the node's address, or skips or fails t without one.
func testAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv(envAddr)
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set; under CI=true the Cassandra tests must run", envAddr)
		}
		t.Skipf("%s is not set", envAddr)
	}
	return addr
}

// testKeyspace returns a keyspace name unique to this run.
func testKeyspace(prefix string) string {
	return "mq_" + prefix + "_" + strings.ToLower(rand.Text()[:10])
}

// testConfig returns a configuration for a fresh keyspace on the test node,
// with consistency ONE, enough for one node.
func testConfig(t testing.TB, prefix string) Config {
	t.Helper()
	addr := testAddr(t)
	cfg, err := ParseURL("cassandra://" + addr + "/" + testKeyspace(prefix) + "?consistency=ONE&serial_consistency=SERIAL&startup_timeout=20s&timeout=20s")
	if err != nil {
		t.Fatalf("ParseURL: %v", err)
	}
	return cfg
}

func testLog(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

// openFresh opens a store on a new keyspace, migrates it, and drops the
// keyspace when t ends.
func openFresh(t testing.TB, prefix string) *Store {
	t.Helper()
	return openMigrated(t, testConfig(t, prefix))
}

func openMigrated(t testing.TB, cfg Config) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, cfg, testLog(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { dropKeyspace(t, s) })
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// dropKeyspace drops the store's keyspace and closes the store.
func dropKeyspace(t testing.TB, s *Store) {
	t.Helper()
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ddl, err := s.connect(ctx, "", s.cfg.DDLTimeout)
	if err != nil {
		t.Errorf("drop keyspace %s: %v", s.cfg.Keyspace, err)
		return
	}
	defer ddl.Close()
	if err := execDDL(ctx, ddl, "DROP KEYSPACE IF EXISTS "+s.cfg.Keyspace); err != nil {
		t.Errorf("drop keyspace %s: %v", s.cfg.Keyspace, err)
	}
}

package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/data/sqlite"
	"github.com/marquee/marquee/data/storetest"
)

func TestSessions(t *testing.T) {
	storetest.RunSessions(t, func(t *testing.T) storetest.Opener[data.Sessions] {
		path := filepath.Join(t.TempDir(), "marquee.db")
		return func(t *testing.T) data.Sessions {
			t.Helper()
			s, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatalf("Open(%s): %v", path, err)
			}
			return s
		}
	})
}

func TestEraser(t *testing.T) {
	storetest.RunEraser(t, func(t *testing.T) storetest.Opener[data.Store] {
		return storeAt(filepath.Join(t.TempDir(), "marquee.db"))
	})
}

// TestUpgradeAddsSessions opens a file at schema version 1, as written before
// sessions existed, and checks that Open adds the sessions table and keeps
// the data.
func TestUpgradeAddsSessions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "marquee.db")
	s := openStore(t, path)
	if err := s.CreateUser(t.Context(), data.User{ID: "u1"}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{`DROP TABLE sessions`, `UPDATE schema_version SET version = 1 WHERE name = 'store'`} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, path)
	if got := schemaVersion(t, path, "store"); got != 2 {
		t.Errorf("schema_version after upgrade: got %d, want 2", got)
	}
	if _, err := s.User(t.Context(), "u1"); err != nil {
		t.Errorf("User after upgrade: %v", err)
	}
	sess := data.Session{ID: "s1", UserID: "u1", TokenHash: "h", ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateSession(t.Context(), sess); err != nil {
		t.Errorf("CreateSession after upgrade: %v", err)
	}
}

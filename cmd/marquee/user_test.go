package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
)

// TestUserCreateTakenEmail checks that a taken e-mail, in any case, is
// reported as such, not as the store's constraint error.
func TestUserCreateTakenEmail(t *testing.T) {
	work := t.TempDir()
	create := func(email string) error {
		cmd := newRootCommand()
		cmd.SetIn(strings.NewReader("correct horse battery\n"))
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		cmd.SetArgs([]string{"--log-level", "warn", "--workdir", work, "user", "create", "--email", email, "--name", "Ada"})
		return cmd.ExecuteContext(context.Background())
	}
	if err := create("ada@example.com"); err != nil {
		t.Fatalf("first create: %v", err)
	}
	for _, email := range []string{"ada@example.com", "ADA@example.com"} {
		err := create(email)
		if err == nil || !strings.Contains(err.Error(), "e-mail "+email+" is already registered") {
			t.Errorf("create %s again: %v, want an error saying the e-mail is already registered", email, err)
		}
		if err != nil && (strings.Contains(err.Error(), "UNIQUE") || strings.Contains(err.Error(), "sqlite")) {
			t.Errorf("create %s again: %v, want no internal detail", email, err)
		}
	}

	_, err := runCLIErr("--workdir", work, "user", "set-role", "--email", "nobody@example.com", "--role", "admin")
	if err == nil || err.Error() != "no account has the e-mail nobody@example.com" {
		t.Errorf("set-role of an unknown e-mail: %v, want no account has the e-mail nobody@example.com", err)
	}
}

// TestOpenRedisUnreachable checks that a well-formed cache URL whose Redis
// does not respond is reported as unreachable with its address, and a
// malformed one as invalid.
func TestOpenRedisUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now

	log := slog.New(slog.DiscardHandler)
	_, err = openRedis(t.Context(), "redis://user:secret@"+addr+"/0", log)
	if err == nil || !strings.HasPrefix(err.Error(), "the cache at "+addr+" is unreachable") {
		t.Errorf("Redis down: %v, want the cache at %s is unreachable", err, addr)
	}
	if err != nil && strings.Contains(err.Error(), "secret") {
		t.Errorf("Redis down: %v holds the password of the URL", err)
	}

	_, err = openRedis(t.Context(), "redis://"+addr+"/0?keep=abc", log)
	if err == nil || !strings.HasPrefix(err.Error(), "invalid cache URL") {
		t.Errorf("malformed URL: %v, want invalid cache URL", err)
	}
}

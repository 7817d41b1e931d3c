package cassandra

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

//go:embed migrations/*.cql
var migrationFiles embed.FS

// Timing of the migration lock. The holder renews the lock well before its
// TTL runs out, and the lock of a process that died expires after the TTL.
const (
	lockTTL      = 60 * time.Second
	lockRenewal  = 15 * time.Second
	lockPoll     = time.Second
	lockMaxWait  = 10 * time.Minute
	lockName     = "migrate"
	migrationDir = "migrations"
)

// migration is one versioned file of CQL statements.
type migration struct {
	version  int
	name     string
	stmts    []string
	checksum string
}

var migrationName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.cql$`)

// loadMigrations reads the embedded migrations, ordered by version, which
// must run from 1 without gaps.
func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, migrationDir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.cql", e.Name())
		}
		text, err := fs.ReadFile(migrationFiles, path.Join(migrationDir, e.Name()))
		if err != nil {
			return nil, err
		}
		version, _ := strconv.Atoi(m[1])
		sum := sha256.Sum256(text)
		out = append(out, migration{version, strings.TrimSuffix(e.Name(), ".cql"), splitStatements(string(text)), hex.EncodeToString(sum[:])})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: version %d, want %d", m.name, m.version, i+1)
		}
	}
	return out, nil
}

// splitStatements drops "--" comment lines and splits text into statements
// at semicolons that end a line.
func splitStatements(text string) []string {
	var stmts []string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			stmts = append(stmts, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if rest := strings.TrimSpace(cur.String()); rest != "" {
		stmts = append(stmts, rest)
	}
	return stmts
}

// Migrate creates the keyspace with the configured replication if it does
// not exist, then applies the embedded migrations not yet applied, in
// order, and records each in the table schema_migrations. It is safe to run
// again, and from several processes at once. The process that takes a lock
// row, with a lightweight transaction and a TTL that frees the lock of a
// crashed holder, applies the migrations. The others wait for the lock and
// then find nothing left to do. Every statement is idempotent, so a
// migration cut short is applied again from its start. Migrate waits for
// schema agreement after each change, and on its first run it fixes the
// number of event buckets of the keyspace.
//
// NOTE: the keyspace and the two bookkeeping tables are created before the
// lock exists, with IF NOT EXISTS. On a cluster of several nodes, run the
// first migration of a new keyspace from one process.
func (s *Store) Migrate(ctx context.Context) error {
	migrations, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("cassandra: migrate: %w", err)
	}
	ddl, err := s.connect(ctx, "", s.cfg.DDLTimeout)
	if err != nil {
		return wrap("migrate", err)
	}
	defer ddl.Close()
	m := &migrator{s: s, ddl: ddl, owner: lockOwner()}
	if err := m.bootstrap(ctx); err != nil {
		return wrap("migrate", err)
	}
	if err := m.run(ctx, migrations); err != nil {
		return wrap("migrate", err)
	}
	return wrap("migrate", s.fixBuckets(ctx))
}

// migrator applies migrations through sessions whose requests may take as
// long as a schema change does.
type migrator struct {
	s     *Store
	ddl   *gocql.Session // no default keyspace
	owner string
}

func lockOwner() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), rand.Text()[:8])
}

// execDDL runs one schema change and waits until every node agrees on the
// new schema.
func execDDL(ctx context.Context, session *gocql.Session, cql string) error {
	if err := session.Query(cql).Idempotent(true).ExecContext(ctx); err != nil {
		return err
	}
	return session.AwaitSchemaAgreement(ctx)
}

func (m *migrator) bootstrap(ctx context.Context) error {
	ks := m.s.cfg.Keyspace
	stmts := []string{
		"CREATE KEYSPACE IF NOT EXISTS " + ks + " WITH replication = " + m.s.cfg.Replication.cql(),
		"CREATE TABLE IF NOT EXISTS " + ks + ".schema_migrations (version int PRIMARY KEY, name text, checksum text, applied_at timestamp)",
		"CREATE TABLE IF NOT EXISTS " + ks + ".schema_lock (name text PRIMARY KEY, owner text, acquired_at timestamp)",
	}
	for _, st := range stmts {
		if err := execDDL(ctx, m.ddl, st); err != nil {
			return err
		}
	}
	return nil
}

// run applies the pending migrations under the lock.
func (m *migrator) run(ctx context.Context, migrations []migration) error {
	pending, err := m.pending(ctx, migrations)
	if err != nil || len(pending) == 0 {
		return err
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := m.keepLock(ctx, cancel)
	defer func() {
		stop()
		m.unlock()
	}()

	// Another process may have applied them while this one waited.
	if pending, err = m.pending(ctx, migrations); err != nil || len(pending) == 0 {
		return err
	}
	session, err := m.s.connect(ctx, m.s.cfg.Keyspace, m.s.cfg.DDLTimeout)
	if err != nil {
		return err
	}
	defer session.Close()
	for _, mg := range pending {
		if err := m.apply(ctx, session, mg); err != nil {
			return errors.Join(err, context.Cause(ctx))
		}
	}
	return nil
}

// pending returns the migrations not recorded as applied, and an error if
// an applied one has changed since.
func (m *migrator) pending(ctx context.Context, migrations []migration) ([]migration, error) {
	iter := m.ddl.Query("SELECT version, checksum FROM " + m.s.cfg.Keyspace + ".schema_migrations").Idempotent(true).IterContext(ctx)
	applied := make(map[int]string)
	var version int
	var checksum string
	for iter.Scan(&version, &checksum) {
		applied[version] = checksum
	}
	if err := iter.Close(); err != nil {
		return nil, err
	}
	var out []migration
	for _, mg := range migrations {
		sum, ok := applied[mg.version]
		switch {
		case !ok:
			out = append(out, mg)
		case sum != mg.checksum:
			return nil, fmt.Errorf("migration %s changed after it was applied: add a new migration instead", mg.name)
		}
	}
	return out, nil
}

func (m *migrator) apply(ctx context.Context, session *gocql.Session, mg migration) error {
	start := time.Now()
	for i, st := range mg.stmts {
		if err := execDDL(ctx, session, st); err != nil {
			return fmt.Errorf("migration %s, statement %d: %w", mg.name, i+1, err)
		}
	}
	err := m.ddl.Query("INSERT INTO "+m.s.cfg.Keyspace+".schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)",
		mg.version, mg.name, mg.checksum, time.Now()).Idempotent(true).ExecContext(ctx)
	if err != nil {
		return fmt.Errorf("migration %s: record: %w", mg.name, err)
	}
	m.s.log.Info("migration applied", slog.String("migration", mg.name), slog.Duration("took", time.Since(start)))
	return nil
}

// lock takes the migration lock, waiting while another process holds it.
func (m *migrator) lock(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, lockMaxWait)
	defer cancel()
	cql := "INSERT INTO " + m.s.cfg.Keyspace + ".schema_lock (name, owner, acquired_at) VALUES (?, ?, ?) IF NOT EXISTS USING TTL " + ttl()
	logged := false
	for {
		applied, current, err := m.s.cas(ctx, cql, lockName, m.owner, time.Now())
		if err != nil || applied {
			return err
		}
		if !logged {
			m.s.log.Info("waiting for the migration lock", slog.Any("holder", current["owner"]))
			logged = true
		}
		if !sleep(ctx, lockPoll) {
			return fmt.Errorf("migration lock held by %v: %w", current["owner"], ctx.Err())
		}
	}
}

func ttl() string {
	return strconv.Itoa(int(lockTTL / time.Second))
}

// keepLock renews the lock until the returned function is called. If the
// lock is lost, it cancels ctx.
func (m *migrator) keepLock(ctx context.Context, cancel context.CancelCauseFunc) (stop func()) {
	cql := "UPDATE " + m.s.cfg.Keyspace + ".schema_lock USING TTL " + ttl() + " SET owner = ?, acquired_at = ? WHERE name = ? IF owner = ?"
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(lockRenewal)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			applied, _, err := m.s.cas(ctx, cql, m.owner, time.Now(), lockName, m.owner)
			if err == nil && !applied {
				cancel(errors.New("migration lock lost"))
				return
			}
			if err != nil {
				m.s.log.Warn("renewing the migration lock failed", slog.String("error", err.Error()))
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// unlock releases the lock if this migrator still holds it. A failure only
// delays other migrators until the TTL expires, so it is logged.
func (m *migrator) unlock() {
	ctx, cancel := context.WithTimeout(context.Background(), m.s.cfg.Timeout)
	defer cancel()
	cql := "DELETE FROM " + m.s.cfg.Keyspace + ".schema_lock WHERE name = ? IF owner = ?"
	if _, _, err := m.s.cas(ctx, cql, lockName, m.owner); err != nil {
		m.s.log.Warn("releasing the migration lock failed", slog.String("error", err.Error()))
	}
}

// fixBuckets records the number of event buckets on the first migration,
// and afterwards checks that the configuration agrees with it.
func (s *Store) fixBuckets(ctx context.Context) error {
	applied, current, err := s.cas(ctx, s.q.insertSetting, settingBuckets, strconv.Itoa(s.cfg.Buckets))
	if err != nil || applied {
		return err
	}
	stored, _ := current["value"].(string)
	return s.checkBuckets(stored)
}

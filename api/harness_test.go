package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/data/cassandra"
	"github.com/marquee/marquee/data/sqlite"
	"github.com/marquee/marquee/serving"
)

// The endpoint tests run against every backend: the embedded store always,
// and a real Cassandra node at MARQUEE_TEST_CASSANDRA (host:port) when that
// is set. Without it the Cassandra runs skip, except under CI=true, where
// they fail.
const envCassandra = "MARQUEE_TEST_CASSANDRA"

// backend opens stores for one test.
type backend struct {
	name string
	// open returns a store for t, the session store and the eraser (nil
	// when the store has none). Stores of a backend may be shared between
	// tests, so tests keep apart by unique e-mails and title IDs.
	open func(t *testing.T) (data.Store, data.Sessions, data.EventEraser)
}

var sqliteBackend = backend{name: "sqlite", open: func(t *testing.T) (data.Store, data.Sessions, data.EventEraser) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "marquee.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, s, s
}}

// cassandraBackend shares one keyspace among all tests of the run: a new
// keyspace per test would cost seconds of schema changes each.
var cassandraBackend = backend{name: "cassandra", open: func(t *testing.T) (data.Store, data.Sessions, data.EventEraser) {
	s := sharedCassandra(t)
	var sessions data.Sessions
	if ss, ok := s.(data.Sessions); ok {
		sessions = ss
	} else {
		// The store keeps no sessions: they live in an embedded store
		// beside it, as a deployment could keep them in another system.
		_, sessions, _ = sqliteBackend.open(t)
	}
	eraser, _ := s.(data.EventEraser)
	return s, sessions, eraser
}}

var cassandraState struct {
	once     sync.Once
	store    data.Store
	keyspace string
	addr     string
	err      error
}

func sharedCassandra(t *testing.T) data.Store {
	t.Helper()
	addr := os.Getenv(envCassandra)
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set; under CI=true the Cassandra endpoint tests must run", envCassandra)
		}
		t.Skipf("%s is not set", envCassandra)
	}
	st := &cassandraState
	st.once.Do(func() {
		st.addr = addr
		st.keyspace = "mq_api_" + strings.ToLower(rand.Text()[:10])
		cfg, err := cassandra.ParseURL("cassandra://" + addr + "/" + st.keyspace +
			"?consistency=ONE&serial_consistency=SERIAL&startup_timeout=20s&timeout=20s")
		if err != nil {
			st.err = err
			return
		}
		ctx := context.Background()
		s, err := cassandra.Open(ctx, cfg, nil)
		if err != nil {
			st.err = err
			return
		}
		if err := s.Migrate(ctx); err != nil {
			s.Close()
			st.err = err
			return
		}
		st.store = s
	})
	if st.err != nil {
		t.Fatalf("open cassandra at %s: %v", addr, st.err)
	}
	return st.store
}

// dropCassandra drops the shared keyspace after the run.
func dropCassandra() error {
	st := &cassandraState
	if st.store == nil {
		return nil
	}
	st.store.Close()
	host, port, _ := strings.Cut(st.addr, ":")
	cluster := gocql.NewCluster(host)
	if port != "" {
		fmt.Sscan(port, &cluster.Port)
	}
	cluster.Timeout = time.Minute
	session, err := cluster.CreateSession()
	if err != nil {
		return err
	}
	defer session.Close()
	return session.Query("DROP KEYSPACE IF EXISTS " + st.keyspace).Exec()
}

func TestMain(m *testing.M) {
	code := m.Run()
	if err := dropCassandra(); err != nil {
		fmt.Fprintln(os.Stderr, "drop test keyspace:", err)
	}
	os.Exit(code)
}

// forEachBackend runs fn as a subtest per backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	for _, b := range []backend{sqliteBackend, cassandraBackend} {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

// Test settings: argon2id with 64 KiB, so that a hash takes well under a
// millisecond, and limits high enough that only the limit tests meet them.
var (
	testPasswords = PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1, Concurrency: 4}
	testSecret    = []byte("test-secret-of-forty-bytes-0123456789abc")
	testLimits    = LimitConfig{PerAddress: Rate{Burst: 10_000, Every: time.Millisecond}, PerAccount: Rate{Burst: 10_000, Every: time.Millisecond}}
)

// clock is a settable clock: real time plus an offset.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time           { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration)  { c.offset.Add(int64(d)) }
func (c *clock) set(offset time.Duration) { c.offset.Store(int64(offset)) }

// env is one API under test with its stores.
type env struct {
	t        *testing.T
	handler  http.Handler
	store    data.Store
	sessions data.Sessions
	lists    *sqlite.Lists
	clock    *clock
	recorded *recorder
	// tag is unique to the test, for e-mails and title IDs.
	tag string
}

// recorder keeps the interactions the API reported.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) RecordInteraction(_ context.Context, userID, contentID string, kind InteractionKind) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, userID+" "+contentID+" "+string(kind))
	return nil
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

// newEnv starts an API on a store of b. Options change the configuration.
func newEnv(t *testing.T, b backend, opts ...func(*Config)) *env {
	t.Helper()
	store, sessions, eraser := b.open(t)
	lists, err := sqlite.OpenLists(t.Context(), filepath.Join(t.TempDir(), "cache.db"))
	if err != nil {
		t.Fatalf("open lists: %v", err)
	}
	t.Cleanup(func() { lists.Close() })

	e := &env{t: t, store: store, sessions: sessions, lists: lists, clock: &clock{}, recorded: &recorder{},
		tag: strings.ToLower(rand.Text()[:8])}
	cfg := Config{
		Store: store, Sessions: sessions, Eraser: eraser, Interactions: e.recorded,
		Auth: AuthConfig{Secret: testSecret}, Passwords: testPasswords, Limits: testLimits, Now: e.clock.now,
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	e.handler = New(cfg, serving.New(lists, store, store, log), log)
	return e
}

// response is a response of the API under test.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r response) problem(t *testing.T) Problem {
	t.Helper()
	var p Problem
	r.decode(t, &p)
	return p
}

// request is one call to the API. body is sent as is when it is a string
// or []byte and as JSON otherwise.
type request struct {
	method, path, token string
	body                any
	header              map[string]string
}

func (e *env) do(r request) response {
	e.t.Helper()
	var body io.Reader
	var raw []byte
	switch b := r.body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			e.t.Fatalf("encode body: %v", err)
		}
	}
	if raw != nil {
		body = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(r.method, r.path, body)
	req.RemoteAddr = "192.0.2.1:1234"
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}

	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	resp := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	if resp.status >= 500 && resp.status != http.StatusServiceUnavailable {
		e.t.Errorf("%s %s: status %d, a server error: %s", r.method, r.path, resp.status, resp.body)
	}
	checkAgainstDocument(e.t, r.method, r.path, raw, rec)
	return resp
}

// call does a request and fails the test unless the status is want.
func (e *env) call(method, path, token string, body any, want int) response {
	e.t.Helper()
	resp := e.do(request{method: method, path: path, token: token, body: body})
	if resp.status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.status, want, resp.body)
	}
	return resp
}

// email returns an e-mail unique to the test.
func (e *env) email(name string) string { return name + "." + e.tag + "@example.com" }

// id returns a title ID unique to the test.
func (e *env) id(name string) string { return name + "-" + e.tag }

const testPassword = "correct horse battery"

// signUp registers a user and signs in, returning the user and tokens.
func (e *env) signUp(name string) (userJSON, tokenJSON) {
	e.t.Helper()
	var u userJSON
	e.call("POST", "/v1/auth/register", "", map[string]string{"email": e.email(name), "password": testPassword, "name": name},
		http.StatusCreated).decode(e.t, &u)
	return u, e.login(e.email(name), testPassword)
}

func (e *env) login(email, password string) tokenJSON {
	e.t.Helper()
	var tok tokenJSON
	e.call("POST", "/v1/auth/login", "", map[string]string{"email": email, "password": password}, http.StatusOK).decode(e.t, &tok)
	return tok
}

// admin creates an admin account and returns its access token.
func (e *env) admin() string {
	e.t.Helper()
	_, err := CreateAccount(e.t.Context(), e.store, testPasswords, e.email("admin"), "Admin", testPassword, data.RoleAdmin, e.clock.now())
	if err != nil {
		e.t.Fatalf("CreateAccount: %v", err)
	}
	return e.login(e.email("admin"), testPassword).AccessToken
}

// titles stores titles with IDs made unique by e.id and returns the IDs.
func (e *env) titles(names ...string) []string {
	e.t.Helper()
	ids := make([]string, len(names))
	titles := make([]data.Title, len(names))
	for i, n := range names {
		ids[i] = e.id(n)
		titles[i] = data.Title{ID: ids[i], Name: n, Year: 2000 + i, Genres: []string{"Drama", "genre-" + e.tag}, Type: "movie", DurationSec: 5400}
	}
	if err := e.store.PutTitles(e.t.Context(), titles); err != nil {
		e.t.Fatalf("PutTitles: %v", err)
	}
	return ids
}

// publish commits a run with the given lists.
func (e *env) publish(runID string, lists []data.ListEntry) {
	e.t.Helper()
	ctx := e.t.Context()
	w, err := e.lists.NewRun(ctx, runID)
	if err != nil {
		e.t.Fatalf("NewRun: %v", err)
	}
	if err := w.Put(ctx, lists); err != nil {
		e.t.Fatalf("Put: %v", err)
	}
	if err := w.Commit(ctx); err != nil {
		e.t.Fatalf("Commit: %v", err)
	}
}

// scored returns ids as a published list, scored in decreasing order.
func scored(ids ...string) []data.ScoredItem {
	items := make([]data.ScoredItem, len(ids))
	for i, id := range ids {
		items[i] = data.ScoredItem{ID: id, Score: float32(len(ids) - i)}
	}
	return items
}

// The OpenAPI document, parsed once for all tests.
var openAPI struct {
	once      sync.Once
	validator validator.Validator
	err       error
}

func documentValidator(t *testing.T) validator.Validator {
	t.Helper()
	openAPI.once.Do(func() {
		doc, err := libopenapi.NewDocument(openAPIDocument)
		if err != nil {
			openAPI.err = err
			return
		}
		v, errs := validator.NewValidator(doc)
		if len(errs) > 0 {
			openAPI.err = fmt.Errorf("%v", errs)
			return
		}
		openAPI.validator = v
	})
	if openAPI.err != nil {
		t.Fatalf("openapi.json: %v", openAPI.err)
	}
	return openAPI.validator
}

// checkAgainstDocument reports a response that the OpenAPI document does not
// describe: an undocumented status or a body that breaks its schema.
// Responses to paths the document does not have, such as the 404 of an
// unknown route, are not checked.
func checkAgainstDocument(t *testing.T, method, path string, body []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	v := documentValidator(t)
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	resp := rec.Result()
	ok, errs := v.ValidateHttpResponse(req, resp)
	if ok {
		return
	}
	for _, err := range errs {
		if err.IsPathMissingError() || err.IsOperationMissingError() {
			return
		}
	}
	var msgs []string
	for _, err := range errs {
		msg := err.Message + ": " + err.Reason
		for _, se := range err.SchemaValidationErrors {
			msg += fmt.Sprintf(" [%s: %s]", se.FieldPath, se.Reason)
		}
		msgs = append(msgs, msg)
	}
	t.Errorf("%s %s: status %d response does not match openapi.json: %s\nbody: %s", method, path, rec.Code, strings.Join(msgs, "; "), rec.Body.Bytes())
}

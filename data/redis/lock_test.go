package redis_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/data/redis"
)

func TestLockExcludesAndDedupesTicks(t *testing.T) {
	addr := testAddr(t)
	prefix := newPrefix(t, addr)
	a, b := openLists(t, addr, prefix).Lock(time.Second), openLists(t, addr, prefix).Lock(time.Second)
	ctx := t.Context()
	tick := time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC)

	first, err := a.Acquire(ctx, tick)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Acquire(ctx, tick.Add(time.Minute)); !errors.Is(err, redis.ErrLocked) {
		t.Errorf("second holder: got %v, want ErrLocked", err)
	}
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Acquire(ctx, tick); !errors.Is(err, redis.ErrTickTaken) {
		t.Errorf("same tick after release: got %v, want ErrTickTaken", err)
	}
	second, err := b.Acquire(ctx, time.Time{})
	if err != nil {
		t.Fatalf("a run by hand after release: %v", err)
	}
	defer second.Release(ctx)
	if second.Token() <= first.Token() {
		t.Errorf("fencing tokens %d then %d, want increasing", first.Token(), second.Token())
	}
}

// TestLockRenewsAndExpires holds a lease for several TTLs, then cuts its
// holder's connection as a crash would. The lease reports itself lost and
// another holder takes the lock once it expires. The old holder's fenced
// commit is then rejected, and the new holder's goes through.
func TestLockRenewsAndExpires(t *testing.T) {
	addr := testAddr(t)
	prefix := newPrefix(t, addr)
	// Long enough that renewals, every third of it, succeed on a loaded
	// machine.
	const ttl = 600 * time.Millisecond
	ctx := t.Context()

	// The old holder reaches Redis through a proxy, so that its connection
	// can be cut.
	proxy := startProxy(t, addr)
	oldLists := openLists(t, proxy.addr(), prefix)
	newLists := openLists(t, addr, prefix)
	old, err := oldLists.Lock(ttl).Acquire(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * ttl)
	select {
	case <-old.Lost():
		t.Fatal("the lease was lost although it was renewed")
	default:
	}
	if _, err := newLists.Lock(ttl).Acquire(ctx, time.Time{}); !errors.Is(err, redis.ErrLocked) {
		t.Fatalf("while renewed: got %v, want ErrLocked", err)
	}

	// The old holder writes a run, then loses its connection.
	w, err := oldLists.NewRun(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Put(ctx, []data.ListEntry{userList("u1", "a")}); err != nil {
		t.Fatal(err)
	}
	proxy.cut()
	select {
	case <-old.Lost():
	case <-time.After(3 * ttl):
		t.Fatal("the lease was not reported lost within its TTL after renewals stopped")
	}
	var lease *redis.Lease
	deadline := time.Now().Add(3 * ttl)
	for lease == nil {
		lease, err = newLists.Lock(ttl).Acquire(ctx, time.Time{})
		if err != nil && (!errors.Is(err, redis.ErrLocked) || time.Now().After(deadline)) {
			t.Fatalf("after the holder died: %v", err)
		}
		time.Sleep(ttl / 10)
	}
	defer lease.Release(ctx)

	// The old holder is back, too late: its fenced commit is refused.
	proxy.heal()
	fw := w.(data.FencedCommitter)
	if err := fw.CommitFenced(ctx, old.Token()); !errors.Is(err, data.ErrConflict) {
		t.Errorf("commit with the stale token %d: got %v, want ErrConflict", old.Token(), err)
	}
	if _, err := newLists.Current(ctx); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("the refused commit switched the pointer: %v", err)
	}
	w2, err := newLists.NewRun(ctx, "new")
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.(data.FencedCommitter).CommitFenced(ctx, lease.Token()); err != nil {
		t.Fatalf("commit with the current token: %v", err)
	}
	if cur, err := newLists.Current(ctx); cur != "new" || err != nil {
		t.Errorf("current run %q, %v, want new", cur, err)
	}
}

// TestLockReportsTakeover deletes the lock key under a holder, as an
// operator or a failover might: the next renewal finds another value and
// reports the lease lost.
func TestLockReportsTakeover(t *testing.T) {
	addr := testAddr(t)
	prefix := newPrefix(t, addr)
	const ttl = 150 * time.Millisecond
	lease, err := openLists(t, addr, prefix).Lock(ttl).Acquire(t.Context(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	if err := c.Set(context.Background(), prefix+":{runs}:lock", "someone else", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lease.Lost():
	case <-time.After(2 * ttl):
		t.Fatal("a lease whose key was taken over is not reported lost")
	}
	if err := lease.Release(t.Context()); err != nil {
		t.Errorf("release of a lost lease: %v", err)
	}
	if v, _ := c.Get(context.Background(), prefix+":{runs}:lock").Result(); v != "someone else" {
		t.Errorf("releasing a lost lease deleted the new holder's key: %q", v)
	}
}

// proxy forwards TCP connections to a target until cut, which closes every
// connection and refuses new ones until heal.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex // guards down and conns
	down  bool
	conns []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
	})
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			client.Close()
			continue
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		go func() { io.Copy(server, client); server.Close() }()
		go func() { io.Copy(client, server); client.Close() }()
	}
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

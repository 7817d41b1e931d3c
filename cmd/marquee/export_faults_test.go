package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/pipeline"
)

// faultSource passes an export's reads to a store and counts them. Once
// `after` partitions are finished (never when after <= 0), the fault
// starts: fault is called, or, when fault is nil, every later read fails
// in the source itself as if the node had gone.
type faultSource struct {
	pipeline.Source
	data.PartitionedScanner
	after int
	fault func()

	mu       sync.Mutex // guards the fields below
	failing  bool
	started  bool
	reads    map[string]int
	finished map[string]bool // partitions read to the end without an error
}

func newFaultSource(store data.Store, after int, fault func()) *faultSource {
	return &faultSource{
		Source: store, PartitionedScanner: store.(data.PartitionedScanner), after: after, fault: fault,
		reads: map[string]int{}, finished: map[string]bool{},
	}
}

func (f *faultSource) ScanPartition(ctx context.Context, p data.ScanPartition, w data.Window, fn func(data.Event) error) error {
	f.mu.Lock()
	f.reads[p.Key]++
	failing := f.failing
	f.mu.Unlock()
	if failing {
		return fmt.Errorf("read %s: %w: connection refused", p.Key, data.ErrUnavailable)
	}

	err := f.PartitionedScanner.ScanPartition(ctx, p, w, fn)
	f.mu.Lock()
	if err == nil {
		f.finished[p.Key] = true
	}
	start := f.after > 0 && !f.started && len(f.finished) >= f.after
	if start {
		f.started = true
		f.failing = f.fault == nil
	}
	f.mu.Unlock()
	if start && f.fault != nil {
		f.fault()
	}
	return err
}

// counts returns copies of the read counts and of the finished set.
func (f *faultSource) counts() (map[string]int, map[string]bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	reads, finished := make(map[string]int), make(map[string]bool)
	for k, v := range f.reads {
		reads[k] = v
	}
	for k := range f.finished {
		finished[k] = true
	}
	return reads, finished
}

// cutProxy forwards TCP connections to a target until cut, which closes
// every connection and refuses new ones until heal: to a client, the
// target becomes unreachable.
type cutProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu    sync.Mutex // guards cut and conns
	cut   bool
	conns map[net.Conn]struct{}
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.serve)
	t.Cleanup(func() {
		ln.Close()
		p.Cut()
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) Addr() string { return p.ln.Addr().String() }

func (p *cutProxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := p.dial()
		if err != nil {
			client.Close()
			continue
		}
		p.wg.Go(func() { p.pipe(server, client) })
		p.wg.Go(func() { p.pipe(client, server) })
	}
}

// dial connects to the target and tracks the connection, unless cut.
func (p *cutProxy) dial() (net.Conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return nil, errors.New("cut")
	}
	c, err := net.Dial("tcp", p.target)
	if err == nil {
		p.conns[c] = struct{}{}
	}
	return c, err
}

func (p *cutProxy) pipe(dst, src net.Conn) {
	p.mu.Lock()
	p.conns[src] = struct{}{}
	p.mu.Unlock()
	io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// Cut closes every connection and refuses new ones.
func (p *cutProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// Heal accepts connections again.
func (p *cutProxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

// waitReachable waits until a query to store succeeds again.
func waitReachable(t *testing.T, store data.Store) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := store.Ratings(t.Context(), "nobody")
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("store still unreachable a minute after the fault cleared: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// exportFaultConfig retries quickly, so that a lasting fault fails the
// export within seconds.
var exportFaultConfig = pipeline.ExportConfig{Concurrency: 4, Attempts: 3, Backoff: 20 * time.Millisecond}

// checkFailedExport checks the error of an export that lost the node: it
// wraps data.ErrUnavailable, counts and names partitions that were not
// finished, and no export directory exists.
func checkFailedExport(t *testing.T, err error, dir string, parts []data.ScanPartition, finished map[string]bool) {
	t.Helper()
	if err == nil {
		t.Fatal("export that lost the node returned nil")
	}
	if !errors.Is(err, data.ErrUnavailable) {
		t.Errorf("error %q does not wrap data.ErrUnavailable", err)
	}
	msg := err.Error()
	want := fmt.Sprintf("%d of %d partitions not read", len(parts)-len(finished), len(parts))
	_, remaining, ok := strings.Cut(msg, "remaining: ")
	if !strings.Contains(msg, want) || !ok {
		t.Fatalf("error %q does not say %q and which partitions remain", msg, want)
	}
	remaining, _, _ = strings.Cut(remaining, ";")
	remaining, _, _ = strings.Cut(remaining, " and ")
	known := make(map[string]bool)
	for _, p := range parts {
		known[p.Key] = true
	}
	for _, k := range strings.Split(remaining, ", ") {
		if !known[k] || finished[k] {
			t.Errorf("error names %q, which is not a partition left to read", k)
		}
	}

	if _, statErr := os.Stat(dir); !errors.Is(statErr, fs.ErrNotExist) {
		t.Errorf("a failed export left %s behind (stat: %v)", dir, statErr)
	}
	if _, statErr := os.Stat(filepath.Join(dir+".partial", "out")); !errors.Is(statErr, fs.ErrNotExist) {
		t.Errorf("a failed export began writing the export files (stat: %v)", statErr)
	}
}

// TestExportResumesAfterLosingCassandra loses the node in the middle of an
// export of real data, once through a source that fails every read from
// some point on, and once for real, by cutting the network between the
// store and the node. The export retries, fails naming the partitions
// left and writes no export. Run again once the node is back, it reads
// only those partitions and writes the same files as an export that was
// never interrupted.
func TestExportResumesAfterLosingCassandra(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a synthetic world into Cassandra; skipped in -short mode")
	}
	addr, keyspace := freshKeyspace(t, "fault")
	const options = "token_ranges=64"
	store := openTestStore(t, cassandraURL(addr, keyspace, options))
	fillStore(t, store)

	faults := []struct {
		name string
		// setUp returns the store to export from, what starts the fault
		// (nil: the source fails reads itself) and what clears it.
		setUp func(t *testing.T) (data.Store, func(), func())
	}{
		{"reads fail", func(t *testing.T) (data.Store, func(), func()) {
			return store, nil, func() {}
		}},
		{"network cut", func(t *testing.T) (data.Store, func(), func()) {
			proxy := startCutProxy(t, addr)
			cut := openTestStore(t, cassandraURL(proxy.Addr(), keyspace, options))
			return cut, proxy.Cut, func() {
				proxy.Heal()
				waitReachable(t, cut)
			}
		}},
	}
	for _, tc := range exportWindows {
		want, _ := exportOf(t, store, tc.w, pipeline.ExportConfig{})
		for _, fault := range faults {
			t.Run(tc.name+"/"+fault.name, func(t *testing.T) {
				from, startFault, clearFault := fault.setUp(t)
				parts, err := store.(data.PartitionedScanner).ScanPartitions(t.Context(), tc.w)
				if err != nil {
					t.Fatal(err)
				}
				src := newFaultSource(from, len(parts)/3, startFault)
				dir := filepath.Join(t.TempDir(), "export")

				start := time.Now()
				_, err = pipeline.Export(t.Context(), src, tc.w, dir, exportFaultConfig, testLogger())
				_, finished := src.counts()
				t.Logf("failed after %v with %d of %d partitions finished: %v",
					time.Since(start).Round(time.Millisecond), len(finished), len(parts), err)
				checkFailedExport(t, err, dir, parts, finished)
				if len(finished) < src.after || len(finished) == len(parts) {
					t.Fatalf("%d of %d partitions finished, want at least the %d before the fault and not all",
						len(finished), len(parts), src.after)
				}

				clearFault()
				again := newFaultSource(from, 0, nil)
				res, err := pipeline.Export(t.Context(), again, tc.w, dir, exportFaultConfig, testLogger())
				if err != nil {
					t.Fatalf("export after the fault cleared: %v", err)
				}
				reads, _ := again.counts()
				for key := range finished {
					if reads[key] > 0 {
						t.Errorf("partition %s, finished before the fault, read again on resume", key)
					}
				}
				if res.Resumed != len(finished) || len(reads) != len(parts)-len(finished) {
					t.Errorf("resumed %d and read %d of %d partitions, want %d resumed and the other %d read",
						res.Resumed, len(reads), len(parts), len(finished), len(parts)-len(finished))
				}
				compareExports(t, want, dir)
			})
		}
	}
}

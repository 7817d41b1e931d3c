// Package redistest gives tests a Redis. [Shared] and [Prefix] give the one
// named by MARQUEE_TEST_REDIS, with a key prefix of the test's own. [Start]
// and [StartCluster] start redis-server processes of the test's own on
// loopback, for tests that stop Redis under load or need a cluster; they
// are killed when the test ends.
//
// A test whose Redis is missing is skipped, or fails under CI=true: an unset
// MARQUEE_TEST_REDIS, or no redis-server on the PATH. A MARQUEE_TEST_REDIS
// that does not answer always fails the test.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Shared returns the address of the Redis named by MARQUEE_TEST_REDIS
// (host:port), after checking that it replies to PING.
func Shared(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("MARQUEE_TEST_REDIS")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("required under CI=true: MARQUEE_TEST_REDIS is not set; start Redis with scripts/redis/start.sh and set it to host:port")
		}
		t.Skip("MARQUEE_TEST_REDIS is not set; start Redis with scripts/redis/start.sh and set it to host:port")
	}
	if err := waitPing(addr, 5*time.Second); err != nil {
		t.Fatalf("MARQUEE_TEST_REDIS=%s: %v", addr, err)
	}
	return addr
}

// Prefix returns a key prefix of the test's own and deletes the keys under
// it on addr when the test ends.
func Prefix(t testing.TB, addr string) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	prefix := "mqtest-" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		c := goredis.NewClient(&goredis.Options{Addr: addr})
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+":*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Unlink(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("delete the keys of the test: %v", err)
		}
	})
	return prefix
}

// Server is one redis-server process on 127.0.0.1. Its methods are not safe
// for concurrent use.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	args []string
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Binary returns the path of a program the tests need, skipping the test
// when it is missing, or failing it under CI=true.
func Binary(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("required under CI=true: %s is not on the PATH: %v", name, err)
		}
		t.Skipf("%s is not on the PATH: install Debian's redis-server package", name)
	}
	return path
}

// Start starts a redis-server on a free loopback port with extra
// command-line arguments, which win over the defaults (no persistence),
// waits until it replies to PING, and kills it when the test ends.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	s := &Server{t: t, bin: Binary(t, "redis-server"), dir: t.TempDir(), port: freePort(t), args: args}
	t.Cleanup(s.Stop)
	s.Restart()
	return s
}

// Addr returns host:port of the server.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Port returns the server's port.
func (s *Server) Port() int { return s.port }

// Stop kills the server (SIGKILL, as in a crash) and waits for it to exit.
// Stopping a stopped server does nothing.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT) // a paused process dies only once resumed
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Pause stops the server's process (SIGSTOP): connections stay open and
// commands wait, as on an overloaded server.
func (s *Server) Pause() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		s.t.Fatalf("pause redis-server: %v", err)
	}
}

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		s.t.Fatalf("resume redis-server: %v", err)
	}
}

// Restart starts the server again on the same port and directory, with the
// data its persistence options kept, and waits until it replies to PING.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	args := append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--daemonize", "no", "--dir", s.dir, "--logfile", filepath.Join(s.dir, "redis.log"),
	}, s.args...)
	cmd := exec.Command(s.bin, args...)
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(s.done)
	if err := waitPing(s.Addr(), 10*time.Second); err != nil {
		s.t.Fatalf("redis-server on %s: %v\n%s", s.Addr(), err, s.logTail())
	}
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}

func waitPing(addr string, timeout time.Duration) error {
	c := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PONG after %v: %w", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePort returns a loopback TCP port that was free a moment ago. Its
// cluster bus port, 10,000 higher, must be free as well.
func freePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if port+10000 > 65535 {
			continue
		}
		if bus, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+10000)); err == nil {
			bus.Close()
			return port
		}
	}
	t.Fatal("no free port pair for redis-server")
	return 0
}

// StartCluster starts a Redis Cluster of n masters without replicas on
// loopback, assigns every slot with redis-cli and waits until the cluster
// reports ok. It returns the masters' addresses.
func StartCluster(t testing.TB, n int) []string {
	t.Helper()
	cli := Binary(t, "redis-cli")
	addrs := make([]string, n)
	for i := range addrs {
		s := Start(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000")
		addrs[i] = s.Addr()
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, addr := range addrs {
		for {
			out, _ := exec.Command(cli, "-u", "redis://"+addr, "cluster", "info").Output()
			if strings.Contains(string(out), "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster on %v not ok after 20 s:\n%s", addrs, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return addrs
}

// Command loadgen sends GET requests at a constant rate and reports the
// latency percentiles. Each request has a scheduled time, start + i/rate,
// and its latency runs from that time, not from when it was sent, so that a
// server that stalls is charged for the requests it held up (no
// coordinated omission). Requests go out from a pool of workers over
// keep-alive HTTP/1.1 connections, one per worker, written and read by hand
// to spend little CPU; when every worker is busy, scheduled requests queue
// and their wait counts.
//
//	loadgen -rate 5000 -duration 20s -url 'http://127.0.0.1:8080/v1/users/u%05d/recommendations' -ids 1:2000
//
// A %d verb in the URL is replaced by the IDs of -ids in turn.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	target := flag.String("url", "", "http:// URL to GET; a %d verb in its path takes the IDs of -ids in turn")
	ids := flag.String("ids", "1:1", "FIRST:LAST, the IDs that replace %d")
	rate := flag.Float64("rate", 1000, "requests per second")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	workers := flag.Int("workers", 128, "requests in flight at most")
	warmup := flag.Duration("warmup", 2*time.Second, "time at the rate before measuring")
	flag.Parse()
	if err := run(*target, *ids, *rate, *duration, *warmup, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// result is one request: its latency from the scheduled time, its
// service time from when it was sent, and whether it failed.
type result struct {
	latency, service time.Duration
	failed           bool
}

func run(target, ids string, rate float64, duration, warmup time.Duration, workers int) error {
	first, last, err := parseIDs(ids)
	switch {
	case err != nil:
		return err
	case rate <= 0 || duration <= 0 || workers < 1:
		return fmt.Errorf("want -rate, -duration and -workers above 0")
	}
	// Not url.Parse: the %d verb is no valid escape.
	host, path, ok := strings.Cut(strings.TrimPrefix(target, "http://"), "/")
	if !ok || host == "" || !strings.HasPrefix(target, "http://") {
		return fmt.Errorf("invalid -url %q: want http://host:port/path", target)
	}
	path = "/" + path

	total := int((duration + warmup).Seconds() * rate)
	skip := int(warmup.Seconds() * rate)
	schedule := make(chan int, total)
	results := make([]result, total)
	var wg sync.WaitGroup
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	for range workers {
		wg.Go(func() {
			c := &conn{addr: host}
			defer c.close()
			for i := range schedule {
				p := path
				if strings.Contains(path, "%") {
					p = fmt.Sprintf(path, first+i%(last-first+1))
				}
				sent := time.Now()
				failed := c.get(host, p) != nil
				done := time.Now()
				results[i] = result{latency: done.Sub(start.Add(time.Duration(i) * interval)), service: done.Sub(sent), failed: failed}
			}
		})
	}
	dispatch(schedule, total, start, interval)
	wg.Wait()
	elapsed := time.Since(start)

	report(results[skip:], float64(total)/elapsed.Seconds(), rate)
	return nil
}

// conn is one keep-alive HTTP/1.1 connection. It writes requests and reads
// responses by hand: net/http's client costs several times more CPU per
// request, which on a small machine would be charged to the server.
type conn struct {
	addr string
	c    net.Conn
	r    *bufio.Reader
	buf  []byte
}

func (c *conn) close() {
	if c.c != nil {
		c.c.Close()
	}
}

// get sends GET path and reads the response. It fails for a status outside
// 2xx or a response without Content-Length, and then drops the connection.
func (c *conn) get(host, path string) error {
	if c.c == nil {
		nc, err := net.Dial("tcp", c.addr)
		if err != nil {
			return err
		}
		c.c, c.r = nc, bufio.NewReaderSize(nc, 64<<10)
	}
	c.buf = append(append(append(append(c.buf[:0], "GET "...), path...), " HTTP/1.1\r\nHost: "...), host...)
	c.buf = append(c.buf, "\r\n\r\n"...)
	err := c.exchange()
	if err != nil {
		c.c.Close()
		c.c = nil
	}
	return err
}

func (c *conn) exchange() error {
	if _, err := c.c.Write(c.buf); err != nil {
		return err
	}
	status, err := c.r.ReadSlice('\n')
	if err != nil {
		return err
	}
	if len(status) < 12 || status[9] != '2' {
		return fmt.Errorf("status %q", strings.TrimSpace(string(status)))
	}
	length := -1
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if name, value, ok := strings.Cut(string(line), ":"); ok && strings.EqualFold(name, "Content-Length") {
			length, err = strconv.Atoi(strings.TrimSpace(value))
			if err != nil {
				return err
			}
		}
	}
	if length < 0 {
		return fmt.Errorf("response without Content-Length")
	}
	_, err = c.r.Discard(length)
	return err
}

// dispatch hands out request numbers at their scheduled times.
func dispatch(schedule chan<- int, total int, start time.Time, interval time.Duration) {
	for i := 0; i < total; {
		due := int(time.Since(start)/interval) + 1
		for ; i < total && i < due; i++ {
			schedule <- i
		}
		if next := start.Add(time.Duration(i) * interval); time.Until(next) > 50*time.Microsecond {
			time.Sleep(time.Until(next))
		}
	}
	close(schedule)
}

func report(results []result, achieved, rate float64) {
	lat := make([]time.Duration, len(results))
	svc := make([]time.Duration, len(results))
	failed := 0
	for i, r := range results {
		lat[i], svc[i] = r.latency, r.service
		if r.failed {
			failed++
		}
	}
	fmt.Printf("rate %.0f/s asked, %.0f/s achieved; %d requests measured, %d failed\n", rate, achieved, len(results), failed)
	fmt.Printf("latency from the scheduled time: %s\n", percentiles(lat))
	fmt.Printf("service time from the send:      %s\n", percentiles(svc))
}

// percentiles formats p50, p99, p99.9 and the maximum of ds.
func percentiles(ds []time.Duration) string {
	slices.Sort(ds)
	q := func(p float64) string {
		return fmt.Sprintf("%.3f ms", float64(ds[min(len(ds)-1, int(p*float64(len(ds))))].Microseconds())/1000)
	}
	return fmt.Sprintf("p50 %s  p99 %s  p99.9 %s  max %s", q(0.50), q(0.99), q(0.999), q(1))
}

func parseIDs(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, ":")
	first, err1 := strconv.Atoi(a)
	last, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || last < first {
		return 0, 0, fmt.Errorf("invalid -ids %q: want FIRST:LAST", s)
	}
	return first, last, nil
}

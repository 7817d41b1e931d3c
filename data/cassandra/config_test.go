package cassandra

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		name string
		url  string
		want func(*Config)
	}{
		{"defaults", "cassandra://127.0.0.1/marquee", func(c *Config) {}},
		{"shared port", "cassandra://h1,h2:9142/marquee", func(c *Config) {
			c.Hosts, c.Port = []string{"h1", "h2"}, 9142
		}},
		{"port per host", "cassandra://h1:9043,h2:9044/marquee", func(c *Config) {
			c.Hosts, c.Port = []string{"h1:9043", "h2"}, 9044
		}},
		{"IPv6", "cassandra://[::1]:9043/marquee", func(c *Config) {
			c.Hosts, c.Port = []string{"::1"}, 9043
		}},
		{"credentials and options", "cassandra://app:s%40cret@10.0.0.1/ks_1?consistency=local_one&serial_consistency=SERIAL" +
			"&timeout=5s&connect_timeout=3s&ddl_timeout=90s&startup_timeout=2m&retries=5&retry_min=50ms&retry_max=1s" +
			"&buckets=16&concurrency=128&scan_concurrency=8&page_size=1000&token_ranges=64&local_dc=dc1&tls=true&tls_ca=/etc/ca.pem", func(c *Config) {
			c.Hosts, c.Keyspace = []string{"10.0.0.1"}, "ks_1"
			c.Username, c.Password = "app", "s@cret"
			c.Consistency, c.SerialConsistency = "LOCAL_ONE", "SERIAL"
			c.Timeout, c.ConnectTimeout, c.DDLTimeout, c.StartupTimeout = 5*time.Second, 3*time.Second, 90*time.Second, 2*time.Minute
			c.Retries, c.RetryMin, c.RetryMax = 5, 50*time.Millisecond, time.Second
			c.Buckets, c.Concurrency, c.ScanConcurrency, c.PageSize, c.TokenRanges = 16, 128, 8, 1000, 64
			c.LocalDC, c.TLS, c.TLSCAFile = "dc1", true, "/etc/ca.pem"
		}},
		{"network topology", "cassandra://h/ks?replication=NetworkTopologyStrategy:dc1=3,dc2=2", func(c *Config) {
			c.Hosts, c.Keyspace = []string{"h"}, "ks"
			c.Replication = Replication{Class: NetworkTopologyStrategy, DataCenters: map[string]int{"dc1": 3, "dc2": 2}}
		}},
		{"simple strategy", "cassandra://h/ks?replication=SimpleStrategy:3", func(c *Config) {
			c.Hosts, c.Keyspace = []string{"h"}, "ks"
			c.Replication = Replication{Class: SimpleStrategy, Factor: 3}
		}},
		{"no retries", "cassandra://h/ks?retries=0", func(c *Config) {
			c.Hosts, c.Keyspace, c.Retries = []string{"h"}, "ks", -1
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseURL(tc.url)
			if err != nil {
				t.Fatalf("ParseURL(%q): %v", tc.url, err)
			}
			want := Config{Hosts: []string{"127.0.0.1"}, Keyspace: "marquee"}
			tc.want(&want)
			want = want.WithDefaults()
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ParseURL(%q):\n got %+v\nwant %+v", tc.url, got, want)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	tests := []struct {
		url  string
		want string // a part of the error message naming the field and value
	}{
		{"http://h/ks", `scheme "http"`},
		{"cassandra:///ks", "hosts: none given"},
		{"cassandra://h/", `keyspace ""`},
		{"cassandra://h/Marquee", `keyspace "Marquee"`},
		{"cassandra://h/ks;drop", `keyspace "ks;drop"`},
		{"cassandra://h:0/ks", `port "0"`},
		{"cassandra://h:70000/ks", `port "70000"`},
		{"cassandra://h/ks?consistency=MOST", `consistency "MOST"`},
		{"cassandra://h/ks?serial_consistency=ONE", `serial consistency "ONE"`},
		{"cassandra://h/ks?timeout=soon", `timeout="soon"`},
		{"cassandra://h/ks?timeout=-1s", `timeout="-1s": not a positive duration`},
		{"cassandra://h/ks?timeout=0s", `timeout="0s": not a positive duration`},
		{"cassandra://h/ks?buckets=-3", `buckets="-3": not an integer >= 1`},
		{"cassandra://h/ks?buckets=0", `buckets="0": not an integer >= 1`},
		{"cassandra://h/ks?buckets=5000", "buckets 5000"},
		{"cassandra://h/ks?retries=-2", `retries="-2"`},
		{"cassandra://h/ks?buckets=many", `buckets="many"`},
		{"cassandra://h/ks?page_size=5", "page size 5"},
		{"cassandra://h/ks?retries=21", "retries 21"},
		{"cassandra://h/ks?retry_min=2s&retry_max=1s", "retry max 1s"},
		{"cassandra://h/ks?colour=blue", `colour="blue": unknown option`},
		{"cassandra://h/ks?buckets=1&buckets=2", "buckets: given 2 times"},
		{"cassandra://h/ks?replication=SimpleStrategy:0", `replication "SimpleStrategy:0": factor "0"`},
		{"cassandra://h/ks?replication=LocalStrategy:1", `class "LocalStrategy"`},
		{"cassandra://h/ks?replication=NetworkTopologyStrategy:dc1", `data center "dc1"`},
		{"cassandra://h/ks?replication=NetworkTopologyStrategy:dc'1=3", `data center "dc'1"`},
		{"cassandra://h/ks?tls=maybe", `tls="maybe"`},
	}
	for _, tc := range tests {
		_, err := ParseURL(tc.url)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseURL(%q): got error %v, want one containing %q", tc.url, err, tc.want)
		}
	}
}

func TestValidateNamesField(t *testing.T) {
	cfg := Config{Hosts: []string{"h"}, Keyspace: "ks"}.WithDefaults()
	cfg.ScanConcurrency = 5000
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "scan concurrency 5000") {
		t.Errorf("Validate with scan concurrency 5000: got %v, want an error naming it", err)
	}
	cfg = Config{Hosts: []string{"bad host"}, Keyspace: "ks"}.WithDefaults()
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `host "bad host"`) {
		t.Errorf("Validate with host %q: got %v, want an error naming it", "bad host", err)
	}
}

func FuzzParseURL(f *testing.F) {
	f.Add("cassandra://127.0.0.1:9042/marquee?consistency=ONE")
	f.Add("cassandra://u:p@h1,h2:1/ks?replication=NetworkTopologyStrategy:a=1,b=2&buckets=3")
	f.Add("cassandra://[::1]/k?timeout=1ms")
	f.Fuzz(func(t *testing.T, raw string) {
		cfg, err := ParseURL(raw)
		if err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("ParseURL(%q) returned a config that fails Validate: %v", raw, err)
		}
		if !keyspacePattern.MatchString(cfg.Keyspace) {
			t.Errorf("ParseURL(%q): keyspace %q would need quoting", raw, cfg.Keyspace)
		}
		if strings.ContainsAny(cfg.Replication.cql(), `"\;`) {
			t.Errorf("ParseURL(%q): replication %s holds a character that could end the statement", raw, cfg.Replication.cql())
		}
	})
}

func TestReplicationCQL(t *testing.T) {
	tests := []struct {
		r    Replication
		want string
		text string
	}{
		{Replication{Class: SimpleStrategy, Factor: 3}, "{'class': 'SimpleStrategy', 'replication_factor': 3}", "SimpleStrategy:3"},
		{Replication{Class: NetworkTopologyStrategy, DataCenters: map[string]int{"eu": 3, "us-east.1": 2}},
			"{'class': 'NetworkTopologyStrategy', 'eu': 3, 'us-east.1': 2}", "NetworkTopologyStrategy:eu=3,us-east.1=2"},
	}
	for _, tc := range tests {
		if got := tc.r.cql(); got != tc.want {
			t.Errorf("cql(): got %q, want %q", got, tc.want)
		}
		if got := tc.r.String(); got != tc.text {
			t.Errorf("String(): got %q, want %q", got, tc.text)
		}
		back, err := ParseReplication(tc.text)
		if err != nil || !reflect.DeepEqual(back, tc.r) {
			t.Errorf("ParseReplication(%q): got %+v, %v, want %+v", tc.text, back, err, tc.r)
		}
	}
}

package cassandra

import (
	"testing"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/data/storetest"
)

// TestConformance runs the storage conformance suite, each subtest on a new
// keyspace that is dropped when the subtest ends.
func TestConformance(t *testing.T) {
	testAddr(t)
	storetest.Run(t, func(t *testing.T) storetest.Opener[data.Store] {
		cfg := openFresh(t, "conf").cfg
		return func(t *testing.T) data.Store {
			s, err := Open(t.Context(), cfg, testLog(t))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			return s
		}
	})
}

// TestEraser runs the event eraser suite on a new keyspace.
func TestEraser(t *testing.T) {
	testAddr(t)
	storetest.RunEraser(t, func(t *testing.T) storetest.Opener[data.Store] {
		cfg := openFresh(t, "erase").cfg
		return func(t *testing.T) data.Store {
			s, err := Open(t.Context(), cfg, testLog(t))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			return s
		}
	})
}

package cassandra

import (
	"testing"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/data/storetest"
)

// TestSessionsConformance runs the session store suite, each subtest on a
// new keyspace.
func TestSessionsConformance(t *testing.T) {
	testAddr(t)
	storetest.RunSessions(t, func(t *testing.T) storetest.Opener[data.Sessions] {
		cfg := openFresh(t, "sess").cfg
		return func(t *testing.T) data.Sessions {
			s, err := Open(t.Context(), cfg, testLog(t))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			return s
		}
	})
}

package cassandra

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/marquee/marquee/data"
)

// wrap returns err prefixed with the package and the operation, with the
// driver's error mapped to the data sentinels: a missing row becomes
// data.ErrNotFound, and timeouts, unavailable replicas and unreachable
// hosts become data.ErrUnavailable. The driver's error stays in the chain.
// Errors that already carry a data sentinel pass through unchanged but for
// the prefix.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("cassandra: %s: %w", op, classify(err))
}

func classify(err error) error {
	switch {
	case isSentinel(err):
		return err
	case errors.Is(err, gocql.ErrNotFound):
		return fmt.Errorf("%w: %w", data.ErrNotFound, err)
	case errors.Is(err, context.Canceled):
		return err
	case unavailable(err):
		return fmt.Errorf("%w: %w", data.ErrUnavailable, err)
	case missingSchema(err):
		// The keyspace or a table is gone, as after a node lost its data:
		// an outage of the store to fix, not a bug of the request.
		return fmt.Errorf("%w: the schema is missing, so run `marquee db migrate` once the cluster is healthy: %w", data.ErrUnavailable, err)
	}
	return err
}

// missingSchema reports whether err is the error of a keyspace or table that
// does not exist. Cassandra returns such errors as invalid requests, told apart
// only by their message.
func missingSchema(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "unconfigured table") ||
		(strings.Contains(msg, "does not exist") && (strings.Contains(msg, "keyspace") || strings.Contains(msg, "table")))
}

func isSentinel(err error) bool {
	return errors.Is(err, data.ErrNotFound) || errors.Is(err, data.ErrConflict) ||
		errors.Is(err, data.ErrInvalid) || errors.Is(err, data.ErrUnavailable)
}

// unavailable reports whether err means that the cluster did not respond in
// time, so that the same request may succeed later.
func unavailable(err error) bool {
	var (
		unavail  *gocql.RequestErrUnavailable
		wTimeout *gocql.RequestErrWriteTimeout
		rTimeout *gocql.RequestErrReadTimeout
		overload *gocql.RequestErrOverloaded
		booting  *gocql.RequestErrBootstrapping
		casUnk   *gocql.RequestErrCASWriteUnknown
		netErr   net.Error
	)
	switch {
	case errors.As(err, &unavail), errors.As(err, &wTimeout), errors.As(err, &rTimeout),
		errors.As(err, &overload), errors.As(err, &booting), errors.As(err, &casUnk):
		return true
	case errors.Is(err, gocql.ErrTimeoutNoResponse), errors.Is(err, gocql.ErrNoConnections),
		errors.Is(err, gocql.ErrConnectionClosed), errors.Is(err, gocql.ErrNoStreams),
		errors.Is(err, gocql.ErrTooManyTimeouts), errors.Is(err, gocql.ErrNoConnectionsStarted),
		errors.Is(err, gocql.ErrUnavailable), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return true
	case errors.As(err, &netErr):
		return true
	}
	return false
}

// retryable reports whether a statement that failed with err may succeed
// when sent again: timeouts, unavailable or overloaded replicas and broken
// connections, but not invalid statements or a cancelled context.
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return unavailable(err)
}

// invalidf returns an error wrapping data.ErrInvalid.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{data.ErrInvalid}, args...)...)
}

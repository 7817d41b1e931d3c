package api

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"regexp"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"
)

const (
	requestIDHeader = "X-Request-Id"
	requestIDKey    = "marquee.request_id"
	loggerKey       = "marquee.logger"
)

// validRequestID limits client-supplied request ids to a safe alphabet and
// length, so they can be logged and echoed without escaping.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// withRequestID reuses a well-formed X-Request-Id from the client or makes
// a new one, and echoes it in the response.
func withRequestID(c *gin.Context) {
	id := c.GetHeader(requestIDHeader)
	if !validRequestID.MatchString(id) {
		var b [8]byte
		rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Set(requestIDKey, id)
	c.Header(requestIDHeader, id)
	c.Next()
}

func requestID(c *gin.Context) string { return c.GetString(requestIDKey) }

// withLogger stores the logger in the context and writes one access log
// line per request at debug level, and at info level for server errors.
func withLogger(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set(loggerKey, log)
		start := time.Now()
		c.Next()
		level := slog.LevelDebug
		if c.Writer.Status() >= 500 {
			level = slog.LevelInfo
		}
		log.Log(c.Request.Context(), level, "http request",
			"method", c.Request.Method, "route", c.FullPath(), "status", c.Writer.Status(),
			"duration_ms", float64(time.Since(start).Microseconds())/1000, "request_id", requestID(c))
	}
}

func logger(c *gin.Context) *slog.Logger {
	if l, ok := c.Get(loggerKey); ok {
		return l.(*slog.Logger)
	}
	return slog.Default()
}

// recoverPanic turns a panic in a handler into a 500 problem body; the
// panic is a bug, so it is logged with the request id.
func recoverPanic(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			writeError(c, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
		}
	}()
	c.Next()
}

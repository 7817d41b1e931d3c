package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
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

// accessLog stores the logger in the context and writes one structured line
// per request at cfg.AccessLogLevel, and at info level or above for server
// errors. The line holds no header, query or body, so no token, password
// or e-mail reaches the log.
func (s *Server) accessLog(c *gin.Context) {
	c.Set(loggerKey, s.log)
	start := time.Now()
	c.Next()

	status := c.Writer.Status()
	level := s.cfg.AccessLogLevel
	if status >= 500 {
		level = max(level, slog.LevelInfo)
	}
	if !s.log.Enabled(c.Request.Context(), level) {
		return
	}
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	attrs := []slog.Attr{
		slog.String("method", c.Request.Method), slog.String("route", route), slog.Int("status", status),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		slog.Int("bytes", max(0, c.Writer.Size())), slog.String("client", c.ClientIP()),
		slog.String("request_id", requestID(c)),
	}
	if p, ok := principalOf(c); ok {
		attrs = append(attrs, slog.String("user_id", p.userID))
	}
	s.log.LogAttrs(context.WithoutCancel(c.Request.Context()), level, "http request", attrs...)
}

func logger(c *gin.Context) *slog.Logger {
	if l, ok := c.Get(loggerKey); ok {
		return l.(*slog.Logger)
	}
	return slog.Default()
}

// recoverPanic turns a panic in a handler into a 500 problem body. The
// panic is a bug, so it is logged with the request id. http.ErrAbortHandler
// is panicked again, because it makes the server drop the connection.
func recoverPanic(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			writeError(c, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
		}
	}()
	c.Next()
}

// securityHeaders stops browsers from guessing content types.
func securityHeaders(c *gin.Context) {
	c.Header("X-Content-Type-Options", "nosniff")
	c.Next()
}

// noStore keeps caches from storing responses that contain tokens or
// personal data.
func noStore(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Next()
}

// limitBody responds 413 at once for a body declared larger than the limit
// and caps the reading of any body at the limit, so a handler that reads
// more gets an error instead of unbounded memory use.
func (s *Server) limitBody(c *gin.Context) {
	limit := s.cfg.MaxBodyBytes
	if c.Request.ContentLength > limit {
		writeError(c, tooLarge(limit))
		return
	}
	if c.Request.Body != nil {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	}
	c.Next()
}

// withTimeout bounds the request's context. Store calls give up when it
// ends, and the handler responds 503 through writeError.
func (s *Server) withTimeout(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.cfg.RequestTimeout)
	defer cancel()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

// Methods and headers that cross-origin callers may use. Scripts of other
// origins read only the response headers listed as exposed, so every
// header that the API documents is listed.
const (
	corsMethods       = "GET, POST, PUT, PATCH, DELETE"
	corsAllowHeaders  = "Authorization, Content-Type, X-Request-Id"
	corsExposeHeaders = requestIDHeader + ", " + degradedHeader + ", Retry-After, Location, WWW-Authenticate"
)

// cors responds to preflight requests and marks responses readable by the
// allowed origins. Credentials (cookies) are never allowed: clients send
// bearer tokens, which a browser does not attach by itself.
func cors(cfg CORSConfig) gin.HandlerFunc {
	allowAll := slices.Contains(cfg.AllowedOrigins, "*")
	maxAge := strconv.Itoa(int(cfg.MaxAge / time.Second))
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		if origin == "" {
			c.Next()
			return
		}
		c.Writer.Header().Add("Vary", "Origin")
		preflight := c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != ""
		if !allowAll && !slices.Contains(cfg.AllowedOrigins, origin) {
			if preflight {
				writeError(c, forbidden("Origin: "+strings.ToValidUTF8(origin, "?")+" may not call this API; ask for it to be added to the allowed origins"))
				return
			}
			c.Next()
			return
		}

		if allowAll {
			c.Header("Access-Control-Allow-Origin", "*")
		} else {
			c.Header("Access-Control-Allow-Origin", origin)
		}
		c.Header("Access-Control-Expose-Headers", corsExposeHeaders)
		if preflight {
			c.Header("Access-Control-Allow-Methods", corsMethods)
			c.Header("Access-Control-Allow-Headers", corsAllowHeaders)
			c.Header("Access-Control-Max-Age", maxAge)
			c.AbortWithStatus(http.StatusNoContent)
			return
		}
		c.Next()
	}
}

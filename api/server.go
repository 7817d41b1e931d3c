package api

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/marquee/marquee/serving"
)

// Config sets up the HTTP layer.
type Config struct {
	// Health reports whether the server's dependencies answer. Nil means
	// always healthy.
	Health func(ctx context.Context) error
}

// Server holds the dependencies of the handlers.
type Server struct {
	cfg     Config
	serving *serving.Service
	log     *slog.Logger
}

// New returns the HTTP handler of the API.
func New(cfg Config, svc *serving.Service, log *slog.Logger) http.Handler {
	s := &Server{cfg: cfg, serving: svc, log: log}

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.Use(withRequestID, withLogger(log), recoverPanic)
	r.NoRoute(func(c *gin.Context) { writeError(c, notFound("no route for "+c.Request.URL.Path)) })
	r.NoMethod(func(c *gin.Context) {
		writeError(c, &problemError{status: http.StatusMethodNotAllowed, slug: "method-not-allowed",
			detail: c.Request.Method + " is not allowed on " + c.Request.URL.Path})
	})

	r.GET("/healthz", s.health)
	v1 := r.Group("/v1")
	v1.GET("/users/:id/recommendations", s.recommendations)
	v1.GET("/items/:id/similar", s.similar)
	v1.GET("/trending", s.trending)
	return r
}

func (s *Server) health(c *gin.Context) {
	if s.cfg.Health != nil {
		if err := s.cfg.Health(c.Request.Context()); err != nil {
			s.log.Warn("health check failed", "err", err)
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable"})
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

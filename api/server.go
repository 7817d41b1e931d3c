package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/marquee/marquee/data"
	"github.com/marquee/marquee/serving"
)

// Server holds the dependencies of the handlers. Its fields are set once by
// New and only read afterwards, so handlers run concurrently without locks.
type Server struct {
	cfg     Config
	serving *serving.Service
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics
	// params holds the query parameters of each route, by routeKey. A
	// route without an entry takes none.
	params map[string][]string

	// Set when cfg.Store is set.
	store     data.Store
	sessions  data.Sessions
	tokens    *tokens
	passwords *passwords
	byAddress *limiter // register, login and refresh requests per client address
	byAccount *limiter // login attempts per e-mail, password changes per user
}

// New returns the HTTP handler of the API. It panics when cfg fails
// Validate, which callers check first to report the error.
func New(cfg Config, svc *serving.Service, log *slog.Logger) http.Handler {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cfg = cfg.withDefaults()
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, serving: svc, log: log, now: cfg.Now, metrics: newMetrics(cfg.Metrics), params: map[string][]string{}}

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	// Gin would redirect /v1/trending/ and /V1/TRENDING with an HTML body.
	// The 404 problem of an unknown route names the path instead.
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	if err := r.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		panic(fmt.Sprintf("api: trusted proxies: %v", err)) // Validate checked them
	}
	r.Use(headWithoutBody, withRequestID, s.accessLog, s.metrics.observe, recoverPanic, securityHeaders,
		cors(cfg.CORS), s.checkQuery, s.limitBody, s.withTimeout)
	r.NoRoute(func(c *gin.Context) { writeError(c, notFound("no route for "+c.Request.URL.Path)) })
	r.NoMethod(func(c *gin.Context) {
		writeError(c, &problemError{status: http.StatusMethodNotAllowed, slug: "method-not-allowed",
			detail: c.Request.Method + " is not allowed on " + c.Request.URL.Path})
	})

	root := &r.RouterGroup
	s.get(root, "/healthz", nil, s.health)
	s.get(root, "/metrics", nil, gin.WrapH(promhttp.HandlerFor(cfg.Metrics, promhttp.HandlerOpts{})))
	s.get(root, "/openapi.json", nil, serveOpenAPI)
	s.get(root, "/docs", nil, serveDocs)

	v1 := r.Group("/v1")
	if cfg.Store != nil {
		s.routeAccounts(v1)
	}
	s.get(v1, "/users/:id/recommendations", listParams, append(s.userListAccess(), s.recommendations)...)
	s.get(v1, "/items/:id/similar", listParams, s.similar)
	s.get(v1, "/trending", listParams, s.trending)
	return r
}

// routeAccounts sets up the routes that need the store and sign-in.
func (s *Server) routeAccounts(v1 *gin.RouterGroup) {
	s.store, s.sessions = s.cfg.Store, s.cfg.Sessions
	s.tokens = newTokens(s.cfg.Auth, s.now)
	pw, err := newPasswords(s.cfg.Passwords)
	if err != nil {
		panic(fmt.Sprintf("api: password hasher: %v", err)) // only a broken random source fails here
	}
	s.passwords = pw
	s.byAddress = newLimiter(s.cfg.Limits.PerAddress, s.cfg.Limits.MaxKeys, s.now)
	s.byAccount = newLimiter(s.cfg.Limits.PerAccount, s.cfg.Limits.MaxKeys, s.now)

	auth := v1.Group("/auth", noStore)
	auth.POST("/register", s.register)
	auth.POST("/login", s.login)
	auth.POST("/refresh", s.refresh)
	auth.POST("/logout", s.authenticate, s.logout)
	auth.POST("/password", s.authenticate, s.changePassword)

	me := v1.Group("/me", noStore, s.authenticate)
	s.get(me, "", nil, s.profile)
	me.PATCH("", s.updateProfile)
	me.DELETE("", s.deleteAccount)
	s.get(me, "/history", pageParams, s.history)
	s.get(me, "/home", homeParams, s.home)
	s.get(me, "/recommendations", listParams, s.myRecommendations)
	s.get(me, "/ratings", pageParams, s.myRatings)
	s.get(me, "/ratings/:content_id", nil, s.myRating)
	me.PUT("/ratings/:content_id", s.putRating)
	me.DELETE("/ratings/:content_id", s.deleteRating)
	me.POST("/watch-events", s.postWatchEvent)

	s.get(v1, "/titles", titlesParams, s.listTitles)
	s.get(v1, "/titles/:id", nil, s.title)
	admin := v1.Group("/titles", s.authenticate, requireAdmin)
	admin.POST("", s.createTitle)
	admin.PUT("/:id", s.putTitle)
	admin.DELETE("/:id", s.deleteTitle)
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

package api

import (
	"errors"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Prometheus collectors of the HTTP layer. Routes are
// labelled by their pattern, such as /v1/titles/:id, never by the path, so
// the number of series stays bounded whatever clients send.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	logins   *prometheus.CounterVec
	reuses   prometheus.Counter
}

// newMetrics registers the collectors in reg. A collector that reg already
// holds, from an earlier server on the same registry, is reused.
func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		requests: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "marquee_http_requests_total",
			Help: "HTTP requests served, by method, route pattern and status code.",
		}, []string{"method", "route", "status"})),
		duration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "marquee_http_request_duration_seconds",
			Help:    "Time from the start of a request to the end of its response, by method and route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"})),
		logins: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "marquee_login_attempts_total",
			Help: "Sign-in attempts by result: success, failure or limited.",
		}, []string{"result"})),
		reuses: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "marquee_refresh_token_reuse_total",
			Help: "Refresh tokens presented after they were replaced; each revoked its session.",
		})),
	}
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var already prometheus.AlreadyRegisteredError
		if errors.As(err, &already) {
			if existing, ok := already.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // two different collectors under one name: a programming error
	}
	return c
}

// observe counts the request and records its duration once the handlers
// are done.
func (m *metrics) observe(c *gin.Context) {
	start := time.Now()
	c.Next()

	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	method := c.Request.Method
	switch method {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
	default:
		method = "OTHER"
	}
	m.requests.WithLabelValues(method, route, strconv.Itoa(c.Writer.Status())).Inc()
	m.duration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
}

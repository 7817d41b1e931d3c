package api

import (
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"
)

// Query parameters of the routes that take some. A name ending in "*" may
// be given more than once. Every other name may be given once, because Gin
// reads the first of repeated values and would drop the others silently.
var (
	listParams   = []string{"limit", "offset", "cursor", "genre", "exclude*"}
	titlesParams = []string{"genre", "year", "q", "limit", "cursor"}
	pageParams   = []string{"limit", "offset"}
	homeParams   = []string{"limit"}
)

// routeKey names a route in Server.params: its method and its path pattern
// as gin.Context.FullPath gives it. HEAD shares the entry of GET.
func routeKey(method, path string) string {
	if method == "HEAD" {
		method = "GET"
	}
	return method + " " + path
}

// joinRoute returns the full path pattern of path in a group at base.
func joinRoute(base, path string) string {
	if base == "/" {
		return path
	}
	return base + path
}

// get routes GET and HEAD of path in group g to handlers and records the
// query parameters the route takes. A response to HEAD has the status and
// headers of GET and no body. Routes of other methods are registered on the
// group directly, and a route that get did not record takes no parameter.
func (s *Server) get(g *gin.RouterGroup, path string, params []string, handlers ...gin.HandlerFunc) {
	s.params[routeKey("GET", joinRoute(g.BasePath(), path))] = params
	g.GET(path, handlers...)
	g.HEAD(path, handlers...)
}

// headWithoutBody drops the body of every response to HEAD. net/http's
// server drops it too, but other hosts of the handler, such as
// httptest.ResponseRecorder, do not.
func headWithoutBody(c *gin.Context) {
	if c.Request.Method == "HEAD" {
		c.Writer = bodyless{c.Writer}
	}
	c.Next()
}

// bodyless is a gin.ResponseWriter that writes the status and headers and
// drops the body.
type bodyless struct{ gin.ResponseWriter }

func (w bodyless) Write(p []byte) (int, error) {
	w.WriteHeaderNow()
	return len(p), nil
}

func (w bodyless) WriteString(s string) (int, error) {
	w.WriteHeaderNow()
	return len(s), nil
}

// checkQuery rejects, with a 400 naming the problem, a query string that
// does not parse, a parameter the route does not take and a parameter
// given twice where the route reads one value. net/url drops the pairs it
// cannot parse and Gin reads the first of repeated values, so without this
// check "limit=%zz" or "limit=5&limit=500" would be served with defaults.
// Requests that match no route are left to the 404 and 405 handlers.
func (s *Server) checkQuery(c *gin.Context) {
	route := c.FullPath()
	if route == "" {
		c.Next()
		return
	}
	if err := checkParams(c.Request.URL.RawQuery, s.params[routeKey(c.Request.Method, route)]); err != nil {
		writeError(c, err)
		return
	}
	c.Next()
}

// checkParams checks a raw query string against the parameters a route
// takes, as listParams and the other lists name them.
func checkParams(raw string, params []string) error {
	values, err := url.ParseQuery(raw)
	if err != nil {
		return invalid("query", truncate(strings.ToValidUTF8(err.Error(), "?"), 120)+
			"; send name=value pairs joined by &, with %, & and ; in values percent-encoded")
	}
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		printable := truncate(strings.ToValidUTF8(name, "?"), 40)
		switch {
		case slices.Contains(params, name+"*"):
		case !slices.Contains(params, name):
			return invalid(printable, "is not a parameter of this route; "+takes(params))
		case len(values[name]) > 1:
			return invalid(printable, "is given more than once; send it once")
		}
	}
	return nil
}

// takes describes the query parameters of a route, for a problem detail.
func takes(params []string) string {
	if len(params) == 0 {
		return "it takes none"
	}
	names := make([]string, len(params))
	for i, p := range params {
		names[i] = strings.TrimSuffix(p, "*")
	}
	return "use " + strings.Join(names, ", ")
}

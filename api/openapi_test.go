package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

func TestOpenAPIDocumentIsValid(t *testing.T) {
	v := documentValidator(t)
	if ok, errs := v.ValidateDocument(); !ok {
		for _, err := range errs {
			t.Errorf("openapi.json breaks the OpenAPI 3.1 schema: %s: %s", err.Message, err.Reason)
		}
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi version %q (%v), want 3.1.x", doc.OpenAPI, err)
	}
}

// TestEveryRouteIsDocumented compares the router's routes with the paths and
// operations of the document, both ways.
func TestEveryRouteIsDocumented(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	engine, ok := e.handler.(*gin.Engine)
	if !ok {
		t.Fatalf("New returned %T, want *gin.Engine", e.handler)
	}
	param := regexp.MustCompile(`:([A-Za-z_]+)`)
	// Every GET route has a HEAD route, as the document's description
	// states, so HEAD routes are not listed as operations of their own.
	var routed, gets, heads []string
	for _, r := range engine.Routes() {
		path := param.ReplaceAllString(r.Path, "{$1}")
		switch r.Method {
		case "HEAD":
			heads = append(heads, path)
			continue
		case "GET":
			gets = append(gets, path)
		}
		routed = append(routed, r.Method+" "+path)
	}
	slices.Sort(gets)
	slices.Sort(heads)
	if !slices.Equal(gets, heads) {
		t.Errorf("HEAD routes %v differ from GET routes %v", heads, gets)
	}

	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, item := range doc.Paths {
		for method := range item {
			if method != "parameters" {
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(routed)
	slices.Sort(documented)
	for _, r := range routed {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routed, d) {
			t.Errorf("openapi.json documents %s, which no route serves", d)
		}
	}
	if len(routed) < 25 {
		t.Errorf("only %d routes: the accounts routes are missing", len(routed))
	}
}

func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	resp := e.call("GET", "/openapi.json", "", nil, http.StatusOK)
	if string(resp.body) != string(openAPIDocument) || !strings.HasPrefix(resp.header.Get("Content-Type"), "application/json") {
		t.Errorf("/openapi.json does not serve the embedded document as JSON")
	}
	page := string(e.call("GET", "/docs", "", nil, http.StatusOK).body)
	for _, want := range []string{"PUT</span> <span class=\"path\">/v1/me/ratings/{content_id}", "schema-TitleDetail", "bearer token"} {
		if !strings.Contains(page, want) {
			t.Errorf("docs page lacks %q", want)
		}
	}
}

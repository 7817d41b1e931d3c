package api

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"
)

// openAPIDocument is the OpenAPI 3.1 description of every route, served at
// /openapi.json. A test checks it against the router, and the endpoint
// tests check every response against its schemas.
//
//go:embed openapi.json
var openAPIDocument []byte

func serveOpenAPI(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json", openAPIDocument)
}

// docsPage is the documentation page rendered once from openAPIDocument. It
// loads nothing from other hosts, so it works offline and under a strict
// content security policy.
var docsPage = mustRenderDocs(openAPIDocument)

func serveDocs(c *gin.Context) {
	c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "text/html; charset=utf-8", docsPage)
}

// The parts of an OpenAPI document that the page shows.
type (
	oaDocument struct {
		Info struct {
			Title       string `json:"title"`
			Version     string `json:"version"`
			Description string `json:"description"`
		} `json:"info"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]oaSchema `json:"schemas"`
		} `json:"components"`
	}
	oaOperation struct {
		Summary     string        `json:"summary"`
		Description string        `json:"description"`
		Security    []any         `json:"security"`
		Parameters  []oaParameter `json:"parameters"`
		RequestBody *struct {
			Content map[string]struct {
				Schema oaSchema `json:"schema"`
			} `json:"content"`
		} `json:"requestBody"`
		Responses map[string]struct {
			Description string `json:"description"`
		} `json:"responses"`
	}
	oaParameter struct {
		Name        string   `json:"name"`
		In          string   `json:"in"`
		Required    bool     `json:"required"`
		Description string   `json:"description"`
		Schema      oaSchema `json:"schema"`
	}
	oaSchema struct {
		Ref         string              `json:"$ref"`
		Type        any                 `json:"type"`
		Description string              `json:"description"`
		Properties  map[string]oaSchema `json:"properties"`
		Required    []string            `json:"required"`
		Items       *oaSchema           `json:"items"`
		Enum        []any               `json:"enum"`
	}
)

// TypeName describes a schema in a few words, such as "array of Title".
func (s oaSchema) TypeName() string {
	switch {
	case s.Ref != "":
		return s.Ref[strings.LastIndex(s.Ref, "/")+1:]
	case s.Items != nil:
		return "array of " + s.Items.TypeName()
	case len(s.Enum) > 0:
		parts := make([]string, len(s.Enum))
		for i, v := range s.Enum {
			parts[i] = fmt.Sprint(v)
		}
		return "one of " + strings.Join(parts, ", ")
	}
	switch t := s.Type.(type) {
	case string:
		return t
	case []any:
		parts := make([]string, len(t))
		for i, v := range t {
			parts[i] = fmt.Sprint(v)
		}
		return strings.Join(parts, " or ")
	}
	return "any"
}

type (
	docsOperation struct {
		Method, Path, Summary, Description string
		Auth                               bool
		Parameters                         []oaParameter
		Body                               string
		Responses                          [][2]string
	}
	docsField  struct{ Name, Type, Description string }
	docsSchema struct {
		Name, Description string
		Fields            []docsField
	}
	docsData struct {
		Title, Version, Description string
		Operations                  []docsOperation
		Schemas                     []docsSchema
	}
)

var methodOrder = []string{"get", "post", "put", "patch", "delete"}

// mustRenderDocs renders the page; the document is embedded, so an error is
// a bug that the tests catch.
func mustRenderDocs(doc []byte) []byte {
	var d oaDocument
	if err := json.Unmarshal(doc, &d); err != nil {
		panic(fmt.Sprintf("api: openapi.json: %v", err))
	}
	page := docsData{Title: d.Info.Title, Version: d.Info.Version, Description: d.Info.Description}

	paths := make([]string, 0, len(d.Paths))
	for p := range d.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, path := range paths {
		for _, method := range methodOrder {
			raw, ok := d.Paths[path][method]
			if !ok {
				continue
			}
			var op oaOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				panic(fmt.Sprintf("api: openapi.json: %s %s: %v", method, path, err))
			}
			out := docsOperation{Method: strings.ToUpper(method), Path: path, Summary: op.Summary,
				Description: op.Description, Auth: op.Security == nil || len(op.Security) > 0, Parameters: op.Parameters}
			if op.RequestBody != nil {
				for _, media := range op.RequestBody.Content {
					out.Body = media.Schema.TypeName()
				}
			}
			codes := make([]string, 0, len(op.Responses))
			for code := range op.Responses {
				codes = append(codes, code)
			}
			sort.Strings(codes)
			for _, code := range codes {
				out.Responses = append(out.Responses, [2]string{code, op.Responses[code].Description})
			}
			page.Operations = append(page.Operations, out)
		}
	}

	names := make([]string, 0, len(d.Components.Schemas))
	for name := range d.Components.Schemas {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		schema := d.Components.Schemas[name]
		out := docsSchema{Name: name, Description: schema.Description}
		fields := make([]string, 0, len(schema.Properties))
		for f := range schema.Properties {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			prop := schema.Properties[f]
			typ := prop.TypeName()
			if slices.Contains(schema.Required, f) {
				typ += ", required"
			}
			out.Fields = append(out.Fields, docsField{Name: f, Type: typ, Description: prop.Description})
		}
		page.Schemas = append(page.Schemas, out)
	}

	var buf bytes.Buffer
	if err := docsTemplate.Execute(&buf, page); err != nil {
		panic(fmt.Sprintf("api: docs page: %v", err))
	}
	return buf.Bytes()
}

// docsTemplate is the page, with public routes marked as such. A route
// needs a bearer token unless its operation sets "security": [].
var docsTemplate = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} {{.Version}}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{margin-top:2.5rem;border-bottom:1px solid #ccc}
.op{border:1px solid #ddd;border-radius:6px;padding:.6rem 1rem;margin:1rem 0}
.m{font:bold 13px monospace;padding:2px 6px;border-radius:4px;color:#fff;background:#555}
.GET{background:#2a7}.POST{background:#27c}.PUT{background:#c82}.PATCH{background:#a5c}.DELETE{background:#c33}
code,.path{font-family:monospace}.path{font-weight:bold}.auth{color:#a60;font-size:13px}
table{border-collapse:collapse;margin:.4rem 0}td,th{border:1px solid #ddd;padding:2px 8px;text-align:left;vertical-align:top}
</style></head><body>
<h1>{{.Title}} <small>{{.Version}}</small></h1>
<p>{{.Description}}</p>
<p>The machine-readable document is <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
<h2>Routes</h2>
{{range .Operations}}<div class="op" id="{{.Method}} {{.Path}}">
<div><span class="m {{.Method}}">{{.Method}}</span> <span class="path">{{.Path}}</span> {{if .Auth}}<span class="auth">bearer token</span>{{end}}</div>
<p><b>{{.Summary}}</b>{{if .Description}}<br>{{.Description}}{{end}}</p>
{{if .Parameters}}<table><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr>
{{range .Parameters}}<tr><td><code>{{.Name}}</code>{{if .Required}} (required){{end}}</td><td>{{.In}}</td><td>{{.Schema.TypeName}}</td><td>{{.Description}}</td></tr>
{{end}}</table>{{end}}
{{if .Body}}<p>Body: <a href="#schema-{{.Body}}">{{.Body}}</a></p>{{end}}
<table><tr><th>status</th><th>response</th></tr>{{range .Responses}}<tr><td>{{index . 0}}</td><td>{{index . 1}}</td></tr>{{end}}</table>
</div>
{{end}}
<h2>Schemas</h2>
{{range .Schemas}}<div class="op" id="schema-{{.Name}}"><span class="path">{{.Name}}</span>
{{if .Description}}<p>{{.Description}}</p>{{end}}
{{if .Fields}}<table><tr><th>field</th><th>type</th><th>description</th></tr>
{{range .Fields}}<tr><td><code>{{.Name}}</code></td><td>{{.Type}}</td><td>{{.Description}}</td></tr>
{{end}}</table>{{end}}</div>
{{end}}
</body></html>
`))

// Command plainjson is the baseline of the serving benchmark: a plain
// net/http server that returns, for every GET, a JSON body of the same size
// as a recommendation page. It reads a sample page from a file and decodes
// it once. With -encode (the default) it encodes the page again for every
// request, as a handler that builds its response does. Without -encode it
// writes the sample's bytes as they are.
//
//	plainjson -addr 127.0.0.1:8090 -body sample.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"
)

// page is the shape of a recommendation page.
type page struct {
	RunID  string `json:"run_id"`
	Source string `json:"source"`
	Items  []struct {
		ContentID string   `json:"content_id"`
		Score     float32  `json:"score"`
		Name      string   `json:"name,omitempty"`
		Year      int      `json:"year,omitempty"`
		Genres    []string `json:"genres,omitempty"`
	} `json:"items"`
	Limit      int     `json:"limit"`
	Offset     int     `json:"offset"`
	NextOffset *int    `json:"next_offset"`
	NextCursor *string `json:"next_cursor"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "address to listen on")
	bodyFile := flag.String("body", "", "file with a sample JSON page")
	encode := flag.Bool("encode", true, "encode the page for every request; false writes the sample's bytes")
	flag.Parse()
	if err := run(*addr, *bodyFile, *encode); err != nil {
		fmt.Fprintln(os.Stderr, "plainjson:", err)
		os.Exit(1)
	}
}

func run(addr, bodyFile string, encode bool) error {
	raw, err := os.ReadFile(bodyFile)
	if err != nil {
		return err
	}
	var p page
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("decode %s: %w", bodyFile, err)
	}
	handler := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if !encode {
			w.Write(raw)
			return
		}
		if err := json.NewEncoder(w).Encode(p); err != nil {
			log.Printf("encode: %v", err)
		}
	}
	srv := &http.Server{Addr: addr, Handler: http.HandlerFunc(handler), ReadHeaderTimeout: 5 * time.Second}
	return srv.ListenAndServe()
}

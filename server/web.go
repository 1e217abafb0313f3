package server

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

// console holds the web console: plain HTML, CSS and JavaScript, no build
// step, no external URL, so it works offline and under the strict CSP.
//
//go:embed web
var console embed.FS

// consoleFS is the console's files, rooted at web/.
var consoleFS = func() fs.FS {
	sub, err := fs.Sub(console, "web")
	if err != nil {
		panic(err) // the embedded folder is part of the binary
	}
	return sub
}()

// ConsoleFiles returns the console's embedded files (for tests and tools
// that check them).
func ConsoleFiles() fs.FS { return consoleFS }

// handleConsole serves the console's files; / is index.html. The console
// routes with the URL fragment (#/alerts), so every page is this one file.
func (s *Server) handleConsole(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" {
		name = "index.html"
	}
	b, err := fs.ReadFile(consoleFS, name)
	if err != nil {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	// The files change with the binary: revalidate rather than cache.
	w.Header().Set("Cache-Control", "no-cache")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(b)
}

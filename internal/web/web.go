package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"
)

//go:embed assets
var assetFS embed.FS

// Options configures the UI handler. The zero value is valid.
type Options struct {
	// Logger receives handler diagnostics; nil discards them.
	Logger *slog.Logger
}

// csp is the Content-Security-Policy of every answer: only same-origin
// scripts (no inline script, no eval), styles, images and connections.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// asset is one embedded file, ready to serve.
type asset struct {
	body  []byte
	gz    []byte // gzip of body; nil when it does not pay off
	ctype string
	etag  string
}

// handler serves the UI. It is immutable after New.
type handler struct {
	log    *slog.Logger
	hash   string            // build hash: first 12 hex digits over all assets
	prefix string            // "/assets/<hash>/"
	assets map[string]*asset // by path below assets/, e.g. "js/app.js"
	index  *asset
}

// New returns the handler that serves the UI. Mount it at "/" behind the API
// routes: it answers /assets/<hash>/... with embedded files, and every other
// GET or HEAD path (except /api/...) with index.html so the UI's own routes
// work on reload.
func New(opts Options) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h, err := build(assetFS)
	if err != nil {
		panic("BUG: web: embedded assets: " + err.Error())
	}
	h.log = log
	return h
}

// build loads every file under assets/, computes the build hash and renders
// index.html with it.
func build(fsys fs.FS) (*handler, error) {
	h := &handler{assets: map[string]*asset{}}
	sum := sha256.New()
	var names []string
	raw := map[string][]byte{}
	err := fs.WalkDir(fsys, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "assets/")
		names = append(names, name)
		raw[name] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk assets: %w", err)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(sum, "%s\x00%d\x00", n, len(raw[n]))
		sum.Write(raw[n])
	}
	h.hash = hex.EncodeToString(sum.Sum(nil))[:12]
	h.prefix = "/assets/" + h.hash + "/"
	idx, ok := raw["index.html"]
	if !ok {
		return nil, fmt.Errorf("assets/index.html is missing")
	}
	for _, n := range names {
		if n == "index.html" {
			continue
		}
		h.assets[n] = newAsset(n, raw[n])
	}
	page := bytes.ReplaceAll(idx, []byte("{{ASSETS}}"), []byte(strings.TrimSuffix(h.prefix, "/")))
	h.index = newAsset("index.html", page)
	return h, nil
}

func newAsset(name string, b []byte) *asset {
	ct := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".js", ".mjs":
		ct = "text/javascript; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	case "":
		ct = "text/plain; charset=utf-8"
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	sum := sha256.Sum256(b)
	a := &asset{body: b, ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	if compressible(ct) && len(b) > 512 {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
		zw.Write(b)
		zw.Close()
		if buf.Len() < len(b)*9/10 {
			a.gz = buf.Bytes()
		}
	}
	return a
}

func compressible(ct string) bool {
	return strings.HasPrefix(ct, "text/") || strings.Contains(ct, "javascript") ||
		strings.Contains(ct, "json") || strings.Contains(ct, "svg")
}

// ServeHTTP implements http.Handler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	switch {
	case p == "/api" || strings.HasPrefix(p, "/api/"):
		// The API mux answers its own routes; anything that reaches the
		// UI under /api/ is an unknown endpoint, not a page.
		hd.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		b, _ := json.Marshal(map[string]string{"error": "not found: " + p}) // a string map always marshals
		w.Write(append(b, '\n'))
	case strings.HasPrefix(p, "/assets/"):
		h.serveAsset(w, r, p)
	case p == "/favicon.ico":
		hd.Set("Cache-Control", "public, max-age=86400")
		h.write(w, r, h.assets["img/logo.svg"])
	default:
		hd.Set("Cache-Control", "no-cache")
		h.write(w, r, h.index)
	}
}

// serveAsset answers /assets/<hash>/<name>. An old hash (a page loaded
// before an upgrade) still gets the current file, but not cached long.
func (h *handler) serveAsset(w http.ResponseWriter, r *http.Request, p string) {
	rest := strings.TrimPrefix(p, "/assets/")
	hash, name, ok := strings.Cut(rest, "/")
	a := h.assets[name]
	if !ok || a == nil || strings.Contains(name, "..") {
		w.Header().Set("Cache-Control", "no-cache")
		http.Error(w, "asset not found", http.StatusNotFound)
		return
	}
	if hash == h.hash {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	h.write(w, r, a)
}

// write answers with a, honouring If-None-Match and gzip.
func (h *handler) write(w http.ResponseWriter, r *http.Request, a *asset) {
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("ETag", a.etag)
	hd.Add("Vary", "Accept-Encoding")
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if a.gz != nil && acceptsGzip(r) {
		hd.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	hd.Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	if _, err := w.Write(body); err != nil {
		h.log.Debug("write asset", "err", err)
	}
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			continue
		}
		q = strings.ReplaceAll(q, " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string, hdr map[string]string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assetPaths returns the /assets/... URLs index.html references.
func assetPaths(t *testing.T, h http.Handler) []string {
	t.Helper()
	page := body(t, get(t, h, "GET", "/", nil))
	m := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(m) < 3 {
		t.Fatalf("index.html references %d assets, want at least 3:\n%s", len(m), page)
	}
	var out []string
	for _, x := range m {
		out = append(out, x[1])
	}
	return out
}

func TestRoutes(t *testing.T) {
	h := New(Options{})
	f := func(method, path string, wantStatus int, wantType, wantCache string) {
		t.Helper()
		res := get(t, h, method, path, nil)
		if res.StatusCode != wantStatus {
			t.Errorf("%s %s: status %d, want %d", method, path, res.StatusCode, wantStatus)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, wantType) {
			t.Errorf("%s %s: Content-Type %q, want %q", method, path, ct, wantType)
		}
		if cc := res.Header.Get("Cache-Control"); cc != wantCache {
			t.Errorf("%s %s: Cache-Control %q, want %q", method, path, cc, wantCache)
		}
		if got := res.Header.Get("Content-Security-Policy"); got != csp {
			t.Errorf("%s %s: Content-Security-Policy %q, want %q", method, path, got, csp)
		}
	}
	// SPA fallback: every page path is index.html, never cached.
	for _, p := range []string{"/", "/search", "/search?q=error", "/sources", "/incidents", "/no/such/page", "/signin"} {
		f("GET", p, 200, "text/html", "no-cache")
	}
	f("HEAD", "/search", 200, "text/html", "no-cache")
	f("POST", "/search", 405, "text/plain", "")
	f("GET", "/api/v1/nope", 404, "application/json", "")
	f("GET", "/assets/0123456789ab/js/app.js", 200, "text/javascript", "no-cache") // an old build hash
	f("GET", "/assets/deadbeef/js/missing.js", 404, "text/plain", "no-cache")
	f("GET", "/assets/x/../index.html", 404, "text/plain", "no-cache")
	for _, p := range assetPaths(t, h) {
		f("GET", p, 200, "", "public, max-age=31536000, immutable")
	}
}

func TestContentTypes(t *testing.T) {
	h := New(Options{}).(*handler)
	f := func(name, want string) {
		t.Helper()
		res := get(t, h, "GET", h.prefix+name, nil)
		if got := res.Header.Get("Content-Type"); got != want {
			t.Errorf("GET %s: Content-Type %q, want %q", name, got, want)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", name)
		}
	}
	f("js/app.js", "text/javascript; charset=utf-8")
	f("css/app.css", "text/css; charset=utf-8")
	f("img/logo.svg", "image/svg+xml")
}

func TestSecurityHeaders(t *testing.T) {
	h := New(Options{})
	res := get(t, h, "GET", "/search", nil)
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*"} {
		if strings.Contains(csp, bad) {
			t.Errorf("CSP %q allows %q", csp, bad)
		}
	}
	if got := res.Header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options = %q, want DENY", got)
	}
	if got := res.Header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy = %q, want no-referrer", got)
	}
}

// TestNoInlineScript checks that the page has no inline script or style
// (the CSP would block them) and no handler attributes.
func TestNoInlineScript(t *testing.T) {
	h := New(Options{}).(*handler)
	page := string(h.index.body)
	if m := regexp.MustCompile(`<script[^>]*>[^<]+</script>`).FindString(page); m != "" {
		t.Errorf("inline script in index.html: %s", m)
	}
	if strings.Contains(page, "<style") || strings.Contains(page, " style=") {
		t.Error("inline style in index.html")
	}
	if m := regexp.MustCompile(`\son[a-z]+=`).FindString(page); m != "" {
		t.Errorf("event handler attribute in index.html: %s", m)
	}
	if strings.Contains(page, "{{ASSETS}}") {
		t.Error("index.html still holds the {{ASSETS}} placeholder")
	}
	for name, a := range h.assets {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		js := string(a.body)
		for _, bad := range []string{"eval(", "new Function(", "innerHTML", "document.write", ".setAttribute('style'"} {
			if strings.Contains(js, bad) {
				t.Errorf("%s uses %s", name, bad)
			}
		}
	}
}

func TestConditionalAndGzip(t *testing.T) {
	h := New(Options{}).(*handler)
	p := h.prefix + "js/search.js"
	res := get(t, h, "GET", p, nil)
	etag := res.Header.Get("ETag")
	plain := body(t, res)
	if etag == "" || plain == "" {
		t.Fatalf("GET %s: etag %q, %d bytes", p, etag, len(plain))
	}
	if res := get(t, h, "GET", p, map[string]string{"If-None-Match": etag}); res.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", res.StatusCode)
	}
	res = get(t, h, "GET", p, map[string]string{"Accept-Encoding": "br, gzip"})
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Accept-Encoding gzip: Content-Encoding %q", res.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader([]byte(body(t, res))))
	if err != nil {
		t.Fatal(err)
	}
	unz, err := io.ReadAll(zr)
	if err != nil || string(unz) != plain {
		t.Errorf("gzip body differs from plain body (err %v)", err)
	}
	if res := get(t, h, "GET", p, map[string]string{"Accept-Encoding": "gzip;q=0"}); res.Header.Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 still got gzip")
	}
	if res := get(t, h, "GET", p, map[string]string{"Accept-Encoding": "gzip;q=0.5"}); res.Header.Get("Content-Encoding") != "gzip" {
		t.Error("gzip;q=0.5 did not get gzip")
	}
}

// TestHashChanges checks that the build hash follows the content.
func TestHashChanges(t *testing.T) {
	a := New(Options{}).(*handler)
	b := New(Options{}).(*handler)
	if a.hash != b.hash || len(a.hash) != 12 {
		t.Fatalf("hash not stable: %q vs %q", a.hash, b.hash)
	}
}

func TestAllModulesReferenced(t *testing.T) {
	// Every JS import points at a file that exists, so a typo fails here
	// rather than in the browser.
	h := New(Options{}).(*handler)
	re := regexp.MustCompile(`(?m)^import .* from '\./([a-z]+\.js)';`)
	for name, a := range h.assets {
		if !strings.HasPrefix(name, "js/") {
			continue
		}
		for _, m := range re.FindAllStringSubmatch(string(a.body), -1) {
			if h.assets["js/"+m[1]] == nil {
				t.Errorf("%s imports ./%s, which does not exist", name, m[1])
			}
		}
	}
}

package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzHandler feeds the handler arbitrary paths and request headers (the
// only untrusted input it reads): it must never panic, always set the CSP,
// and serve only embedded files.
func FuzzHandler(f *testing.F) {
	h := New(Options{}).(*handler)
	for _, seed := range []struct{ method, path, ae, inm string }{
		{"GET", "/", "gzip", ""},
		{"GET", h.prefix + "js/app.js", "gzip;q=0, br", `"x"`},
		{"HEAD", "/assets/../../etc/passwd", "", ""},
		{"GET", "/assets/" + h.hash + "/../index.html", "identity", ""},
		{"GET", "/api/v1/search", "*", ""},
		{"POST", "/search", "", ""},
		{"GET", "/assets//js/app.js", ",,;;q=", "*"},
	} {
		f.Add(seed.method, seed.path, seed.ae, seed.inm)
	}
	f.Fuzz(func(t *testing.T, method, path, ae, inm string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Method = method
		r.URL.Path = path
		r.Header.Set("Accept-Encoding", ae)
		r.Header.Set("If-None-Match", inm)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		res := w.Result()
		if res.Header.Get("Content-Security-Policy") != csp {
			t.Fatalf("%s %q: no CSP", method, path)
		}
		switch res.StatusCode {
		case http.StatusOK, http.StatusNotModified, http.StatusNotFound, http.StatusMethodNotAllowed:
		default:
			t.Fatalf("%s %q: status %d", method, path, res.StatusCode)
		}
		if res.StatusCode == http.StatusOK && strings.HasPrefix(path, "/assets/") {
			_, name, _ := strings.Cut(strings.TrimPrefix(path, "/assets/"), "/")
			if h.assets[name] == nil {
				t.Fatalf("%s %q: served a file that is not embedded", method, path)
			}
		}
	})
}

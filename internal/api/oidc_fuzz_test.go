package api

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzOIDCReturnPath checks the two helpers that handle callback and login
// query text: the return path never leaves this server, and text for the
// audit log is short and printable.
func FuzzOIDCReturnPath(f *testing.F) {
	for _, s := range []string{"/", "/incidents?id=3", "//evil.example.com", "/\\evil", "https://evil", "/%2F%2Fevil", "\x00", "/a\r\nSet-Cookie: x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := localPath(s)
		u, err := url.Parse(p)
		if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n") || (err == nil && (u.Host != "" || u.Scheme != "")) {
			t.Fatalf("localPath(%q) = %q leaves this server", s, p)
		}
		if q := printable(s); len(q) > 203 || strings.ContainsAny(q, "\x00\r\n") || (utf8.ValidString(s) && !utf8.ValidString(q)) {
			t.Fatalf("printable(%q) = %q", s, q)
		}
	})
}

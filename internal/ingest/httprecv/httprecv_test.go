package httprecv

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mamori/mamori/internal/ingest"
)

func TestCredential(t *testing.T) {
	f := func(header, want string) {
		t.Helper()
		r := httptest.NewRequest("POST", "/", nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		if got := Credential(r); got != want {
			t.Errorf("Credential(%q) = %q, want %q", header, got, want)
		}
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	f("", "")
	f("Bearer tok", "tok")
	f("Splunk 1234-abcd", "1234-abcd")
	f("ApiKey "+b64("id:tok"), "tok")
	f("ApiKey raw-not-base64!", "raw-not-base64!")
	f("Basic "+b64("elastic:tok"), "tok")
	f("Basic "+b64("tok:"), "tok")
	f("Basic !!!", "")
	f("Digest x", "")
}

func TestStatus(t *testing.T) {
	f := func(err error, want int) {
		t.Helper()
		if got := Status(err); got != want {
			t.Errorf("Status(%v) = %d, want %d", err, got, want)
		}
	}
	f(nil, 200)
	f(fmt.Errorf("x: %w", ingest.ErrUnauthorized), 401)
	f(fmt.Errorf("x: %w", ingest.ErrOverloaded), 429)
	f(fmt.Errorf("x: %w", ingest.ErrTooLarge), 413)
	f(fmt.Errorf("x: %w", ErrInvalid), 400)
	f(errors.New("disk on fire"), 500)
	w := httptest.NewRecorder()
	SetRetryAfter(w, http.StatusTooManyRequests)
	if w.Header().Get("Retry-After") == "" {
		t.Errorf("no Retry-After on 429")
	}
}

func TestLines(t *testing.T) {
	f := func(in string, maxLine int, want ...string) {
		t.Helper()
		var got []string
		err := Lines(strings.NewReader(in), maxLine, func(n int, line []byte, tooLong error) error {
			s := fmt.Sprintf("%d:%s", n, line)
			if tooLong != nil {
				s += "!"
			}
			got = append(got, s)
			return nil
		})
		if err != nil {
			t.Fatalf("Lines(%q): %v", in, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Lines(%q) (-want +got):\n%s", in, diff)
		}
	}
	f("a\nb\r\n\nc", 10, "1:a", "2:b", "3:", "4:c")
	f("", 10)
	f("abcdefghijkl\nok\n", 5, "1:abcde!", "2:ok")
	long := strings.Repeat("x", 10000)
	f(long+"\nok", 5000, "1:"+long[:5000]+"!", "2:ok")
	f(long+"\nok", 20000, "1:"+long, "2:ok")
}

package ingest

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func readBody(t *testing.T, encoding string, body []byte, lim BodyLimits) ([]byte, error) {
	t.Helper()
	r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
	if encoding != "" {
		r.Header.Set("Content-Encoding", encoding)
	}
	rc, err := OpenBody(httptest.NewRecorder(), r, lim)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestOpenBody(t *testing.T) {
	plain := []byte(strings.Repeat("hello world\n", 1000))
	got, err := readBody(t, "gzip", gz(plain), BodyLimits{})
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("gzip: %v", err)
	}
	enc, _ := zstd.NewWriter(nil)
	got, err = readBody(t, "zstd", enc.EncodeAll(plain, nil), BodyLimits{})
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("zstd: %v", err)
	}
	got, err = readBody(t, "", plain, BodyLimits{})
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("identity: %v", err)
	}
}

func TestOpenBodyErrors(t *testing.T) {
	plain := []byte(strings.Repeat("hello world\n", 1000))
	z := gz(plain)
	// Truncated gzip: the prefix decodes, then a clear error.
	got, err := readBody(t, "gzip", z[:len(z)/2], BodyLimits{})
	if !errors.Is(err, ErrBadEncoding) {
		t.Fatalf("truncated gzip: err = %v", err)
	}
	if len(got) == 0 || !bytes.HasPrefix(plain, got) {
		t.Fatalf("truncated gzip: prefix not delivered (%d bytes)", len(got))
	}
	if _, err := readBody(t, "gzip", []byte("not gzip at all"), BodyLimits{}); !errors.Is(err, ErrBadEncoding) {
		t.Fatalf("garbage gzip: err = %v", err)
	}
	if _, err := readBody(t, "br", plain, BodyLimits{}); !errors.Is(err, ErrBadEncoding) {
		t.Fatalf("unknown encoding: err = %v", err)
	}
	// Over the wire limit.
	if _, err := readBody(t, "", plain, BodyLimits{MaxBytes: 100}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("too large: err = %v", err)
	}
	// Zip bomb: small on the wire, huge decoded.
	bomb := gz(make([]byte, 50<<20))
	if _, err := readBody(t, "gzip", bomb, BodyLimits{MaxBytes: 1 << 20}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("zip bomb: err = %v", err)
	}
	// Unknown length over the limit (chunked).
	r := httptest.NewRequest("POST", "/", io.MultiReader(bytes.NewReader(plain)))
	r.ContentLength = -1
	rc, err := OpenBody(httptest.NewRecorder(), r, BodyLimits{MaxBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(rc); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("chunked too large: err = %v", err)
	}
	_ = http.StatusOK
}

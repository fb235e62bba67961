package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

type ingestAnswer struct {
	Accepted    int    `json:"accepted"`
	Rejected    int    `json:"rejected"`
	ParseErrors int    `json:"parse_errors"`
	Error       string `json:"error"`
	Errors      []struct {
		Line  int    `json:"line"`
		Error string `json:"error"`
	} `json:"errors"`
}

func (n *node) ingest(t *testing.T, query, encoding string, body []byte, tok ...string) (int, ingestAnswer) {
	t.Helper()
	st, b, _ := n.do("POST", "/api/v1/ingest"+query, encoding, body, tok...)
	var a ingestAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("ingest answer %d is not JSON: %q", st, b)
	}
	return st, a
}

func (n *node) healthy(t *testing.T) {
	t.Helper()
	st, _, _ := n.do("GET", "/healthz", "", nil, "")
	if st != 200 {
		t.Fatalf("healthz = %d after bad input\n%s", st, n.logs)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mamori.yaml")
	if err := os.WriteFile(cfg, []byte("http_read_timeout: 2s\ningest:\n  max_body: 4MB\n  max_line: 1MB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, filepath.Join(dir, "data"), "--config", cfg)
	defer n.stop()

	t.Run("invalid JSON mixed with valid", func(t *testing.T) {
		body := "{\"_msg\":\"good one mixedjson\"}\n{\"_msg\": broken\n{\"_msg\":\"good two mixedjson\"}\n"
		st, a := n.ingest(t, "?source=bad", "", []byte(body))
		if st != 200 || a.Accepted != 3 || a.ParseErrors != 1 || len(a.Errors) != 1 || a.Errors[0].Line != 2 {
			t.Fatalf("HTTP %d %+v", st, a)
		}
		n.healthy(t)
	})
	t.Run("truncated gzip", func(t *testing.T) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		for i := 0; i < 5000; i++ {
			fmt.Fprintf(zw, "truncgz line %d with some padding text to compress\n", i)
		}
		zw.Close()
		z := buf.Bytes()
		st, a := n.ingest(t, "", "gzip", z[:len(z)*2/3])
		if st != 400 || a.Error == "" || !strings.Contains(a.Error, "gzip") && !strings.Contains(a.Error, "EOF") {
			t.Fatalf("HTTP %d %+v", st, a)
		}
		if a.Accepted == 0 {
			t.Fatalf("lines before the truncation were not kept: %+v", a)
		}
		n.healthy(t)
	})
	t.Run("binary garbage and invalid UTF-8", func(t *testing.T) {
		body := []byte("garbageok first\n\x00\x01\x02\xff\xfe\xfd\n\xc3\x28 invalid utf8\ngarbageok last\n")
		st, a := n.ingest(t, "", "", body)
		if st != 200 || a.Accepted != 4 {
			t.Fatalf("HTTP %d %+v", st, a)
		}
		n.healthy(t)
	})
	t.Run("10 MB line", func(t *testing.T) {
		body := "longline before\n" + strings.Repeat("A", 10<<20) + "\nlongline after\n"
		// 10 MB is over this server's 4 MB body limit: send it gzip'd.
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(body))
		zw.Close()
		st, a := n.ingest(t, "", "gzip", buf.Bytes())
		if st != 200 || a.Accepted != 2 || a.Rejected != 1 || len(a.Errors) != 1 || !strings.Contains(a.Errors[0].Error, "longer than") {
			t.Fatalf("HTTP %d %+v", st, a)
		}
		n.healthy(t)
	})
	t.Run("body over the limit", func(t *testing.T) {
		st, a := n.ingest(t, "", "", bytes.Repeat([]byte("0123456789abcdef\n"), 300_000))
		if st != 413 || !strings.Contains(a.Error, "too large") {
			t.Fatalf("HTTP %d %+v", st, a)
		}
		n.healthy(t)
	})
	t.Run("unknown encoding", func(t *testing.T) {
		st, a := n.ingest(t, "", "br", []byte("x\n"))
		if st != 400 || a.Error == "" {
			t.Fatalf("HTTP %d %+v", st, a)
		}
	})
	t.Run("tokens", func(t *testing.T) {
		if st, a := n.ingest(t, "", "", []byte("x\n"), ""); st != 401 || a.Error == "" {
			t.Fatalf("missing token: HTTP %d %+v", st, a)
		}
		if st, a := n.ingest(t, "", "", []byte("x\n"), "wrong"); st != 401 || a.Error == "" {
			t.Fatalf("wrong token: HTTP %d %+v", st, a)
		}
		st, b, _ := n.do("POST", "/api/v1/tokens", "", []byte(`{"name":"reader","role":"reader"}`))
		if st != 201 {
			t.Fatalf("create token: %d %s", st, b)
		}
		var tk struct {
			ID    string `json:"id"`
			Token string `json:"token"`
		}
		json.Unmarshal(b, &tk)
		if st, a := n.ingest(t, "", "", []byte("x\n"), tk.Token); st != 403 || a.Error == "" {
			t.Fatalf("reader token ingesting: HTTP %d %+v", st, a)
		}
		if st, _, _ := n.do("DELETE", "/api/v1/tokens/"+tk.ID, "", nil); st != 200 {
			t.Fatalf("revoke: %d", st)
		}
		if st, _, _ := n.do("POST", "/api/v1/search", "", []byte(`{"query":"x"}`), tk.Token); st != 401 {
			t.Fatalf("revoked token: HTTP %d", st)
		}
	})
	t.Run("slow client", func(t *testing.T) {
		c, err := net.Dial("tcp", n.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /api/v1/ingest HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 1000\r\n\r\nslowclient partial", adminToken)
		// Meanwhile others are served.
		if st, a := n.ingest(t, "", "", []byte("during slow client\n")); st != 200 || a.Accepted != 1 {
			t.Fatalf("ingest beside a slow client: HTTP %d %+v", st, a)
		}
		// The server gives up on the slow client after its read timeout.
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		buf := make([]byte, 4096)
		_, err = c.Read(buf)
		for err == nil {
			_, err = c.Read(buf)
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("server kept the slow client's connection open past its read timeout")
		}
		n.healthy(t)
	})
	// Everything accepted above is searchable; the server is still up.
	rows, _ := n.search("mixedjson OR garbageok OR longline")
	if len(rows) != 6 {
		t.Errorf("found %d of the 6 valid lines", len(rows))
	}
}

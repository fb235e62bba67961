package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binPath is the mamori binary built once for the end-to-end tests.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mamori-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "mamori")
	out, err := exec.Command("go", "build", "-o", binPath, "github.com/mamori/mamori/cmd/mamori").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build mamori: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const adminToken = "e2e-admin-token"

// node is a running mamori server process.
type node struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string
	data string
	logs *bytes.Buffer
	done chan error
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startNode runs `mamori server` on dataDir and waits for /healthz. The
// HTTP port is picked free and then bound by the child, so another process
// on the machine can take it in between; a start that fails on exactly that
// is retried on a fresh port.
func startNode(t *testing.T, dataDir string, extraArgs ...string) *node {
	t.Helper()
	for attempt := 1; ; attempt++ {
		n, err := tryStartNode(t, dataDir, extraArgs)
		if err == nil {
			return n
		}
		if attempt < 5 && strings.Contains(err.Error(), "listen http") && strings.Contains(err.Error(), "address already in use") {
			t.Logf("HTTP port taken by another process, retrying: %v", err)
			continue
		}
		t.Fatal(err)
	}
}

func tryStartNode(t *testing.T, dataDir string, extraArgs []string) (*node, error) {
	t.Helper()
	addr := freeAddr(t)
	args := append([]string{"server", "--data", dataDir, "--http", addr, "--syslog", "127.0.0.1:0"}, extraArgs...)
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), "MAMORI_ADMIN_TOKEN="+adminToken)
	logs := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	n := &node{t: t, cmd: cmd, addr: addr, data: dataDir, logs: logs, done: make(chan error, 1)}
	go func() { n.done <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return n, nil
			}
		}
		select {
		case err := <-n.done:
			return nil, fmt.Errorf("server exited during start: %v\n%s", err, logs)
		default:
		}
		if time.Now().After(deadline) {
			n.kill()
			return nil, fmt.Errorf("server not healthy after 60s\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (n *node) url(path string) string { return "http://" + n.addr + path }

// kill sends SIGKILL and waits for the process to exit.
func (n *node) kill() {
	_ = n.cmd.Process.Signal(syscall.SIGKILL) // it may have exited already
	<-n.done
}

// stop sends SIGTERM and waits for a clean exit.
func (n *node) stop() {
	n.t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		n.t.Fatalf("signal: %v", err)
	}
	select {
	case err := <-n.done:
		if err != nil {
			n.t.Fatalf("server exit after SIGTERM: %v\n%s", err, n.logs)
		}
	case <-time.After(60 * time.Second):
		n.kill()
		n.t.Fatalf("server did not stop within 60s of SIGTERM\n%s", n.logs)
	}
}

// do sends a request with the admin token (or tok when given).
func (n *node) do(method, path, contentEncoding string, body []byte, tok ...string) (int, []byte, http.Header) {
	n.t.Helper()
	req, err := http.NewRequest(method, n.url(path), bytes.NewReader(body))
	if err != nil {
		n.t.Fatal(err)
	}
	token := adminToken
	if len(tok) > 0 {
		token = tok[0]
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentEncoding != "" {
		req.Header.Set("Content-Encoding", contentEncoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// search runs a query over all time and returns its rows (without the
// trailer) and the trailer.
func (n *node) search(query string) ([]map[string]any, map[string]any) {
	n.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z", "limit": 10_000_000})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", n.url("/api/v1/search"), bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("search %q: %v", query, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		n.t.Fatalf("search %q: HTTP %d: %s", query, resp.StatusCode, b)
	}
	var rows []map[string]any
	var trailer map[string]any
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			n.t.Fatalf("search %q: bad row %q: %v", query, line, err)
		}
		if e, ok := m["_error"]; ok {
			n.t.Fatalf("search %q failed: %v", query, e)
		}
		if s, ok := m["_stats"]; ok && len(m) == 1 {
			trailer, _ = s.(map[string]any)
			continue
		}
		rows = append(rows, m)
	}
	return rows, trailer
}

func runCLI(t *testing.T, stdin io.Reader, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Stdin = stdin
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// client talks to a Mamori server's API.
type client struct {
	base  string
	token string
	http  *http.Client
}

// clientFlags adds --server and --token to fs; resolve them with newClient.
func clientFlags(fs *flag.FlagSet) (server, token *string) {
	server = fs.String("server", "", "server URL (default $MAMORI_SERVER or http://127.0.0.1:9280)")
	token = fs.String("token", "", "API token (default $MAMORI_TOKEN, else ./mamori-data/auth/admin-token if readable)")
	return server, token
}

func newClient(server, token string) (*client, error) {
	if server == "" {
		server = os.Getenv("MAMORI_SERVER")
	}
	if server == "" {
		server = "http://127.0.0.1:9280"
	}
	if !strings.Contains(server, "://") {
		server = "http://" + server
	}
	if token == "" {
		token = os.Getenv("MAMORI_TOKEN")
	}
	if token == "" {
		// Convenience on the server's own machine: the bootstrap token.
		if b, err := os.ReadFile(filepath.Join("mamori-data", "auth", "admin-token")); err == nil {
			token = strings.TrimSpace(string(b))
		}
	}
	if token == "" {
		return nil, errors.New("no token: pass --token or set MAMORI_TOKEN (the first admin token is in DATA/auth/admin-token)")
	}
	return &client{base: strings.TrimRight(server, "/"), token: token, http: &http.Client{}}, nil
}

// apiError is an error answer of the API.
type apiError struct {
	Status  int
	Message string
	Offset  *int
}

func (e *apiError) Error() string {
	if e.Offset != nil {
		return fmt.Sprintf("%s (at offset %d)", e.Message, *e.Offset)
	}
	return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status)
}

func readAPIError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20)) // best effort: the status alone still tells
	var body struct {
		Error  string `json:"error"`
		Offset *int   `json:"offset"`
	}
	if json.Unmarshal(b, &body) != nil || body.Error == "" {
		body.Error = strings.TrimSpace(string(b))
		if body.Error == "" {
			body.Error = resp.Status
		}
	}
	return &apiError{Status: resp.StatusCode, Message: body.Error, Offset: body.Offset}
}

// do sends a request, retrying on 429/503 as the server asks (Retry-After)
// until ctx ends. body is re-sent from the byte slice on every try.
func (c *client) do(ctx context.Context, method, path string, hdr http.Header, body []byte) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
		if err != nil {
			return nil, err
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, err
		}
		if (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) && attempt < 100 {
			wait := time.Second
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				wait = time.Duration(s) * time.Second
			}
			resp.Body.Close()
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(wait):
			}
			continue
		}
		return resp, nil
	}
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

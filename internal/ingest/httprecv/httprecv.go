package httprecv

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/mamori/mamori/internal/ingest"
)

// ErrInvalid is wrapped by errors about malformed requests (400).
var ErrInvalid = errors.New("invalid request")

// RetryAfterSeconds is what overloaded receivers ask senders to wait.
const RetryAfterSeconds = 1

// Credential returns the secret a request presents, in the forms shippers
// send: "Authorization: Bearer T", "Splunk T", "ApiKey base64(id:T)" (the
// Elasticsearch form; an undecodable value is used as it is) and "Basic
// base64(user:T)" (the password; the user name when the password is empty).
// It returns "" when there is none.
func Credential(r *http.Request) string {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, rest, ok := strings.Cut(h, " ")
	if !ok {
		return ""
	}
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(scheme) {
	case "bearer", "splunk":
		return rest
	case "apikey":
		dec, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return rest
		}
		if _, key, ok := strings.Cut(string(dec), ":"); ok {
			return key
		}
		return string(dec)
	case "basic":
		user, pass, ok := r.BasicAuth()
		if !ok {
			return ""
		}
		if pass == "" {
			return user
		}
		return pass
	}
	return ""
}

// Authenticate checks the request's credential (see Credential). A missing
// credential is ErrUnauthorized.
func Authenticate(ctx context.Context, auth ingest.Authenticator, secret string) (ingest.Principal, error) {
	if secret == "" {
		return ingest.Principal{}, fmt.Errorf("no credential: %w", ingest.ErrUnauthorized)
	}
	p, err := auth.AuthenticateIngest(ctx, secret)
	if err != nil {
		return p, fmt.Errorf("authenticate: %w", err)
	}
	return p, nil
}

// Status maps a receiver error to its HTTP status: 401 unauthorized, 413
// too large, 429 overloaded, 415 unsupported encoding, 400 invalid or
// undecodable, 503 when the request or server is shutting down, else 500.
func Status(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ingest.ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, ingest.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ingest.ErrOverloaded):
		return http.StatusTooManyRequests
	case errors.Is(err, ingest.ErrBadEncoding) && strings.Contains(err.Error(), "unsupported"):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, ingest.ErrBadEncoding), errors.Is(err, ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// SetRetryAfter sets Retry-After on statuses that ask the sender to retry
// (429, 503).
func SetRetryAfter(w http.ResponseWriter, status int) {
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
	}
}

// ErrLineTooLong is passed to the Lines callback for a line over the limit;
// the line is cut to the limit and the rest skipped.
var ErrLineTooLong = errors.New("line too long")

// Lines calls fn for every line of r (without "\n" or "\r\n"; empty lines
// included), line numbers from 1. A line over maxLine bytes is passed cut
// to maxLine with ErrLineTooLong. The line is valid only during the call.
// Lines stops at the first error of fn or of r, and returns it.
func Lines(r io.Reader, maxLine int, fn func(n int, line []byte, tooLong error) error) error {
	br := bufio.NewReaderSize(r, min(max(maxLine, 4096), 1<<20))
	var long []byte
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				if len(long) <= maxLine {
					long = append(long, line[:min(len(line), maxLine+1-len(long))]...)
				}
			}
			line = long
		}
		if len(line) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		line = trimEOL(line)
		var tooLong error
		if len(line) > maxLine {
			line, tooLong = line[:maxLine], fmt.Errorf("line %d: %w (limit %d bytes)", n, ErrLineTooLong, maxLine)
		}
		if ferr := fn(n, line, tooLong); ferr != nil {
			return ferr
		}
		if err != nil {
			return nil // io.EOF after a last line without "\n"
		}
	}
}

func trimEOL(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		b = b[:len(b)-1]
		if len(b) > 0 && b[len(b)-1] == '\r' {
			b = b[:len(b)-1]
		}
	}
	return b
}

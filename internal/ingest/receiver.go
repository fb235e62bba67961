package ingest

// This file is the contract shared by every receiver.

import (
	"context"
	"errors"
	"net/http"

	"github.com/mamori/mamori/internal/event"
)

// Sink takes decoded events. Append returns only after the events are
// durable (in the write-ahead log); only then may a receiver acknowledge
// them to the sender. It returns an error wrapping ErrOverloaded when the
// server is saturated: the receiver must push back (HTTP 429/503 with
// Retry-After, TCP read throttling, Kafka pause) and must not buffer
// without bound. Append may be called concurrently. The events slice and
// its contents may be retained by the sink: do not reuse them.
type Sink interface {
	Append(ctx context.Context, events []event.Event) error
}

// ErrOverloaded is wrapped by Sink errors that mean "try again later".
// The server maps the store's overload error to it.
var ErrOverloaded = errors.New("overloaded")

// Principal is who sent data: the ingest credential that was presented.
type Principal struct {
	TokenID string // stable id of the token (never the secret)
	Name    string // display name
	// Source, when set, is the only source this credential may write
	// (a source-bound token); receivers force events' Source to it.
	Source string
}

// Authenticator checks an ingest credential (the secret a shipper sends:
// a bearer token, a Splunk HEC token, a Sumo URL token, a Kafka/syslog
// listener's configured token). It returns ErrUnauthorized for an unknown,
// revoked or expired secret, or one without the ingest capability.
type Authenticator interface {
	AuthenticateIngest(ctx context.Context, secret string) (Principal, error)
}

// ErrUnauthorized is returned by an Authenticator for a bad credential.
var ErrUnauthorized = errors.New("unauthorized")

// HTTPReceiver is a receiver served on the main HTTP listener.
type HTTPReceiver interface {
	// Name is a short stable name for metrics and config ("esbulk", "loki").
	Name() string
	// Register adds the receiver's routes to mux (Go 1.22 patterns, such
	// as "POST /loki/api/v1/push").
	Register(mux *http.ServeMux)
}

// Listener is a receiver with its own network listener (syslog, GELF,
// Fluent Forward) or its own consumer loop (Kafka, files).
type Listener interface {
	Name() string
	// Run serves until ctx is cancelled, then closes its sockets and
	// returns after every in-flight batch was either acknowledged or
	// refused. It returns an error only when it cannot serve at all.
	Run(ctx context.Context) error
}

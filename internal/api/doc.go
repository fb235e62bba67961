// Package api serves Mamori's HTTP API: the native ingest endpoint, search,
// tokens, health and metrics, behind bearer-token authentication. It owns
// the JSON envelopes and the one mapping from error kinds to HTTP statuses
// (statusOf). It does not own the receivers of other protocols (package
// ingest registers those on the same mux) or any storage or query logic.
//
// A Handler is safe for concurrent use.
package api

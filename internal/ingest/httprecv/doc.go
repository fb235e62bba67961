// Package httprecv is the plumbing the HTTP receivers (esbulk, hec, sumo,
// loki, otlp) share: reading the ingest credential from a request in the
// forms shippers send it, mapping receiver errors to HTTP statuses, and
// splitting a body into bounded lines. It owns no routes and no wire
// format. Everything here is stateless and safe for concurrent use.
package httprecv

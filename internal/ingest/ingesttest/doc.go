// Package ingesttest provides in-memory implementations of the ingest
// contract (Sink, Authenticator) for the receivers' tests.
package ingesttest

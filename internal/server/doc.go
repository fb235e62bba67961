// Package server assembles a Mamori node from its parts (store, tokens,
// receivers, API), runs it and shuts it down in order: stop accepting
// requests, drain in-flight ingest, flush and close the store.
//
// It owns the ingest pipeline that every receiver feeds (Pipeline): default
// metadata, the durable append, and the fan-out of durable events to live
// consumers (tail, detection).
package server

// Package event defines the Event, the unit that flows from receivers through
// parsing, the write-ahead log, the store, detection and the query engine.
//
// It owns the metadata field names (_time, _raw, _source, ...) and small field
// helpers. It imports nothing else from the project: it is the bottom of the
// dependency graph. Events are plain values; they carry no locks and are not
// safe for concurrent mutation.
package event

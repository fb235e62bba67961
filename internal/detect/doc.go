// Package detect runs detection on the live stream and over stored data:
// the Sigma rule set (compiled by package detect/sigma), signals with their
// entities and ATT&CK tactics, suppression of repeats, rule management
// (folders, uploads, enable/disable, tests) and per-rule hit counts.
//
// It owns the signal format (events in the "signals" partition, see
// signal.go) and entity extraction (entity.go). It does not own the ingest
// path: the server feeds it batches of durable events and gives it a sink
// for the signals it raises.
//
// A *Detector is safe for concurrent use: mu guards the compiled engine and
// the rule table; the suppression and hit maps have their own lock (never
// held while taking mu).
package detect

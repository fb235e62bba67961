// Package detect runs detection on the live stream and over stored data:
// the Sigma rule set (compiled by package detect/sigma), signals with their
// entities and ATT&CK tactics, suppression of repeats, rule management
// (folders, uploads, enable/disable, tests) and per-rule hit counts.
//
// It owns the signal format (events in the "signals" partition, see
// signal.go) and entity extraction (entity.go). It does not own the ingest
// path: the server feeds it batches of durable events and gives it a sink
// for the signals it raises. After a restart, Detector.Replay re-runs
// detection over the stored events received after the stateful snapshot
// (replay.go), before Run consumes live events.
//
// A *Detector is safe for concurrent use: mu guards the compiled engine and
// the rule table; the suppression and hit maps have their own lock (never
// held while taking mu). Detect spreads the Sigma matching of a large
// batch over GOMAXPROCS goroutines (the compiled engine is immutable);
// stateful rules and suppression then run on the caller's goroutine, in
// event order.
package detect

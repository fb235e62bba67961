// Package logreduce turns many log messages into a few signatures (templates
// with variables written <*>) and compares the signatures of two periods.
//
// It owns the pattern-mining algorithm behind the `| logreduce` and
// `| logcompare` query operators and the offline `mamori logreduce` command:
// timestamps (date.go), variable masking and canonical templates (mask.go),
// online clustering (reducer.go), cardinality and variable-length merging
// (compact.go, varlen.go), signatures with stable ids and drill-down queries
// (signature.go), typed display (display.go), user corrections
// (correction.go), period comparison (compare.go), a cheap JSON field
// reader for the command (jsonfield.go) and the key names of a raw JSON or
// key=value message for `logreduce keys` (keys.go). It does not own reading events,
// query syntax or output formatting; callers feed it message strings.
// docs/logreduce.md describes the method and its measured accuracy.
//
// The main type is Reducer: Add messages one at a time (memory grows with
// the number of clusters, bounded by Options.MaxClusters, never with the
// number of lines), then read Signatures. For logcompare, give the baseline
// period to AddBaseline and the target to Add, then call Reducer.Compare;
// Compare also matches two stored signature lists.
//
// Concurrency: a Reducer is not safe for concurrent use; query execution
// keeps one Reducer per worker and combines them with Merge. Package-level
// functions are safe for concurrent use.
package logreduce

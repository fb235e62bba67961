// Package logreduce turns many log messages into a few signatures (templates
// with variables written <*>) and compares the signatures of two periods.
//
// It owns the pattern-mining algorithm behind the `| logreduce` and
// `| logcompare` query operators and the offline `mamori logreduce` command:
// variable masking (mask.go), online clustering (reducer.go), template
// canonicalization and display (template.go), stable signature ids
// (signature.go), user corrections (correction.go) and period comparison
// (compare.go). It does not own reading events, query syntax or output
// formatting; callers feed it message strings.
//
// The main type is Reducer: Add messages one at a time (memory grows with
// the number of distinct patterns, never with the number of lines), then
// read Signatures. Compare matches two signature lists.
//
// Concurrency: a Reducer is not safe for concurrent use; query execution
// keeps one Reducer per worker and combines them with Merge.
package logreduce

// Package sigma loads, compiles and evaluates Sigma detection rules
// (specification v2.x) against events.
//
// It owns the rule model (ParseRule, LoadDir), the modifiers and the
// condition language, log-source routing and field mapping as data
// (Pipeline, with a built-in default for Windows event logs in evtx_dump
// JSON, Winlogbeat and ECS shapes), the compiler (Compile) and the matching
// Engine, and the offline hunter (Hunt) behind `mamori hunt`. It does not own
// the live stream, signal storage or correlation state (internal/detect).
//
// Compile builds one Engine for a whole rule set: each event is routed by
// its log source to the rules that apply (route.go: a map from channel, then
// from event ID, to routing alternatives), a literal prefilter selects the
// candidate rules (prefilter.go: needles keyed by field slot, found by one
// anchor matcher per slot over the lower-cased value, whole-value needles by
// a map lookup, keyword needles over every value), and only those are
// evaluated exactly (node.go, match.go).
// A rule's condition stays available as an Expr tree (Rule.Detection) so the
// query engine can translate it into a filter.
//
// Concurrency: a compiled Engine is immutable and safe for concurrent use;
// Match keeps its scratch space in a sync.Pool. Rules and Pipelines must not
// be changed after Compile.
package sigma

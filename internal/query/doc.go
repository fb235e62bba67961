// Package query implements Mamori's query language: a Sumo Logic style
// search expression followed by pipe stages ("error host=web-1 | count by
// user"), its parser, planner and parallel executor.
//
// It owns the lexer (lex.go), the parser (parse.go, parse_expr.go), the AST
// (ast.go, and the Stage types in op_<name>.go), the planner (plan.go) that
// pushes the time range, partitions, streams and token filters into the
// store, and the executor (run.go, run_rows.go, run_agg.go). It does not own
// storage: it reads blocks only through the store.Snapshot contract in
// internal/store/api.go, so any store (the embedded one, MemSource, a remote
// one) can be searched.
//
// Main entry points: Parse, Run, Explain, ParseTimeArg, Query.MatchEvent.
//
// Queries that relate rows run whole queries inside one: a [subquery: ...]
// filter runs first, against the same snapshot, time range, partitions and
// Options.Scope (subquery.go); join and the other table stages that need
// a query over the rows reaching them turn the rows back into events and
// search them with a MemSource (subrun.go); logcompare runs the query
// over the baseline range first (op_logreduce.go). Options.Scope, the
// caller's data scope, is AND-ed into the search of every query and
// subquery Run or Explain executes.
//
// Concurrency: a *Query is immutable after Parse and may be shared by
// goroutines. Run processes blocks on Options.Workers goroutines; each worker
// keeps its own aggregation shard and the shards are merged at the end, so
// the per-row loop takes no locks. emit is called from one goroutine at a
// time.
package query

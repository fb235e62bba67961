// Package store is Mamori's embedded log store: a write-ahead log, columnar
// time-partitioned parts, token bloom filters, background merges,
// retention, and an integrity checker.
//
// It owns everything under the data directory it is given:
//
//	DIR/MANIFEST                 hash-chained, append-only log of part commits
//	DIR/CHECKPOINTS              signed checkpoints of the manifest head
//	DIR/wal/<seq>.wal            write-ahead log segments (package wal)
//	DIR/parts/<partition>/<YYYYMMDD>/<id>.part   immutable part files
//
// It does not own query evaluation: Snapshot.Blocks only prunes blocks that
// cannot match (by time, partition, stream and token filters) and
// BlockRef.Load decodes columns; the query engine evaluates the exact
// predicate. The formats are in docs/format/store.md and the design in
// docs/design/0001-store.md.
//
// Main types: Store (Open, Append, Flush, Snapshot, Merge, ApplyRetention,
// Metrics, PartitionOf, Close), Options (with Route and the Holds interface
// for legal holds), and Verify/VerifyWith/Report for mamori verify.
//
// Concurrency: every exported method of Store may be called concurrently.
// Append is durable when it returns (Options.Sync "always", the default):
// concurrent Appends share one fsync. Events are visible to searches as soon
// as they are written to the WAL, slightly before the fsync completes. A
// Snapshot pins the parts it saw until Release; BlockRefs are safe for
// concurrent use. Store's lock order is documented on the type.
package store

// Package wal is the store's write-ahead log: numbered segment files of
// CRC-framed records, each with a log sequence number (LSN), appended by
// Write and made durable by Sync with group commit (concurrent callers share
// one fsync).
//
// It owns the segment files under one directory and nothing else: what a
// record's payload means is the caller's business (package store encodes
// batches of events). Open replays the records after a given LSN and cuts a
// torn last record (a crash in the middle of a write) instead of failing.
// Check inspects a directory read-only, for mamori verify.
//
// Concurrency: Write, Sync, Truncate and Stats may be called concurrently.
// Lock order: syncMu before mu.
package wal

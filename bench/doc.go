// Command bench is Mamori's benchmark harness: one command that measures
// the server on the shared security-log dataset (../shared/bench) and checks
// every answer.
//
//	go run ./bench -n 1000000            # from the repository root (make bench)
//	go run ./bench -n 1000000 -json out.json -md out.md
//
// Steps, each logged to stderr and each skippable by a flag:
//
//  1. dataset: generate N records with ../shared/bench/gen (seed 42) into the
//     work directory (default /tmp/mamori-bench), once; compute the exact
//     answers of the query set by a reference scan of the file (cached next
//     to it as FILE.expected.json) and cross-check them with the table of
//     ../shared/bench/README.md for the 1M and 10M sets;
//  2. server: build cmd/mamori, start `mamori server` on a fresh data
//     directory with MAMORI_ADMIN_TOKEN, wait for /healthz;
//  3. ingest: POST /api/v1/ingest on 4 connections (NDJSON batches of about
//     2 MiB, optionally zstd); records/s, MB/s, server CPU µs per record
//     (utime+stime from /proc/PID/stat), peak RSS (VmHWM);
//  4. settle: wait until the store directory stops changing (merges done),
//     then bytes per record on disk;
//  5. queries: the query set of the README in Mamori's query language, one
//     warm-up run and -runs timed runs each, median latency, answer checked;
//  6. report: a table of figure, measured, target, reference and verdict,
//     optionally as JSON (-json) and as a markdown snippet (-md);
//  7. stop: SIGTERM, then SIGKILL after 60 s.
//
// Live detection's cost (#5): -rules DIR (repeatable) starts the server
// with Sigma rule folders; after the ingest the harness waits until live
// detection has drained (mamori_detect_* of /metrics: queue and gap empty,
// lag 0) and reports the CPU per record at that point too.
// -detect-pairs K runs K interleaved pairs of fresh servers without and
// with the -rules folders (no queries) and reports the CPU per record
// acknowledged, detection drained and with merges, and the share the
// rules add. -scenario DIR sends a generated scenario folder instead of
// the dataset (each file with its source and format, as a shipper);
// -limit N sends only the first records; -detect-queue sets the server's
// detection_queue.
//
//	go run ./bench -scenario /tmp/scen/dev -detect-pairs 3 \
//	    -rules ../shared/testdata/sigma/sigmahq/rules -rules ../shared/testdata/sigma/sigmahq/rules-emerging-threats \
//	    -rules ../shared/testdata/sigma/sigmahq/rules-threat-hunting
//
// The harness owns nothing the server uses; it talks to it only through the
// contracts of ARCHITECTURE.md (the command line, /healthz, /metrics,
// /api/v1/ingest and /api/v1/search). It exits 1 when a step fails or an
// answer is wrong; a missed speed target is reported, not an error.
package main

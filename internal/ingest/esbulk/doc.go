// Package esbulk is the Elasticsearch-compatible receiver: the _bulk API
// (index and create actions, per-item responses) and the handful of
// requests shippers make before sending (GET / with a version, _license,
// _xpack, _cluster/health, index template, ILM and pipeline probes), with
// the X-Elastic-Product header the official clients require. Filebeat,
// Winlogbeat, Logstash, Fluent Bit, Vector, rsyslog omelasticsearch and
// syslog-ng speak it. Documents are decoded and normalized as the native
// API decodes a JSON line (ingest.DecodeJSON), so they get the same fields.
//
// It is served under a path prefix (default /es, so the shipper's URL is
// http://host:9280/es) and, unless turned off, also answers POST /_bulk at
// the root for shippers that cannot be given a path; the root handshake
// (GET /) stays with the web UI, so shippers that check the version need
// the prefix.
//
// Main type: Receiver (New, Register). A Receiver is stateless between
// requests and safe for concurrent use.
package esbulk

// Package loki is the Grafana Loki push receiver: POST /loki/api/v1/push
// with a snappy-compressed protobuf PushRequest (Promtail, Grafana Alloy,
// the Docker driver, Fluent Bit's loki output) or JSON (optionally gzip),
// where an entry may carry a third element with structured metadata. A
// stream's labels become fields of each of its events and choose the
// event's host (host, hostname, instance) and source (service_name, job,
// app); structured metadata become fields too. The protobuf is decoded by
// hand (package pb), so there is no generated code.
//
// Main type: Receiver (New, Register), safe for concurrent use.
package loki

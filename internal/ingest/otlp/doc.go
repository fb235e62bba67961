// Package otlp is the OpenTelemetry logs receiver: OTLP/HTTP (POST
// /v1/logs with an ExportLogsServiceRequest in protobuf or JSON, optionally
// gzip) and OTLP/gRPC (the unary LogsService/Export call, served on the same
// HTTP listener: over TLS, or as unencrypted HTTP/2 when the server enables
// it with http.Server.Protocols).
// Each log record becomes an event: its body is the raw message (a
// structured body is kept as JSON and flattened into body.* fields), and
// resource attributes, scope name and version, log attributes, severity,
// trace and span ids become fields; host.name and service.name choose the
// host and source. The protobuf and the gRPC framing are decoded by hand
// (package pb), so there is no generated code and no gRPC dependency.
//
// Main type: Receiver (New, Register), safe for concurrent use.
package otlp

// Package otlp is the OpenTelemetry logs receiver over HTTP: POST /v1/logs
// with an ExportLogsServiceRequest in protobuf or JSON, optionally gzip.
// Each log record becomes an event: its body is the raw message (a
// structured body is kept as JSON and flattened into body.* fields), and
// resource attributes, scope name and version, log attributes, severity,
// trace and span ids become fields; host.name and service.name choose the
// host and source. The protobuf is decoded by hand (package pb). gRPC
// (LogsService/Export) is not served yet.
//
// Main type: Receiver (New, Register), safe for concurrent use.
package otlp

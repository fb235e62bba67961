// Package pb reads the protobuf wire format, enough for the receivers that
// take protobuf payloads (Loki push, OTLP logs) to decode them by hand
// without generated code. It owns no schema. A Reader is a value over a
// byte slice; values it returns point into that slice.
package pb

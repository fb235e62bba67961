// Package ingest owns the receivers: the native HTTP ingest API and one file
// (or sub-package) per protocol that shippers speak (syslog, Elasticsearch
// _bulk, OTLP, Loki, Splunk HEC, Sumo Logic HTTP, GELF, Fluent Forward,
// Kafka, files). Every receiver decodes its framing, hands lines to package
// parse, and passes events to a Sink, acknowledging the sender only after
// the Sink returned (the data is durable). It does not own parsing formats
// (package parse), storage (package store) or credentials (package auth);
// the server wires a Sink and an Authenticator in.
//
// Receivers are safe for concurrent use. Every receiver bounds what it
// buffers and pushes back when the Sink reports ErrOverloaded.
package ingest

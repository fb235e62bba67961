// Package kafka is the Kafka consumer source: it reads topics as a member
// of a consumer group (github.com/twmb/franz-go) and appends the records,
// committing offsets only after the Sink returned, so a crash or a
// refused batch means the records are read again (at-least-once). While
// the Sink is overloaded the consumer stops polling, which pauses
// fetching. Record values are JSON documents, raw lines, or OTLP log
// export requests (protobuf); topic, partition, offset, key and headers
// are kept as kafka.* fields. JSON and text values are decoded as the
// native API decodes a line (ingest.DecodeJSON, ingest.ParseText with
// parse.Auto), so they get the same fields.
//
// Main type: Consumer (New, Run). Run owns the client and closes it.
package kafka

// Package fluent is the Fluent Forward protocol receiver (Fluentd's
// forward output, Fluent Bit's forward output, the fluent-logger
// libraries, Docker's fluentd log driver): msgpack over TCP in Message,
// Forward, PackedForward and CompressedPackedForward modes, with EventTime,
// answering {"ack": chunk} once the events of a message are durable when
// the sender asks for it. The msgpack is decoded by hand (msgpack.go).
// A record's "message" (or "log", "msg") is the raw text and its other keys
// become fields (nested maps flattened with dots); the tag is kept in
// fluent.tag and the record's host or hostname is the host. The
// shared-key handshake (HELO/PING/PONG) is not implemented: the listener
// has one configured token.
//
// Main type: Receiver (New, Run). It owns one goroutine per connection;
// Run waits for them.
package fluent

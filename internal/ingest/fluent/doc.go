// Package fluent is the Fluent Forward protocol receiver (Fluentd's
// forward output, Fluent Bit's forward output, the fluent-logger
// libraries, Docker's fluentd log driver): msgpack over TCP in Message,
// Forward, PackedForward and CompressedPackedForward modes, with EventTime,
// answering {"ack": chunk} once the events of a message are durable when
// the sender asks for it. The msgpack is decoded by hand (msgpack.go).
// A record's "message" (or "log", "msg") is the raw text and its other keys
// become fields (nested maps flattened with dots); the tag is kept in
// fluent.tag and the record's host or hostname is the host. With a shared
// key configured, senders must pass the HELO/PING/PONG handshake
// (handshake.go; user authentication is not supported). The listener's
// ingest token is configured on the server, since the protocol carries none.
//
// Main type: Receiver (New, Run). It owns one goroutine per connection;
// Run waits for them.
package fluent

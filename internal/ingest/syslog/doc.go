// Package syslog is the syslog receiver: RFC 5424 and RFC 3164 messages
// over UDP, TCP and TLS (RFC 5425). It owns the transports and the TCP
// framing (octet counting per RFC 6587/5425 or LF/NUL-delimited, detected
// per connection); the message format itself is parsed by
// parse.ParseSyslog. Messages are batched per connection (up to MaxBatch
// messages or FlushInterval) before Sink.Append, so the WAL group-commits,
// and a connection is not read while the Sink is overloaded, so TCP flow
// control slows the sender down. UDP cannot push back: datagrams that
// arrive while the Sink is overloaded wait in the socket buffer and the
// kernel drops the excess.
//
// Main type: Receiver (New, Run). A Receiver owns one goroutine per
// listener and one per TCP connection; Run waits for all of them.
package syslog

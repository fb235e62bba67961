// Package gelf is the Graylog Extended Log Format receiver: GELF over UDP
// (chunked, gzip or zlib compressed), over TCP (NUL- or LF-terminated
// messages) and over HTTP (POST /gelf). Docker's gelf log driver, Graylog
// sidecars, NXLog and the GELF libraries speak it. A message's
// short_message is the raw text, host and timestamp are the metadata, and
// additional fields (_name) become fields without their underscore.
//
// Main type: Receiver (New, Run for UDP and TCP, Register for HTTP). It owns
// one goroutine per socket and per TCP connection; Run waits for them.
// Chunk reassembly is bounded in count, bytes and time.
package gelf

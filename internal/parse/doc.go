// Package parse turns raw log lines into event fields and normalizes them to
// common (ECS) field names, so one query or Sigma rule works across sources.
//
// It owns one parser per wire format, each in its own file: syslog.go
// (RFC 5424/3164, with the message parsers of sshd.go, audit.go, cef.go,
// leef.go and kv.go behind it), cef.go, leef.go, kv.go (kv, logfmt,
// netfilter), audit.go, access.go (Apache/Nginx), squid.go, bind.go,
// jsondoc.go (JSON documents over json.go's FlattenJSON; json_str.go reads
// strings, json_names.go classifies member names once), windows.go
// (Winlogbeat, evtx_dump), cloudtrail.go (records, SplitBatch) and grok.go
// (user patterns, NewGrok). registry.go holds the built-ins (Lookup, New,
// Names), auto.go the per-line detection (Auto), normalize.go the ECS
// mapping tables (documented in docs/fields.md, checked by a test), and
// timestamp.go the shared time parsing. It does not own framing (ingest),
// metadata routing, or storage.
//
// A Parser fills ev.Fields and, when the content carries a timestamp,
// ev.Time; it leaves ev.Raw as the line. Field values are substrings of
// ev.Raw wherever no unescaping is needed, so a parse costs about one string
// conversion plus the field slice. A parser that cannot make sense of a line
// returns an *Error; the caller keeps the line raw with event.FieldParseError.
// A single bad field never loses the rest of the event: parsers skip what
// they cannot read and keep going.
//
// Parsers are stateless values: every method may be called concurrently.
// Grok parsers compiled from user patterns (NewGrok) are immutable after
// construction and equally safe for concurrent use.
package parse

// Package hec is the Splunk HTTP Event Collector receiver:
// /services/collector/event (concatenated JSON envelopes with time, host,
// source, sourcetype, index, fields and an event that is a string or an
// object), /services/collector/raw (lines, metadata from the query),
// /services/collector/health and /services/collector/ack. The token comes
// in "Authorization: Splunk <token>" (Bearer and Basic work too).
// Responses follow Splunk's {"text","code"} shape; an acknowledgement id is
// returned when the client names a channel, and every id is reported as
// indexed by /services/collector/ack, since a 200 is only sent after the
// events are durable. Event members and raw lines are decoded as the
// native API decodes a line (ingest.DecodeJSON, ingest.ParseText), so
// they get the same fields; the envelope's or query's metadata wins.
//
// Main type: Receiver (New, Register), safe for concurrent use.
package hec

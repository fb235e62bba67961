// Package evtx reads Windows XML event log files (.evtx) without any
// outside library: the file header, 64 KiB chunks, event records and the
// binary XML (BinXML) they hold, with template instances and substitutions.
//
// Open returns a Reader; Next yields one Record at a time as an event.Event
// whose fields follow the evtx_dump JSON layout, flattened with dots:
// Event.System.EventID, Event.System.Provider.#attributes.Name,
// Event.EventData.<Name> for named Data elements, Event.UserData.<...>.
//
// A corrupt chunk (bad signature or header checksum) or record yields a
// *CorruptError from Next and reading continues with the next chunk or
// record; only I/O errors stop the reader (Fatal reports which).
//
// Memory: a Reader takes a pooled chunk buffer and parser scratch (element
// arena, value buffers, interned names) at its first chunk and returns them
// at io.EOF, on a fatal error or on Close; the values of one Record share
// one string, and nothing a Record holds points into the pooled buffers.
//
// It does not own event routing or Sigma field mapping (detect/sigma).
// A Reader is not safe for concurrent use.
package evtx

// Package tail is the file source: it follows files matching glob
// patterns, the way `tail -F` does, and appends their new lines. It
// handles rotation by rename (the old file is read to its end before it
// is let go, the new one is read from its start), truncation (reading
// restarts at the beginning) and files that appear later, and it persists
// the read position of every file (by device and inode, with a fingerprint
// of the first bytes against inode reuse) in a state file written after
// each append, so a restart resumes where the last durable batch ended
// (at-least-once). Files are polled, so it needs nothing beyond the
// standard library. Lines are decoded as the native API decodes them
// (ingest.DecodeJSON, ingest.ParseText), so they get the same fields.
//
// Main type: Tailer (New, Run). Run owns everything; nothing is shared.
package tail

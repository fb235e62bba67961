package syslog

import (
	"bytes"
	"errors"
	"fmt"
)

// Framing modes of a TCP connection.
const (
	modeUnknown = iota
	modeOctet   // RFC 6587 3.4.1 / RFC 5425: "MSG-LEN SP SYSLOG-MSG"
	modeDelim   // RFC 6587 3.4.2: a message ends at LF (or NUL)
)

// maxCountDigits bounds MSG-LEN; nine digits are far over any sane limit.
const maxCountDigits = 9

// framer splits a TCP syslog stream into messages. The framing is chosen
// by the first message of the connection: "digits SP <" is octet counting,
// anything else is LF/NUL-delimited. Once in octet mode, a message that
// does not start with a count is read as delimited, so a sender mixing the
// two loses nothing. Messages over max bytes are cut to max and marked
// truncated; the rest is dropped.
type framer struct {
	max  int // longest message kept
	mode int
	skip int  // bytes of an over-long counted message still to drop
	drop bool // dropping the rest of an over-long delimited message
}

// minBuffer is the smallest buffer next needs to always make progress.
func (f *framer) minBuffer() int { return f.max + maxCountDigits + 2 }

// next finds the next message at the start of buf. It returns how many
// bytes it consumed, the message (nil when there is none yet; it points into
// buf), whether the message was cut, and an error describing malformed
// input that was consumed and dropped. n == 0 and msg == nil means more
// input is needed. With atEOF, a partial message is returned as it is.
func (f *framer) next(buf []byte, atEOF bool) (n int, msg []byte, truncated bool, err error) {
	if f.skip > 0 {
		k := min(f.skip, len(buf))
		f.skip -= k
		return k, nil, false, nil
	}
	if f.drop {
		j := indexDelim(buf)
		if j < 0 {
			return len(buf), nil, false, nil
		}
		f.drop = false
		return j + 1, nil, false, nil
	}
	i := 0
	for i < len(buf) && (buf[i] == '\n' || buf[i] == 0 || buf[i] == '\r') {
		i++ // separators between messages (a LF after a counted message)
	}
	rest := buf[i:]
	if len(rest) == 0 {
		return i, nil, false, nil
	}
	if f.mode == modeUnknown {
		m, ok := detectMode(rest, atEOF)
		if !ok {
			return i, nil, false, nil
		}
		f.mode = m
	}
	if f.mode == modeOctet && isDigit(rest[0]) {
		hdr, size, ok := countHeader(rest, atEOF)
		if !ok {
			return i, nil, false, nil
		}
		if hdr > 0 {
			k, m, t, err := f.counted(rest, hdr, size, atEOF)
			if k == 0 && m == nil && err == nil {
				return i, nil, false, nil
			}
			return i + k, m, t, err
		}
		// Digits without a count: a delimited message in a counted stream.
	}
	k, m, t := f.delimited(rest, atEOF)
	return i + k, m, t, nil
}

// detectMode decides the framing from the first bytes of a connection; ok
// is false when more input is needed.
func detectMode(b []byte, atEOF bool) (mode int, ok bool) {
	j := 0
	for j < len(b) && j <= maxCountDigits && isDigit(b[j]) {
		j++
	}
	switch {
	case j == 0 || j > maxCountDigits:
		return modeDelim, true
	case j+1 >= len(b): // need the SP and the byte after it
		if atEOF {
			return modeDelim, true
		}
		return 0, false
	case b[j] == ' ' && b[j+1] == '<':
		return modeOctet, true
	}
	return modeDelim, true
}

// countHeader reads "MSG-LEN SP" at b[0] (a digit). It returns the header
// length and the count, hdr 0 when b does not start with a count, and ok
// false when more input is needed to tell.
func countHeader(b []byte, atEOF bool) (hdr, size int, ok bool) {
	j := 0
	for j < len(b) && j <= maxCountDigits && isDigit(b[j]) {
		size = size*10 + int(b[j]-'0')
		j++
	}
	switch {
	case j == len(b) && j <= maxCountDigits && !atEOF:
		return 0, 0, false
	case j > maxCountDigits || j == len(b) || b[j] != ' ':
		return 0, 0, true
	}
	return j + 1, size, true
}

// counted reads a message of size bytes after a header of hdr bytes.
func (f *framer) counted(b []byte, hdr, size int, atEOF bool) (int, []byte, bool, error) {
	if size == 0 {
		return hdr, nil, false, errors.New("empty octet-counted message")
	}
	if size > f.max {
		if len(b) < hdr+f.max && !atEOF {
			return 0, nil, false, nil
		}
		msg := b[hdr:min(hdr+f.max, len(b))]
		f.skip = size - len(msg)
		return hdr + len(msg), msg, true, nil
	}
	if len(b) < hdr+size {
		if !atEOF {
			return 0, nil, false, nil
		}
		msg := b[hdr:]
		return len(b), msg, true, fmt.Errorf("octet-counted message cut short: want %d bytes, got %d", size, len(msg))
	}
	msg := b[hdr : hdr+size]
	// The count may include the sender's trailing newline.
	msg = bytes.TrimRight(msg, "\r\n\x00")
	return hdr + size, msg, false, nil
}

// delimited reads a message that ends at LF or NUL.
func (f *framer) delimited(b []byte, atEOF bool) (int, []byte, bool) {
	j := indexDelim(b)
	switch {
	case j > f.max:
		return j + 1, b[:f.max], true
	case j >= 0:
		return j + 1, bytes.TrimRight(b[:j], "\r"), false
	case len(b) > f.max:
		f.drop = true
		return f.max, b[:f.max], true
	case atEOF:
		return len(b), bytes.TrimRight(b, "\r"), false
	}
	return 0, nil, false
}

func indexDelim(b []byte) int {
	for i, c := range b {
		if c == '\n' || c == 0 {
			return i
		}
	}
	return -1
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

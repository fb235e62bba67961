package store

// Reading a chunk's body for a row-wise load (bodyStream): a zstd body
// decompressed only as far as asked, a small one at once, a framed one
// (codecFramed, chunk_frames.go) by the frames of the items read.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// streamDecoders are zstd decoders in synchronous streaming mode: a body
// is decompressed only as far as read.
var streamDecoders = sync.Pool{New: func() any {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxChunkBytes), zstd.IgnoreChecksum(true))
	if err != nil {
		panic("BUG: zstd stream decoder: " + err.Error())
	}
	return d
}}

// bodyStream gives the prefixes of a chunk's body, decompressing a zstd
// body only as far as asked.
type bodyStream struct {
	size     int    // the body's length
	stored   []byte // the body when stored uncompressed
	whole    string // the body when decompressed already (hasWhole)
	hasWhole bool
	dec      *zstd.Decoder
	sc       *rowScratch // sc.body holds what is decompressed so far
	// A framed body (codecFramed): sc.body has the body's length, and
	// the frames marked in done are decoded into it (chunk_frames.go).
	ft   *frameTable
	done []bool
	last itemAt // the item located last (item)
	// src, when set, caches the frames decoded (rowload_cache.go).
	src frameSource
}

// itemAt is where item k of group g is: its length at pos, its bytes at at.
type itemAt struct {
	ok      bool
	g, k    int
	pos, at int
}

// smallStream: zstd bodies up to this size are decoded whole rather
// than streamed (the stream's setup costs more than the rest of them).
const smallStream = 64 << 10

func newBodyStream(chunk []byte, sc *rowScratch) (*bodyStream, error) {
	if len(chunk) < 2 {
		return nil, errShort
	}
	codec := chunk[1]
	n, k := binary.Uvarint(chunk[2:])
	if k <= 0 || n > maxChunkBytes {
		return nil, errors.New("bad body length")
	}
	data := chunk[2+k:]
	bs := &bodyStream{size: int(n), sc: sc}
	switch codec {
	case codecNone:
		if uint64(len(data)) != n {
			return nil, fmt.Errorf("body length %d, want %d", len(data), n)
		}
		bs.stored = data
	case codecZstd:
		if n <= smallStream {
			// Small: decoded whole at once costs less than a stream.
			if _, body, err := chunkBodyTo(chunk, &sc.whole); err == nil {
				bs.whole, bs.hasWhole = body, true
				return bs, nil
			}
			// The stream below reports the error with its position.
		}
		bs.dec = streamDecoders.Get().(*zstd.Decoder)
		if err := bs.dec.Reset(bytes.NewReader(data)); err != nil {
			bs.close()
			return nil, fmt.Errorf("zstd: %w", err)
		}
		if cap(sc.body) < bs.size {
			sc.body = bigBody(bs.size)
		}
		sc.body = sc.body[:0]
	case codecFramed:
		initCodecs()
		sc.ft.ends, sc.ft.zends = sc.ft.ends[:0], sc.ft.zends[:0]
		if err := sc.ft.parse(data, n); err != nil {
			return nil, err
		}
		bs.ft = &sc.ft
		// parse bounded n by the frames' sizes. Only the frames read are
		// written: a recycled buffer needs no clearing. The slack past
		// the body lets the last frame decode with it too.
		if cap(sc.body) < bs.size+frameSlack {
			sc.body = bigBody(bs.size + frameSlack)
		}
		sc.body = sc.body[:bs.size]
		bs.done = slices.Grow(sc.done[:0], len(sc.ft.ends))[:len(sc.ft.ends)]
		clear(bs.done)
		sc.done = bs.done
	case codecPacked:
		// Decoded whole; a stream of them gains nothing here.
		_, body, err := chunkBodyTo(chunk, nil)
		if err != nil {
			return nil, err
		}
		bs.whole, bs.hasWhole = body, true
	default:
		return nil, fmt.Errorf("unknown codec %d", codec)
	}
	return bs, nil
}

func (bs *bodyStream) close() {
	if bs.dec != nil {
		// The decoder keeps no reference worth dropping: Reset replaces
		// its input on the next use.
		streamDecoders.Put(bs.dec)
		bs.dec = nil
	}
}

// prefix returns at least the first n bytes of the body (all of it when
// shorter). The string is valid until the next call.
func (bs *bodyStream) prefix(n int) (string, error) {
	if bs.hasWhole {
		return bs.whole, nil
	}
	if bs.stored != nil || bs.size == 0 {
		return bytesToString(bs.stored), nil
	}
	n = min(n, bs.size)
	if bs.ft != nil {
		if n == 0 {
			return "", nil
		}
		last := bs.ft.find(n - 1)
		if err := bs.frames(0, last); err != nil {
			return "", err
		}
		return bytesToString(bs.sc.body[:bs.ft.ends[last]]), nil
	}
	b := bs.sc.body
	for len(b) < n {
		m, err := bs.dec.Read(b[len(b):bs.size])
		b = b[:len(b)+m]
		if err == io.EOF {
			break
		}
		if err != nil {
			bs.sc.body = b
			return "", fmt.Errorf("zstd: %w", err)
		}
		if m == 0 {
			break
		}
	}
	bs.sc.body = b
	if len(b) < n {
		return "", fmt.Errorf("decompressed length %d, want %d", len(b), bs.size)
	}
	return bytesToString(b), nil
}

// span returns the body with at least its bytes [from, to) decoded (and
// those before them, unless framed): a view of the whole body when
// framed, else a prefix. Views returned earlier stay valid.
func (bs *bodyStream) span(from, to int) (string, error) {
	if bs.ft == nil || from >= to {
		return bs.prefix(to)
	}
	if from < 0 || to > bs.size {
		return "", fmt.Errorf("bytes %d to %d of a body of %d", from, to, bs.size)
	}
	if err := bs.frames(bs.ft.find(from), bs.ft.find(to-1)); err != nil {
		return "", err
	}
	return bytesToString(bs.sc.body[:bs.size]), nil
}

// view returns the whole framed body: only the bytes span asked for
// (and the prefixes given) are decoded.
func (bs *bodyStream) view() string { return bytesToString(bs.sc.body[:bs.size]) }

// item locates item k of a framed body (a row of a plain or template
// body, a variable of skeletons; plus: lengths are bytes+1, 0 absent):
// the offsets of its length and of its bytes in the body. Only its
// group's lengths frame is decoded.
func (bs *bodyStream) item(k int, plus bool) (pos, at int, err error) {
	ft := bs.ft
	groups := len(ft.itemEnds)
	g := sort.SearchInts(ft.itemEnds, k+1)
	if k < 0 || g >= groups {
		return 0, 0, fmt.Errorf("%w: item %d of %d", errFrames, k, ft.itemEnds[groups-1])
	}
	if err := bs.frames(g, g); err != nil {
		return 0, 0, err
	}
	pos, end, at := ft.start(g), ft.ends[g], ft.start(groups+g)
	first := 0
	if g > 0 {
		first = ft.itemEnds[g-1]
	}
	from := first
	if c := &bs.last; c.ok && c.g == g && c.k <= k {
		from, pos, at = c.k, c.pos, c.at // rows come in order: go on
	}
	defer func() {
		if err == nil {
			bs.last = itemAt{ok: true, g: g, k: k, pos: pos, at: at}
		}
	}()
	body := bs.sc.body
	for i := from; i < k; i++ {
		if k-i >= 8 && pos+8 <= end {
			// Eight one-byte lengths at a time (lengths8).
			if w := binary.LittleEndian.Uint64(body[pos:]); w&highBits == 0 {
				at += lengths8(w, plus)
				pos += 8
				i += 7
				if pos >= end {
					return 0, 0, fmt.Errorf("%w: group %d: lengths of %d items in %d bytes", errFrames, g, ft.itemEnds[g]-first, end-ft.start(g))
				}
				continue
			}
		}
		n := uint64(body[pos]) // pos < end: the frame holds its items' lengths
		w := 1
		if n >= 0x80 {
			if n, w = binary.Uvarint(body[pos:end]); w <= 0 || n > uint64(bs.size) {
				return 0, 0, fmt.Errorf("%w: length of item %d", errFrames, i)
			}
		}
		if plus && n > 0 {
			n--
		}
		pos += w
		at += int(n)
		if pos >= end {
			return 0, 0, fmt.Errorf("%w: group %d: lengths of %d items in %d bytes", errFrames, g, ft.itemEnds[g]-first, end-ft.start(g))
		}
	}
	if at > bs.size {
		return 0, 0, fmt.Errorf("%w: item %d at %d, past the body of %d", errFrames, k, at, bs.size)
	}
	return pos, at, nil
}

// length reads the uvarint length at *pos of a framed body (decoding its
// frame) and moves *pos past it.
func (bs *bodyStream) length(pos *int) (uint64, error) {
	if *pos < 0 || *pos >= bs.size {
		return 0, fmt.Errorf("%w: length at %d of a body of %d", errFrames, *pos, bs.size)
	}
	f := bs.ft.find(*pos)
	if err := bs.frames(f, f); err != nil {
		return 0, err
	}
	n, w := binary.Uvarint(bs.sc.body[*pos:bs.ft.ends[f]])
	if w <= 0 || n > uint64(bs.size) {
		return 0, fmt.Errorf("%w: length at %d", errFrames, *pos)
	}
	*pos += w
	return n, nil
}

// framed reports whether the body is read by frames (span decodes only
// the frames of its bytes).
func (bs *bodyStream) framed() bool { return bs != nil && bs.ft != nil }

// frames decodes frames first..last of a framed body, those not done.
func (bs *bodyStream) frames(first, last int) error {
	for i := first; i <= last; i++ {
		if bs.done[i] {
			continue
		}
		s, e := bs.ft.start(i), bs.ft.ends[i]
		off, cache, hit := bs.src.lookup(bs.ft.frame(i), e-s)
		if hit != "" {
			copy(bs.sc.body[s:e], hit)
			bs.done[i] = true
			continue
		}
		var err error
		if bs.slackFree(i) {
			err = bs.ft.decodeIntoSlack(i, bs.sc.body)
		} else {
			err = bs.ft.decodeInto(i, bs.sc.body)
		}
		if err != nil {
			return err
		}
		bs.done[i] = true
		if cache {
			bs.src.put(off, bs.sc.body[s:e])
		}
	}
	return nil
}

// slackFree reports whether the frameSlack bytes after frame i's may
// be overwritten: no decoded frame starts there (frames are decoded in
// any order, each into its place of the body).
func (bs *bodyStream) slackFree(i int) bool {
	end := bs.ft.ends[i]
	if cap(bs.sc.body) < end+frameSlack {
		return false
	}
	for j := i + 1; j < len(bs.ft.ends) && bs.ft.start(j) < end+frameSlack; j++ {
		if bs.done[j] {
			return false
		}
	}
	return true
}

// bigBodies keeps the large buffers of framed bodies between row-wise
// loads (a row scratch is taken for every column, so the one that held
// a framed body is rarely the next one to need such a buffer).
var bigBodies sync.Pool

// bigBodyMin: row scratch buffers at least this large go to bigBodies.
const bigBodyMin = 128 << 10

// bigBody returns a buffer of capacity at least n (zero length).
func bigBody(n int) []byte {
	if b, ok := bigBodies.Get().(*[]byte); ok {
		if cap(*b) >= n {
			return (*b)[:0]
		}
		// Too small: left to the collector, so that the buffers kept
		// grow to the bodies read instead of each larger body
		// allocating another.
	}
	// A quarter more: the bodies of a store vary in size by less.
	return make([]byte, 0, max(n+n/4, bigBodyMin))
}

// shortError is errShort with the prefix length that would do.
type shortError struct{ need int }

func (e *shortError) Error() string { return fmt.Sprintf("%v: %d bytes needed", errShort, e.need) }
func (e *shortError) Unwrap() error { return errShort }

// parse runs fn on growing prefixes of the body until it no longer
// reports errShort (or the whole body was given). A *shortError says how
// long the next prefix must be; else it doubles.
func (bs *bodyStream) parse(fn func(body string) error) error {
	want := 32 << 10
	for {
		body, err := bs.prefix(want)
		if err != nil {
			return err
		}
		err = fn(body)
		if !errors.Is(err, errShort) || len(body) >= bs.size {
			return err
		}
		want = max(2*want, len(body)+1)
		if se, ok := err.(*shortError); ok && se.need > len(body) {
			want = se.need
		}
	}
}

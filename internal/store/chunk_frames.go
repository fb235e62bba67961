package store

// Framed chunks (codecFramed, part version 5): a compressed body cut into
// independently decodable zstd frames, so that a row-wise load decodes
// only the frames holding the bytes it reads instead of the whole body.
//
// The bodies framed hold items (rows of a plain or template body, the
// variables of a skeleton chunk) as "every item's uvarint length, then
// every item's bytes". The items are cut into groups, and each group has
// two frames: one of its lengths, one of its bytes. So item k is read
// from its group's two frames alone: the lengths frame's varints up to k
// give k's length and the offset of its bytes in the bytes frame.
//
// After the chunk's kind, codec and uvarint body length:
//
//	uvarint ngroups G                     (>= 1)
//	G × uvarint items                     (items per group, >= 1)
//	2G × uvarint rawLen                   (uncompressed bytes of each frame: the G lengths frames, then the G bytes frames)
//	2G × uvarint zLen                     (compressed bytes of each frame; 0 exactly when rawLen is 0)
//	the frames, one zstd frame each, in the same order
//
// The frames decode to the body in order (the rawLens sum to the body
// length). Neither a frame nor the whole body expands more than
// presizeLimit allows (64 times the compressed size plus 64 KiB), so a
// reader can size its buffers from the table without trusting it further. An item's length is its bytes
// (variables) or its bytes+1 with 0 for absent (plain, template).

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/klauspost/compress/zstd"
)

const (
	// frameBytes is the uncompressed size a writer aims at per group
	// (its lengths and bytes).
	frameBytes = 32 << 10
	// frameMinBody: smaller bodies are stored in one frame (codecZstd).
	frameMinBody = 2 * frameBytes
	// maxGroups bounds a table (a body of maxChunkBytes in groups of
	// 16 KiB).
	maxGroups = maxChunkBytes / (16 << 10)
	// maxFrameBytes bounds a frame (a group with a larger item is not
	// framed), and so what a damaged frame can make a reader decode.
	maxFrameBytes = 8 << 20
)

var (
	frameDecOnce sync.Once
	frameDec     *zstd.Decoder
)

// frameDecoder returns the decoder of frames: it never decodes more than
// the room its destination has (decodeFrame gives exactly the frame's
// length), nor more than maxFrameBytes.
func frameDecoder() *zstd.Decoder {
	frameDecOnce.Do(func() {
		var err error
		frameDec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxFrameBytes),
			zstd.WithDecodeAllCapLimit(true), zstd.IgnoreChecksum(true))
		if err != nil {
			panic("BUG: zstd frame decoder: " + err.Error())
		}
	})
	return frameDec
}

// errFrames reports a bad framed body.
var errFrames = errors.New("bad framed body")

// frameWriter holds a writer's buffers (pooled).
type frameWriter struct {
	z     []byte   // the compressed frames
	items []int    // per group
	cuts  []int    // per frame: its uncompressed end
	zlens []int    // per frame
	raws  [][]byte // per frame: its uncompressed bytes (views, cleared after use)
	// per group while grouping: the end of its lengths, its bytes
	lensEnds, sizes []int
}

var frameWriters = sync.Pool{New: func() any { return new(frameWriter) }}

// framedChunk appends kind's chunk of body to dst as codecFramed and
// reports true, or reports false (dst unchanged) when body is better
// stored in one frame: a kind read whole, a small body, a body that is not
// lengths then bytes, or one that frames do not compress (or compress
// beyond presizeLimit).
func framedChunk(dst []byte, kind byte, body []byte, lv level) ([]byte, bool) {
	if len(body) < frameMinBody {
		return dst, false
	}
	return appendFramed(dst, kind, body, lv, frameBytes)
}

// appendFramed is framedChunk with groups of about size bytes, for any
// body length.
func appendFramed(dst []byte, kind byte, body []byte, lv level, size int) ([]byte, bool) {
	plus := kind == kindPlain || kind == kindTemplate
	if !plus && kind != kindSkeleton {
		return dst, false
	}
	fw := frameWriters.Get().(*frameWriter)
	defer frameWriters.Put(fw)
	// For kindSkeleton, a head (not items: a zero length) stays whole.
	if !fw.group(body, plus, size) {
		return dst, false
	}
	raws := fw.raws[:0]
	start := 0
	for _, end := range fw.cuts {
		raws = append(raws, body[start:end])
		start = end
	}
	fw.raws = raws
	out, ok := fw.appendChunk(dst, kind, raws, len(body), lv)
	clear(raws) // keep no view of body in the pool
	return out, ok
}

// appendChunk appends kind's codecFramed chunk of the body of n bytes
// made of raws, the frames' uncompressed bytes (fw.items items per
// group: the lengths frames, then the bytes frames), to dst
// (appendFramed and the skeleton vars writer); false (dst unchanged) when the
// frames do not compress the body or pass presizeLimit.
func (fw *frameWriter) appendChunk(dst []byte, kind byte, raws [][]byte, n int, lv level) ([]byte, bool) {
	initCodecs()
	fw.z, fw.zlens = fw.z[:0], fw.zlens[:0]
	for _, raw := range raws {
		if len(raw) == 0 {
			fw.zlens = append(fw.zlens, 0)
			continue
		}
		at := len(fw.z)
		fw.z = encoders[lv].EncodeAll(raw, fw.z)
		zn := len(fw.z) - at
		if uint64(len(raw)) > presizeLimit(zn) {
			return dst, false
		}
		fw.zlens = append(fw.zlens, zn)
	}
	if len(fw.z)+len(raws)*8 >= n || uint64(n) > presizeLimit(len(fw.z)) {
		return dst, false
	}
	dst = append(dst, kind, codecFramed)
	dst = binary.AppendUvarint(dst, uint64(n))
	dst = binary.AppendUvarint(dst, uint64(len(fw.items)))
	for _, k := range fw.items {
		dst = binary.AppendUvarint(dst, uint64(k))
	}
	for _, raw := range raws {
		dst = binary.AppendUvarint(dst, uint64(len(raw)))
	}
	for _, zn := range fw.zlens {
		dst = binary.AppendUvarint(dst, uint64(zn))
	}
	return append(dst, fw.z...), true
}

// group cuts body (every item's uvarint length, then their bytes; plus:
// lengths are bytes+1, 0 absent) into groups of about size bytes: the
// items per group and the frames' ends (the lengths frames, then the
// bytes frames). False when body is not such a body.
func (fw *frameWriter) group(body []byte, plus bool, size int) bool {
	fw.items, fw.cuts = fw.items[:0], fw.cuts[:0]
	lensEnds, byteSizes := fw.lensEnds[:0], fw.sizes[:0]
	defer func() { fw.lensEnds, fw.sizes = lensEnds, byteSizes }()
	pos, sum := 0, 0 // the lengths read, the bytes they hold
	gItems, gStart, gBytes := 0, 0, 0
	for pos+sum < len(body) {
		n := uint64(body[pos])
		k := 1
		if n >= 0x80 {
			n, k = binary.Uvarint(body[pos:])
			if k <= 0 || n > uint64(len(body)) {
				return false
			}
		}
		if plus && n > 0 {
			n--
		} else if !plus && n == 0 {
			return false
		}
		pos += k
		sum += int(n)
		gItems++
		gBytes += int(n)
		if pos-gStart+gBytes >= size {
			fw.items = append(fw.items, gItems)
			lensEnds, byteSizes = append(lensEnds, pos), append(byteSizes, gBytes)
			gItems, gStart, gBytes = 0, pos, 0
		}
	}
	if pos+sum != len(body) || pos == 0 {
		return false
	}
	for _, n := range byteSizes {
		if n > maxFrameBytes {
			return false // a huge item: its frame would pass the readers' limit
		}
	}
	if gItems > 0 {
		fw.items = append(fw.items, gItems)
		lensEnds, byteSizes = append(lensEnds, pos), append(byteSizes, gBytes)
	}
	fw.cuts = append(fw.cuts, lensEnds...)
	end := pos
	for _, b := range byteSizes {
		end += b
		fw.cuts = append(fw.cuts, end)
	}
	return true
}

// frameTable is the parsed table of a framed body.
type frameTable struct {
	ends     []int // ends[i]: the uncompressed end of frame i (the last: the body's length)
	zends    []int // zends[i]: the end of frame i in frames
	itemEnds []int // itemEnds[g]: the items of groups 0..g
	frames   []byte
}

// parse reads the table of a framed body of n bytes (data follows the
// chunk's body length), checking it against the bytes it describes.
func (ft *frameTable) parse(data []byte, n uint64) error {
	r := reader{s: bytesToString(data)}
	g := r.uvarint()
	if r.err != nil {
		return fmt.Errorf("%w: group count: %w", errFrames, r.err)
	}
	if g == 0 || g > maxGroups || 2*g > n || 2*g > uint64(len(data)) {
		return fmt.Errorf("%w: %d groups for a body of %d bytes", errFrames, g, n)
	}
	ft.itemEnds = growTo(ft.itemEnds, int(g))
	items := 0
	for i := range ft.itemEnds {
		c := r.uvarint()
		if r.err != nil || c == 0 || c > n {
			return fmt.Errorf("%w: group %d: %d items", errFrames, i, c)
		}
		items += int(c)
		ft.itemEnds[i] = items
	}
	nf := int(2 * g)
	ft.ends, ft.zends = growTo(ft.ends, nf), growTo(ft.zends, nf)
	var sum uint64
	for i := range ft.ends {
		l := r.uvarint()
		if r.err != nil || l > n-sum || l == 0 && i < int(g) {
			return fmt.Errorf("%w: frame %d: length %d (%d of %d bytes before it)", errFrames, i, l, sum, n)
		}
		sum += l
		ft.ends[i] = int(sum)
	}
	if sum != n {
		return fmt.Errorf("%w: frames hold %d bytes, body %d", errFrames, sum, n)
	}
	var zsum uint64
	for i := range ft.zends {
		l := r.uvarint()
		if r.err != nil || l > uint64(len(data)) {
			return fmt.Errorf("%w: frame %d: compressed length %d", errFrames, i, l)
		}
		raw := ft.ends[i] - ft.start(i)
		if (l == 0) != (raw == 0) || uint64(raw) > presizeLimit(int(l)) || raw > maxFrameBytes {
			return fmt.Errorf("%w: frame %d: %d bytes from %d compressed", errFrames, i, raw, l)
		}
		zsum += l
		ft.zends[i] = int(zsum)
	}
	if zsum != uint64(len(data)-r.off) {
		return fmt.Errorf("%w: frames of %d compressed bytes, %d left", errFrames, zsum, len(data)-r.off)
	}
	if n > presizeLimit(int(zsum)) {
		return fmt.Errorf("%w: %d bytes from %d compressed", errFrames, n, zsum)
	}
	ft.frames = data[r.off:]
	return nil
}

// start returns the uncompressed offset of frame i.
func (ft *frameTable) start(i int) int {
	if i == 0 {
		return 0
	}
	return ft.ends[i-1]
}

// find returns the frame holding uncompressed byte off (< body length).
func (ft *frameTable) find(off int) int {
	return sort.SearchInts(ft.ends, off+1)
}

// frame returns the compressed bytes of frame i.
func (ft *frameTable) frame(i int) []byte {
	zs := 0
	if i > 0 {
		zs = ft.zends[i-1]
	}
	return ft.frames[zs:ft.zends[i]]
}

// decodeInto decodes frame i into body[start(i):ends[i]] (body holds
// the whole body's length).
func (ft *frameTable) decodeInto(i int, body []byte) error {
	s, e := ft.start(i), ft.ends[i]
	if s == e {
		return nil
	}
	out, err := decodeFrameSlack(ft.frame(i), body[s:s:e], e-s)
	if err != nil {
		return fmt.Errorf("frame %d: %w", i, err)
	}
	if &out[0] != &body[s] {
		copy(body[s:e], out)
	}
	return nil
}

// decodeIntoSlack decodes frame i into body[start(i):ends[i]] (body holds
// the whole body's length) like decodeInto, but may overwrite the
// frameSlack bytes after it, which must be in body's capacity and hold
// nothing yet: the decoder's faster copies then apply.
func (ft *frameTable) decodeIntoSlack(i int, body []byte) error {
	s, e := ft.start(i), ft.ends[i]
	if s == e {
		return nil
	}
	out, err := decodeFrameSlack(ft.frame(i), body[s:s:e+frameSlack], e-s)
	if err != nil {
		return fmt.Errorf("frame %d: %w", i, err)
	}
	if &out[0] != &body[s] {
		copy(body[s:e], out)
	}
	return nil
}

// frameSlack is the room past a frame's bytes that lets the zstd
// decoder use its block copies (16 bytes at a time, overrunning the
// end of a literal run or match) instead of its exact ones: without it
// (a destination whose capacity ends at the frame's end) every
// sequence is copied byte-exact, about half as fast. It is
// compressedBlockOverAlloc of klauspost/compress/zstd.
const frameSlack = 32

// decodeFrame appends the decoded frame to dst, which must then hold
// exactly want more bytes. A frame that says it holds another size is
// refused before it is decoded, and one that holds more stops at want+1.
// It may overwrite up to frameSlack bytes of dst's capacity past the
// frame (growing dst to have them).
func decodeFrame(frame, dst []byte, want int) ([]byte, error) {
	if want == 0 {
		return dst, nil
	}
	if cap(dst)-len(dst) < want+frameSlack {
		dst = slices.Grow(dst, want+frameSlack)
	}
	n := len(dst)
	out, err := decodeFrameSlack(frame, dst[:n:n+want+frameSlack], want)
	if err != nil {
		return dst, err
	}
	// out is dst's array (it had the room) but capped at the frame's
	// slack: dst's view keeps the rest of the capacity, so that the next
	// frame appended (decodeFramesTo) does not grow a copy each time.
	return dst[:len(out)], nil
}

// decodeFrameSlack is decodeFrame into dst's capacity as it is: the
// bytes past want up to it may be overwritten (frameSlack of them let
// the decoder use its faster copies; fewer, its exact ones).
func decodeFrameSlack(frame, dst []byte, want int) ([]byte, error) {
	if want == 0 {
		return dst, nil
	}
	if cap(dst)-len(dst) < want {
		dst = slices.Grow(dst, want)
	}
	n := len(dst)
	full := dst[:n+want] // the room the frame decodes into
	var h zstd.Header
	if err := h.Decode(frame); err != nil {
		return dst, fmt.Errorf("zstd: %w", err)
	}
	if h.HasFCS && h.FrameContentSize != uint64(want) {
		return dst, fmt.Errorf("%w: frame of %d bytes, want %d", errFrames, h.FrameContentSize, want)
	}
	if !h.SingleSegment && h.WindowSize > uint64(max(want, 1<<20)) {
		// A window larger than the frame would only cost memory.
		return dst, fmt.Errorf("%w: frame window of %d bytes for %d", errFrames, h.WindowSize, want)
	}
	// With the capacity limited to the frame and its slack, the decoder
	// stops there (WithDecodeAllCapLimit) and never moves the bytes.
	out, err := frameDecoder().DecodeAll(frame, dst[:n:min(cap(dst), n+want+frameSlack)])
	if err != nil {
		return dst, fmt.Errorf("zstd: %w", err)
	}
	if len(out)-n != want {
		return dst, fmt.Errorf("%w: decoded %d bytes, want %d", errFrames, len(out)-n, want)
	}
	if &out[n] != &full[n] {
		copy(full[n:], out[n:])
	}
	return full, nil
}

// unframeBody decodes a whole codecFramed body of n bytes (data follows
// the chunk's length) into sc's buffer, like chunkBodyTo.
func unframeBody(kind byte, data []byte, n uint64, sc *colScratch) (byte, string, error) {
	var ft frameTable
	if err := ft.parse(data, n); err != nil {
		return 0, "", err
	}
	body, err := decodeFramesTo(sc, n, len(ft.ends), func(i int, dst []byte) ([]byte, error) {
		out, err := decodeFrame(ft.frame(i), dst, ft.ends[i]-ft.start(i))
		if err != nil {
			return dst, fmt.Errorf("frame %d: %w", i, err)
		}
		return out, nil
	})
	if err != nil {
		return 0, "", err
	}
	return kind, body, nil
}

// decodeFramesTo decodes a body of n bytes made of count frames, each
// appended in order by decode, into sc's buffer (when sc is not nil),
// like chunkBodyTo; n is bounded by the frames' sizes (the tables' parse).
func decodeFramesTo(sc *colScratch, n uint64, count int, decode func(i int, dst []byte) ([]byte, error)) (string, error) {
	var dst []byte
	if sc != nil {
		dst = sc.body[:0]
	}
	if uint64(cap(dst)) < n+frameSlack {
		dst = make([]byte, 0, n+frameSlack)
	}
	for i := range count {
		var err error
		if dst, err = decode(i, dst); err != nil {
			return "", err
		}
	}
	if sc != nil {
		sc.body = dst
	}
	return bytesToString(dst), nil
}

// checkFramed checks the frame table of a chunk (verify): nil unless the
// chunk is framed and its table or a frame's header is bad.
func checkFramed(chunk []byte) error {
	if len(chunk) < 2 || chunk[1] != codecFramed {
		return nil
	}
	n, k := binary.Uvarint(chunk[2:])
	if k <= 0 || n > maxChunkBytes {
		return errors.New("bad body length")
	}
	var ft frameTable
	if err := ft.parse(chunk[2+k:], n); err != nil {
		return err
	}
	for i := range ft.ends {
		if ft.ends[i] == ft.start(i) {
			continue // an empty bytes frame
		}
		var h zstd.Header
		if err := h.Decode(ft.frame(i)); err != nil {
			return fmt.Errorf("%w: frame %d: zstd: %w", errFrames, i, err)
		}
		if want := ft.ends[i] - ft.start(i); h.HasFCS && h.FrameContentSize != uint64(want) {
			return fmt.Errorf("%w: frame %d holds %d bytes, table says %d", errFrames, i, h.FrameContentSize, want)
		}
	}
	return nil
}

// checkChunkFrames checks the frame tables of a column chunk and, for a
// kindSkeleton chunk, of its head and variables (verify).
func checkChunkFrames(ch []byte) error {
	if len(ch) < 2 {
		return nil
	}
	if ch[0] != kindSkeleton || ch[1] != codecNone {
		return checkFramed(ch)
	}
	_, k := binary.Uvarint(ch[2:])
	if k <= 0 {
		return nil // reported by loads
	}
	body := ch[2+k:]
	hl, k := binary.Uvarint(body)
	if k <= 0 || hl > uint64(len(body)-k) {
		return nil
	}
	if err := checkFramed(body[k : k+int(hl)]); err != nil {
		return fmt.Errorf("skeleton head: %w", err)
	}
	if err := checkGroupedHead(body[k : k+int(hl)]); err != nil {
		return fmt.Errorf("skeleton head: %w", err)
	}
	if err := checkFramed(body[k+int(hl):]); err != nil {
		return fmt.Errorf("skeleton variables: %w", err)
	}
	return nil
}

package evtx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strconv"
	"sync"

	"github.com/mamori/mamori/internal/event"
)

const (
	fileHeaderSize = 4096
	chunkSize      = 65536
	chunkHeader    = 512
)

var (
	fileMagic  = []byte("ElfFile\x00")
	chunkMagic = []byte("ElfChnk\x00")
)

// ErrNotEVTX is returned by Open for a file without the EVTX signature.
var ErrNotEVTX = errors.New("not an evtx file")

// CorruptError reports damaged data; reading continues after it.
type CorruptError struct {
	Chunk  int   // chunk number (0-based)
	Offset int64 // file offset of the damaged chunk or record
	Msg    string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("evtx chunk %d at offset %d: %s", e.Chunk, e.Offset, e.Msg)
}

// Record is one event record.
type Record struct {
	// RecordID is the record's EventRecordID (what Event Viewer and
	// evtx_dump show); it falls back to the record header's number.
	RecordID uint64
	// Number is the record number from the record header, which differs
	// from EventRecordID in files that were exported or rewritten.
	Number  uint64
	Written int64 // Unix nanoseconds from the record header
	Event   event.Event
}

// Reader reads records from an EVTX file.
type Reader struct {
	r       io.ReaderAt
	closer  io.Closer
	size    int64
	chunk   []byte   // the scratch's chunk buffer while a chunk is loaded
	s       *scratch // pooled buffers, held between the first chunk and EOF
	nchunk  int      // chunk currently loaded (-1 none)
	next    int      // next chunk to load
	pos     int      // next record offset inside the chunk
	end     int      // end of record data inside the chunk
	fatal   bool
	warned  bool
	dataBad bool
}

// Open opens an EVTX file.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path) // #nosec G304 -- reading the EVTX files the operator names is this function's job
	if err != nil {
		return nil, fmt.Errorf("open evtx: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open evtx: %w", err)
	}
	r, err := NewReader(f, fi.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open evtx %s: %w", path, err)
	}
	r.closer = f
	return r, nil
}

// NewReader reads EVTX data of the given size from r.
func NewReader(r io.ReaderAt, size int64) (*Reader, error) {
	hdr := make([]byte, 128)
	if _, err := r.ReadAt(hdr, 0); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, ErrNotEVTX
		}
		return nil, fmt.Errorf("read file header: %w", err)
	}
	if !bytes.Equal(hdr[:8], fileMagic) {
		return nil, ErrNotEVTX
	}
	return &Reader{r: r, size: size, nchunk: -1}, nil
}

// scratch is a Reader's chunk buffer and parser state. Scratches are pooled:
// a new 64 KiB buffer per file (zeroed by the allocator) and the per-record
// scratch would otherwise dominate the cost of small files. Records never
// point into a scratch.
type scratch struct {
	chunk [chunkSize]byte
	p     parser
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// release returns the scratch to the pool (at the end of the input).
func (r *Reader) release() {
	if r.s == nil {
		return
	}
	r.s.p.c = nil
	scratchPool.Put(r.s)
	r.s, r.chunk = nil, nil
}

// Size is the size of the input in bytes.
func (r *Reader) Size() int64 { return r.size }

// Close closes the file opened by Open.
func (r *Reader) Close() error {
	r.release()
	r.nchunk, r.pos, r.end = -1, 0, 0
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

// Fatal reports whether the last error from Next ends the reading.
func (r *Reader) Fatal() bool { return r.fatal }

// Next returns the next record, io.EOF at the end, a *CorruptError for
// damaged data (call Next again to go on), or another error that ends the
// reading.
func (r *Reader) Next() (Record, error) {
	for {
		if r.fatal {
			return Record{}, io.EOF
		}
		if r.nchunk < 0 || r.pos >= r.end {
			ok, err := r.loadChunk()
			if err != nil {
				return Record{}, err
			}
			if !ok {
				r.release()
				return Record{}, io.EOF
			}
			continue
		}
		rec, ok, err := r.record()
		if err != nil {
			return Record{}, err
		}
		if ok {
			return rec, nil
		}
	}
}

// loadChunk loads the next chunk that has records. It returns false at the
// end of the file.
func (r *Reader) loadChunk() (bool, error) {
	for {
		off := int64(fileHeaderSize) + int64(r.next)*chunkSize
		if off+chunkHeader > r.size {
			return false, nil
		}
		if r.s == nil {
			r.s = scratchPool.Get().(*scratch)
			r.chunk = r.s.chunk[:]
		}
		n := r.next
		r.next++
		r.nchunk = n
		r.pos, r.end = 0, 0
		c := r.chunk[:min(int64(chunkSize), r.size-off)]
		got, err := r.r.ReadAt(c, off)
		if err != nil && !errors.Is(err, io.EOF) {
			r.fatal = true
			r.release()
			return false, fmt.Errorf("read evtx chunk %d: %w", n, err)
		}
		// The buffer is reused: clear what this chunk did not fill.
		clear(r.chunk[max(0, min(got, chunkSize)):])
		if isZero(r.chunk[:8]) {
			continue // preallocated, never used
		}
		if !bytes.Equal(r.chunk[:8], chunkMagic) {
			return false, &CorruptError{Chunk: n, Offset: off, Msg: "bad chunk signature"}
		}
		h := crc32.NewIEEE()
		h.Write(r.chunk[:120])
		h.Write(r.chunk[128:chunkHeader])
		if h.Sum32() != binary.LittleEndian.Uint32(r.chunk[124:]) {
			return false, &CorruptError{Chunk: n, Offset: off, Msg: "chunk header checksum mismatch"}
		}
		free := int(binary.LittleEndian.Uint32(r.chunk[48:]))
		if free < chunkHeader || free > chunkSize {
			return false, &CorruptError{Chunk: n, Offset: off, Msg: fmt.Sprintf("free space offset %d out of range", free)}
		}
		r.s.p.reset(r.chunk)
		r.pos, r.end = chunkHeader, free
		if crc32.ChecksumIEEE(r.chunk[chunkHeader:free]) != binary.LittleEndian.Uint32(r.chunk[52:]) {
			// The records may still be fine (a file copied while being
			// written); each record is checked on its own.
			return true, &CorruptError{Chunk: n, Offset: off, Msg: "event records checksum mismatch (records are still read)"}
		}
		return true, nil
	}
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// record parses the record at r.pos. It returns false and no error when the
// chunk has no more records.
func (r *Reader) record() (Record, bool, error) {
	c := r.chunk
	start := r.pos
	off := int64(fileHeaderSize) + int64(r.nchunk)*chunkSize + int64(start)
	if start+28 > r.end || !bytes.Equal(c[start:start+4], []byte{0x2a, 0x2a, 0, 0}) {
		r.pos = r.end
		if start+4 <= r.end && !isZero(c[start:start+4]) {
			return Record{}, false, &CorruptError{Chunk: r.nchunk, Offset: off, Msg: "bad record signature; rest of chunk skipped"}
		}
		return Record{}, false, nil
	}
	size := int(binary.LittleEndian.Uint32(c[start+4:]))
	if size < 28 || start+size > r.end || binary.LittleEndian.Uint32(c[start+size-4:]) != uint32(size) {
		r.pos = r.end
		return Record{}, false, &CorruptError{Chunk: r.nchunk, Offset: off, Msg: fmt.Sprintf("bad record size %d; rest of chunk skipped", size)}
	}
	r.pos = start + size
	rec := Record{
		Number:  binary.LittleEndian.Uint64(c[start+8:]),
		Written: filetimeNanos(binary.LittleEndian.Uint64(c[start+16:])),
	}
	p := &r.s.p
	root, err := p.document(start+24, start+size-4)
	if err != nil {
		return Record{}, false, &CorruptError{Chunk: r.nchunk, Offset: off, Msg: fmt.Sprintf("record %d: %v", rec.RecordID, err)}
	}
	rec.Event.Fields = p.flatten(root)
	rec.Event.Time = rec.Written
	rec.RecordID = rec.Number
	for _, f := range rec.Event.Fields {
		switch f.Name {
		case "Event.System.TimeCreated.#attributes.SystemTime":
			if ns, ok := event.ParseTime(f.Value); ok {
				rec.Event.Time = ns
			}
		case "Event.System.EventRecordID":
			if id, err := strconv.ParseUint(f.Value, 10, 64); err == nil {
				rec.RecordID = id
			}
		}
	}
	return rec, true, nil
}

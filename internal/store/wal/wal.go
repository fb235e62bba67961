package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Segment file layout: an 8-byte magic, then frames:
//
//	u32 payload length | u32 CRC-32C of (lsn, payload) | u64 lsn | payload
const (
	magic     = "MAMWAL01"
	frameHead = 16
	// MaxRecord is the largest payload Write accepts.
	MaxRecord = 256 << 20
	ext       = ".wal"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt is wrapped by errors about damaged segments (not a torn tail).
var ErrCorrupt = errors.New("wal corrupt")

// Options configure a WAL. The zero value is valid.
type Options struct {
	// SegmentBytes starts a new segment file after this size; default 64 MiB.
	SegmentBytes int64
	// Logger receives lifecycle messages; nil discards.
	Logger *slog.Logger
}

type segment struct {
	seq     uint64
	path    string
	lastLSN uint64 // 0 when empty
}

// WAL is an open write-ahead log.
type WAL struct {
	dir  string
	opts Options
	log  *slog.Logger

	syncMu sync.Mutex // serializes fsyncs; guards synced
	synced int64      // logical bytes known durable

	mu      sync.Mutex // guards the fields below
	f       *os.File
	size    int64 // bytes in the current segment
	segs    []segment
	nextLSN uint64
	written int64 // logical bytes written across segments
	retired []*os.File
	closed  bool
	buf     []byte

	fsyncs   atomic.Uint64
	fsyncDur atomic.Int64 // ns, sum
	// Observe, when set, is called with each fsync's duration (for metrics).
	observe func(time.Duration)
}

// Replayed describes the result of Open's replay.
type Replayed struct {
	Records   int
	LastLSN   uint64
	TornBytes int64  // bytes cut from the tail of the last segment
	TornFile  string // the segment that was cut, if any
}

// Open opens (creating if needed) the log in dir, calls fn for every record
// whose LSN is greater than after, in order, and prepares for appends. The
// payload passed to fn is only valid during the call. A torn or corrupt
// tail of the last segment is cut; damage in an earlier segment is an error
// wrapping ErrCorrupt.
func Open(dir string, after uint64, opts Options, fn func(lsn uint64, payload []byte) error) (*WAL, Replayed, error) {
	var rep Replayed
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = 64 << 20
	}
	w := &WAL{dir: dir, opts: opts, log: opts.Logger}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, rep, fmt.Errorf("open wal: %w", err)
	}
	segs, err := listSegments(dir)
	if err != nil {
		return nil, rep, fmt.Errorf("open wal: %w", err)
	}
	last := after
	for i := range segs {
		isLast := i == len(segs)-1
		res, err := scanSegment(segs[i].path, func(lsn uint64, p []byte) error {
			if lsn <= last && lsn <= after {
				return nil
			}
			if lsn <= last {
				return fmt.Errorf("lsn %d not after %d: %w", lsn, last, ErrCorrupt)
			}
			last = lsn
			rep.Records++
			if fn != nil {
				return fn(lsn, p)
			}
			return nil
		})
		segs[i].lastLSN = res.lastLSN
		if err != nil {
			return nil, rep, fmt.Errorf("replay %s: %w", segs[i].path, err)
		}
		if res.bad != nil {
			if !isLast {
				return nil, rep, fmt.Errorf("replay %s at offset %d: %v: %w", segs[i].path, res.good, res.bad, ErrCorrupt)
			}
			rep.TornBytes = res.size - res.good
			rep.TornFile = segs[i].path
			w.log.Warn("wal torn tail cut", "file", segs[i].path, "offset", res.good, "bytes", rep.TornBytes, "why", res.bad.Error())
			if err := os.Truncate(segs[i].path, res.good); err != nil {
				return nil, rep, fmt.Errorf("cut torn wal tail: %w", err)
			}
		}
	}
	rep.LastLSN = last
	w.nextLSN = last + 1
	w.segs = segs
	if len(segs) == 0 {
		if err := w.newSegment(1); err != nil {
			return nil, rep, err
		}
	} else {
		s := segs[len(segs)-1]
		f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return nil, rep, fmt.Errorf("open wal: %w", err)
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, rep, fmt.Errorf("open wal: %w", err)
		}
		w.f, w.size = f, st.Size()
		if w.size < int64(len(magic)) { // created but header lost: rewrite it
			if err := f.Truncate(0); err != nil {
				f.Close()
				return nil, rep, fmt.Errorf("open wal: %w", err)
			}
			if _, err := f.Write([]byte(magic)); err != nil {
				f.Close()
				return nil, rep, fmt.Errorf("open wal: %w", err)
			}
			w.size = int64(len(magic))
		}
	}
	return w, rep, nil
}

// SetObserver sets a function called with each fsync's duration. Call it
// before concurrent use.
func (w *WAL) SetObserver(fn func(time.Duration)) { w.observe = fn }

func segName(seq uint64) string { return fmt.Sprintf("%016x%s", seq, ext) }

func listSegments(dir string) ([]segment, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []segment
	for _, e := range ents {
		n := e.Name()
		if !strings.HasSuffix(n, ext) || e.IsDir() {
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(n, ext), 16, 64)
		if err != nil {
			continue
		}
		segs = append(segs, segment{seq: seq, path: filepath.Join(dir, n)})
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].seq < segs[j].seq })
	return segs, nil
}

// newSegment creates segment seq and makes it current. Caller holds mu (or
// has exclusive access).
func (w *WAL) newSegment(seq uint64) error {
	p := filepath.Join(w.dir, segName(seq))
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600) // #nosec G304 -- a segment path the WAL names itself
	if err != nil {
		return fmt.Errorf("create wal segment: %w", err)
	}
	if _, err := f.Write([]byte(magic)); err != nil {
		f.Close()
		return fmt.Errorf("create wal segment: %w", err)
	}
	if err := syncDir(w.dir); err != nil {
		f.Close()
		return fmt.Errorf("create wal segment: %w", err)
	}
	w.f, w.size = f, int64(len(magic))
	w.segs = append(w.segs, segment{seq: seq, path: p})
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir) // #nosec G304 -- the WAL's own directory
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Write appends one record and returns its LSN and the logical position to
// pass to Sync. The record is not durable until Sync(pos) returns nil.
func (w *WAL) Write(payload []byte) (lsn uint64, pos int64, err error) {
	if len(payload) > MaxRecord {
		return 0, 0, fmt.Errorf("wal write: record of %d bytes exceeds %d", len(payload), MaxRecord)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, 0, errors.New("wal write: closed")
	}
	if w.size >= w.opts.SegmentBytes {
		if err := w.rotate(); err != nil {
			return 0, 0, err
		}
	}
	lsn = w.nextLSN
	var head [frameHead]byte
	binary.LittleEndian.PutUint32(head[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint64(head[8:16], lsn)
	crc := crc32.Update(crc32.Checksum(head[8:16], castagnoli), castagnoli, payload)
	binary.LittleEndian.PutUint32(head[4:8], crc)
	// Small records go out in one write; large ones in two, sparing a copy
	// (a frame torn between them fails its checksum like any torn frame).
	var err2 error
	if len(payload) <= 64<<10 {
		b := append(append(w.buf[:0], head[:]...), payload...)
		w.buf = b[:0]
		_, err2 = w.f.Write(b)
	} else if _, err2 = w.f.Write(head[:]); err2 == nil {
		_, err2 = w.f.Write(payload)
	}
	if err := err2; err != nil {
		// The file may now hold a partial frame: later frames would sit
		// behind garbage. Start a new segment so replay stays clean.
		w.log.Error("wal write failed", "err", err)
		if rerr := w.rotate(); rerr != nil {
			w.log.Error("wal rotate after failed write", "err", rerr)
		}
		return 0, 0, fmt.Errorf("wal write: %w", err)
	}
	w.nextLSN++
	w.size += int64(frameHead + len(payload))
	w.written += int64(frameHead + len(payload))
	w.segs[len(w.segs)-1].lastLSN = lsn
	return lsn, w.written, nil
}

// rotate syncs the current segment and starts the next. Caller holds mu.
func (w *WAL) rotate() error {
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("wal rotate: %w", err)
	}
	w.retired = append(w.retired, w.f)
	return w.newSegment(w.segs[len(w.segs)-1].seq + 1)
}

// Sync makes every record up to logical position pos durable. Concurrent
// callers share fsyncs: one caller syncs for everyone written so far.
func (w *WAL) Sync(pos int64) error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	if w.synced >= pos {
		return nil
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return errors.New("wal sync: closed")
	}
	f, target, retired := w.f, w.written, w.retired
	w.retired = nil
	w.mu.Unlock()
	start := time.Now()
	err := f.Sync()
	d := time.Since(start)
	w.fsyncs.Add(1)
	w.fsyncDur.Add(int64(d))
	if w.observe != nil {
		w.observe(d)
	}
	for _, r := range retired {
		if cerr := r.Close(); cerr != nil {
			w.log.Warn("close retired wal segment", "err", cerr)
		}
	}
	if err != nil {
		return fmt.Errorf("wal sync: %w", err)
	}
	w.synced = target
	return nil
}

// SyncAll makes everything written so far durable.
func (w *WAL) SyncAll() error {
	w.mu.Lock()
	pos := w.written
	w.mu.Unlock()
	return w.Sync(pos)
}

// Truncate deletes the segments whose records all have LSN <= through.
// When that covers the current segment too and it holds more than a
// sixteenth of SegmentBytes, a new current segment is started first, so
// a store that stops receiving does not keep a segment of records that
// are all in parts (up to SegmentBytes of disk).
func (w *WAL) Truncate(through uint64) error {
	w.mu.Lock()
	if n := len(w.segs); n > 0 && !w.closed {
		cur := w.segs[n-1]
		if cur.lastLSN != 0 && cur.lastLSN <= through && w.size > w.opts.SegmentBytes/16 {
			if err := w.rotate(); err != nil {
				w.mu.Unlock()
				return fmt.Errorf("wal truncate: %w", err)
			}
		}
	}
	var del []segment
	keep := w.segs[:0:0]
	for i, s := range w.segs {
		if i < len(w.segs)-1 && s.lastLSN <= through {
			del = append(del, s)
			continue
		}
		keep = append(keep, s)
	}
	w.segs = keep
	w.mu.Unlock()
	var errs []error
	for _, s := range del {
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("wal truncate: %w", err)
	}
	return nil
}

// Stats are counters of the log.
type Stats struct {
	Fsyncs       uint64
	FsyncSeconds float64
	Segments     int
	LastLSN      uint64
}

// Stats returns the log's counters.
func (w *WAL) Stats() Stats {
	w.mu.Lock()
	n, last := len(w.segs), w.nextLSN-1
	w.mu.Unlock()
	return Stats{Fsyncs: w.fsyncs.Load(), FsyncSeconds: float64(w.fsyncDur.Load()) / 1e9, Segments: n, LastLSN: last}
}

// Close syncs and closes the log.
func (w *WAL) Close() error {
	serr := w.SyncAll()
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	errs := []error{serr}
	for _, r := range w.retired {
		errs = append(errs, r.Close())
	}
	errs = append(errs, w.f.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close wal: %w", err)
	}
	return nil
}

type scanResult struct {
	good    int64 // offset after the last good frame
	size    int64
	lastLSN uint64
	bad     error // why scanning stopped early, nil at a clean end
}

// scanSegment reads frames from path, calling fn for each good one. It
// stops at the first bad frame and reports where in scanResult. An error
// is returned only for I/O failures or when fn fails.
func scanSegment(path string, fn func(lsn uint64, p []byte) error) (scanResult, error) {
	var res scanResult
	f, err := os.Open(path) // #nosec G304 -- a segment of the WAL's own directory
	if err != nil {
		return res, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return res, err
	}
	res.size = st.Size()
	r := bufio.NewReaderSize(f, 1<<20)
	var head [frameHead]byte
	if _, err := io.ReadFull(r, head[:len(magic)]); err != nil || string(head[:len(magic)]) != magic {
		res.bad = errors.New("bad or missing segment header")
		return res, nil
	}
	res.good = int64(len(magic))
	var p []byte
	for {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			if err != io.EOF {
				res.bad = fmt.Errorf("short frame header: %w", err)
			}
			return res, nil
		}
		n := binary.LittleEndian.Uint32(head[0:4])
		if n > MaxRecord || res.good+frameHead+int64(n) > res.size {
			res.bad = fmt.Errorf("frame length %d past end of file", n)
			return res, nil
		}
		if cap(p) < int(n) {
			p = make([]byte, n)
		}
		p = p[:n]
		if _, err := io.ReadFull(r, p); err != nil {
			res.bad = fmt.Errorf("short frame: %w", err)
			return res, nil
		}
		crc := crc32.Update(crc32.Checksum(head[8:16], castagnoli), castagnoli, p)
		if crc != binary.LittleEndian.Uint32(head[4:8]) {
			res.bad = errors.New("frame checksum mismatch")
			return res, nil
		}
		lsn := binary.LittleEndian.Uint64(head[8:16])
		if err := fn(lsn, p); err != nil {
			return res, err
		}
		res.lastLSN = lsn
		res.good += frameHead + int64(n)
	}
}

// Problem is one finding of Check.
type Problem struct {
	File   string
	Offset int64
	What   string
	// Torn is true for damage confined to the tail of the last segment,
	// the expected result of a crash during a write (Open cuts it).
	Torn bool
}

// Check reads every segment in dir without changing anything and reports
// damaged frames and LSN order violations.
func Check(dir string) ([]Problem, error) {
	segs, err := listSegments(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("check wal: %w", err)
	}
	var probs []Problem
	var last uint64
	for i, s := range segs {
		res, err := scanSegment(s.path, func(lsn uint64, p []byte) error {
			if lsn <= last {
				probs = append(probs, Problem{File: s.path, What: fmt.Sprintf("lsn %d not after %d", lsn, last)})
			}
			last = lsn
			return nil
		})
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted by a live store after its records reached parts
		}
		if err != nil {
			return probs, fmt.Errorf("check wal %s: %w", s.path, err)
		}
		if res.bad != nil {
			probs = append(probs, Problem{File: s.path, Offset: res.good, What: res.bad.Error(), Torn: i == len(segs)-1})
		}
	}
	return probs, nil
}

// AbandonForTest closes the files without syncing, as a crash would leave
// them (data already written stays in the OS page cache). Tests only.
func (w *WAL) AbandonForTest() {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	for _, r := range w.retired {
		r.Close()
	}
	w.f.Close()
}

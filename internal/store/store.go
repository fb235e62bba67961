package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store/wal"
)

const (
	walDir   = "wal"
	partsDir = "parts"
)

// Store is the embedded log store. It implements Engine.
//
// Lock order: flushMu, then appendMu, then mu, then a memtable's mu.
type Store struct {
	opts Options
	log  *slog.Logger
	dir  string
	wal  *wal.WAL
	man  *manifest
	ckpt *checkpointer                   // signs the manifest's head; nil without Options.CheckpointKey
	pol  atomic.Pointer[retentionPolicy] // set by SetRetention; nil: the Options' policy

	appendMu sync.Mutex // orders WAL writes with memtable inserts; guards mem's contents' LSN
	flushMu  sync.Mutex // serializes flushes (manifest WAL positions must rise)
	mergeMu  sync.Mutex // serializes merges and retention

	mu       sync.Mutex // guards parts, mem, flushing, closed
	parts    map[string]*part
	mem      *memtable
	flushing []*memtable
	closed   bool

	flushNow chan struct{}
	// mergeNow wakes the maintainer early (a burst of appends has
	// stopped: its last tiers may merge, see mergeIdle).
	mergeNow chan struct{}
	// flushed is closed (and replaced) whenever a flush frees buffer
	// memory; guarded by mu. Appends waiting for room select on it.
	flushed chan struct{}
	done    chan struct{}
	// flushHook, when set (tests only), runs before a memtable is written
	// and can fail the flush.
	flushHook func() error
	wg        sync.WaitGroup
	m         counters
	// lastAppend is the Unix ns time of the last Append that stored
	// events (for the idle flush).
	lastAppend atomic.Int64
	// appending counts Appends in progress (also those waiting for room):
	// a store with one is not idle.
	appending atomic.Int64
	// lastFlush is when a flush last added a part to each partition-day
	// (Options.Now, Unix ns; guarded by mu); openedAt stands in for days
	// not flushed since Open.
	lastFlush map[partDay]int64
	openedAt  int64
}

var _ Engine = (*Store)(nil)

// Open opens or creates the store in opts.Dir: it replays the manifest,
// opens the live parts, removes files no commit references (the leftovers
// of a crash), replays the WAL past the manifest's position, and starts the
// background flusher and maintainer.
func Open(opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	opts = opts.withDefaults()
	if opts.BodyCacheBytes != 0 {
		SetBodyCacheBytes(opts.BodyCacheBytes)
	}
	s := &Store{opts: opts, log: opts.Logger, dir: opts.Dir, parts: map[string]*part{},
		mem: newMemtable(opts.BlockRows), flushNow: make(chan struct{}, 1), mergeNow: make(chan struct{}, 1), flushed: make(chan struct{}),
		done: make(chan struct{}), lastFlush: map[partDay]int64{}, openedAt: opts.Now().UnixNano()}
	s.m.init()
	if err := os.MkdirAll(filepath.Join(s.dir, partsDir), 0o750); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	man, err := openManifest(s.dir)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.man = man
	if s.ckpt, err = openCheckpointer(s.dir, opts, man); err != nil {
		man.close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := s.openParts(); err != nil {
		s.closeParts()
		man.close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.removeOrphans()
	after := man.walLSN()
	replayed := 0
	w, rep, err := wal.Open(filepath.Join(s.dir, walDir), after, wal.Options{SegmentBytes: opts.WALSegmentBytes, Logger: s.log},
		func(lsn uint64, p []byte) error {
			payload := string(p)
			evs, offs, err := decodeBatchAt(payload, true)
			if err != nil {
				return fmt.Errorf("wal record %d: %w", lsn, err)
			}
			parts := make([]string, len(evs))
			for i := range evs {
				parts[i] = evs[i].Partition
			}
			s.mem.insert(payload, evs, parts, offs)
			s.mem.maxLSN = lsn
			replayed += len(evs)
			return nil
		})
	if err != nil {
		s.closeParts()
		man.close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.wal = w
	w.SetObserver(s.m.observeFsync)
	if s.mem.maxLSN == 0 {
		s.mem.maxLSN = max(after, rep.LastLSN)
	}
	s.log.Info("store opened", "dir", s.dir, "parts", len(s.parts), "wal_records", rep.Records, "events_replayed", replayed, "wal_torn_bytes", rep.TornBytes)
	if replayed > 0 {
		s.nudgeFlush() // get replayed events into parts soon
	}
	s.wg.Add(1)
	go s.flushLoop()
	if s.opts.MaintainInterval >= 0 {
		// mergeNow: a burst has ended, its last tiers may merge now.
		s.every(s.opts.MaintainInterval, s.mergeNow, s.maintain)
	}
	if s.ckpt != nil {
		s.every(s.ckpt.every, nil, func() {
			if err := s.ckpt.write(s.man); err != nil {
				s.log.Error("checkpoint failed", "err", err)
			}
		})
	}
	if opts.Sync == SyncInterval {
		s.every(s.opts.FsyncInterval, nil, func() {
			if err := s.wal.SyncAll(); err != nil {
				s.log.Error("wal sync failed", "err", err)
			}
		})
	}
	return s, nil
}

// every runs fn every d, and whenever wake (nil: never) receives, on
// its own goroutine until Close.
func (s *Store) every(d time.Duration, wake <-chan struct{}, fn func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
			case <-wake:
			}
			fn()
		}
	}()
}

func (s *Store) openParts() error {
	for _, info := range s.man.liveParts() {
		p, err := openPart(filepath.Join(s.dir, partsDir, filepath.FromSlash(info.Name)), info)
		if err != nil {
			return err
		}
		p.info.Name, p.info.CRC, p.info.Size = info.Name, info.CRC, info.Size
		s.parts[info.Name] = p
	}
	return nil
}

// removeOrphans deletes part files no live commit references: parts
// written before a crash but never committed, and removed parts whose
// deletion was interrupted.
func (s *Store) removeOrphans() {
	root := filepath.Join(s.dir, partsDir)
	_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error { // errors: best effort cleanup
		if err != nil || d.IsDir() {
			return nil
		}
		rel, rerr := filepath.Rel(root, path)
		if rerr != nil {
			return nil
		}
		if _, ok := s.parts[filepath.ToSlash(rel)]; ok {
			return nil
		}
		if strings.HasSuffix(path, partExt) || strings.HasSuffix(path, partExt+".tmp") {
			s.log.Warn("removing unreferenced part file", "file", path)
			if err := os.Remove(path); err != nil { // #nosec G122 -- the parts folder belongs to the store; only files matching the part names are removed
				s.log.Warn("remove unreferenced part file", "file", path, "err", err)
			}
		}
		return nil
	})
}

// partName returns the manifest name of a new part.
func partName(partition string, day int64, id uint64) string {
	return fmt.Sprintf("%s/%s/%016x%s", partition, time.Unix(day*86400, 0).UTC().Format("20060102"), id, partExt)
}

// partID parses the id out of a part name (0 when malformed).
func partID(name string) uint64 {
	base := name[strings.LastIndexByte(name, '/')+1:]
	id, err := strconv.ParseUint(strings.TrimSuffix(base, partExt), 16, 64)
	if err != nil {
		return 0
	}
	return id
}

func dayOf(t int64) int64 {
	d := t / (86400 * 1e9)
	if t < 0 && t%(86400*1e9) != 0 {
		d--
	}
	return d
}

// Append makes events durable in the WAL and visible to searches. Events
// without a Partition are routed. It returns ErrOverloaded when the
// in-memory buffer is full; nothing of the batch is then stored.
func (s *Store) Append(ctx context.Context, events []event.Event) error {
	if len(events) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	s.appending.Add(1)
	defer s.appending.Add(-1)
	// Route without changing the caller's events. Batches mostly hold
	// one partition: check each distinct name once.
	parts := make([]string, len(events))
	var checked string
	for i := range events {
		p := route(s.opts.Routes, &events[i])
		if p != checked || i == 0 {
			if err := checkPartitionName(p); err != nil {
				return fmt.Errorf("append: event %d: %w", i, err)
			}
			checked = p
		}
		parts[i] = p
	}
	size := batchSize(events, parts)
	if size > wal.MaxRecord {
		return fmt.Errorf("append: batch of %d bytes is too large; split it", size)
	}
	if err := s.waitRoom(ctx, int64(size)); err != nil {
		return err
	}
	// The memtable keeps the record itself (never modified) and where
	// each event sits in it.
	buf, offs := encodeBatch(events, parts, size)
	s.appendMu.Lock()
	s.mu.Lock()
	closed, mem := s.closed, s.mem
	s.mu.Unlock()
	if closed {
		s.appendMu.Unlock()
		return ErrClosed
	}
	lsn, pos, err := s.wal.Write(buf)
	if err != nil {
		s.appendMu.Unlock()
		return fmt.Errorf("append: %w", err)
	}
	mem.insert(bytesToString(buf), events, parts, offs)
	mem.maxLSN = lsn
	s.appendMu.Unlock()
	s.m.rowsAppended.Add(uint64(len(events)))
	s.lastAppend.Store(time.Now().UnixNano())
	if mem.bytes.Load() >= s.opts.FlushBytes {
		s.nudgeFlush()
	}
	if s.opts.Sync == SyncAlways {
		if err := s.wal.Sync(pos); err != nil {
			return fmt.Errorf("append: %w", err)
		}
	}
	return nil
}

// waitRoom waits until the in-memory buffer has room for size more
// bytes, at most OverloadWait (and while ctx lasts), nudging the flusher;
// then it returns ErrOverloaded.
func (s *Store) waitRoom(ctx context.Context, size int64) error {
	var timer *time.Timer
	for {
		s.mu.Lock()
		used, flushed := s.bufferBytesLocked(), s.flushed
		s.mu.Unlock()
		if used+size <= s.opts.MaxBufferBytes {
			if timer != nil {
				timer.Stop()
			}
			return nil
		}
		s.nudgeFlush()
		if size > s.opts.MaxBufferBytes || s.opts.OverloadWait < 0 {
			break
		}
		if timer == nil {
			timer = time.NewTimer(s.opts.OverloadWait)
			defer timer.Stop()
		}
		select {
		case <-flushed:
			continue
		case <-ctx.Done():
			return fmt.Errorf("append: %w", ctx.Err())
		case <-s.done:
		case <-timer.C:
		}
		break
	}
	s.m.overloaded.Add(1)
	return ErrOverloaded
}

// bufferBytesLocked is the memory held by memtables (active and
// flushing); the caller holds mu.
func (s *Store) bufferBytesLocked() int64 {
	n := s.mem.bytes.Load()
	for _, mt := range s.flushing {
		n += mt.bytes.Load()
	}
	return n
}

func (s *Store) nudgeFlush() {
	select {
	case s.flushNow <- struct{}{}:
	default:
	}
}

// A burst of appends that has stopped is flushed after idleFlushAfter
// without appends when its buffer holds at least FlushBytes/idleFlushPart,
// instead of waiting for FlushInterval: its events get into parts (and
// the WAL is cut) soon after the burst. A trickle of small appends never
// reaches the size, so it does not make tiny parts.
const (
	idleFlushAfter = 2 * time.Second
	idleFlushPart  = 8
)

func (s *Store) flushLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.FlushInterval)
	defer t.Stop()
	idle := time.NewTicker(idleFlushAfter / 2)
	defer idle.Stop()
	var nudged int64 // the lastAppend whose idle period woke the maintainer
	for {
		select {
		case <-s.done:
			return
		case <-s.flushNow:
		case <-t.C:
		case <-idle.C:
			last := s.lastAppend.Load()
			if !s.idle() {
				continue
			}
			if s.bufferAtLeast(s.opts.FlushBytes / idleFlushPart) {
				s.flushLogged()
			}
			if last != nudged && last != 0 {
				// The burst's parts are written: let its last tiers
				// merge now (mergeIdle) rather than at the next
				// maintenance tick.
				nudged = last
				s.nudgeMerge()
			}
			continue
		}
		s.flushLogged()
	}
}

func (s *Store) flushLogged() {
	if err := s.Flush(context.Background()); err != nil && !errors.Is(err, ErrClosed) {
		s.log.Error("flush failed", "err", err)
	}
}

// idle reports whether no Append has stored events for idleFlushAfter
// and none is in progress.
func (s *Store) idle() bool {
	return s.appending.Load() == 0 && time.Since(time.Unix(0, s.lastAppend.Load())) >= idleFlushAfter
}

func (s *Store) nudgeMerge() {
	select {
	case s.mergeNow <- struct{}{}:
	default:
	}
}

// mergeMode says how eagerly a partition-day's parts merge (ripeTier).
type mergeMode int

const (
	// mergeBusy: rows still arrive; only full tiers merge.
	mergeBusy mergeMode = iota
	// mergeIdle: the store has had no appends for idleFlushAfter (a
	// burst has ended); tiers of MergeMinParts merge, full or not.
	mergeIdle
	// mergeQuiet: no flush has added to the partition-day for
	// MergeQuietAfter; its small parts also merge in twos.
	mergeQuiet
)

// mergeModeLocked is partition-day k's merge mode at now. The caller
// holds mu.
func (s *Store) mergeModeLocked(k partDay, now time.Time) mergeMode {
	if s.opts.MergeQuietAfter >= 0 && now.UnixNano()-max(s.openedAt, s.lastFlush[k]) >= int64(s.opts.MergeQuietAfter) {
		return mergeQuiet
	}
	if s.idle() {
		return mergeIdle
	}
	return mergeBusy
}

// bufferAtLeast reports whether the active memtable holds n bytes or more.
func (s *Store) bufferAtLeast(n int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mem.bytes.Load() >= n
}

// maintain applies retention, then merges; Close cancels it.
func (s *Store) maintain() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.done:
		case <-ctx.Done():
		}
		cancel()
	}()
	if err := s.ApplyRetention(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("retention failed", "err", err)
	}
	if err := s.merge(ctx, false); err != nil && ctx.Err() == nil {
		s.log.Error("merge failed", "err", err)
	}
}

// Flush writes the acknowledged in-memory events to parts and records the
// WAL position they cover in the manifest.
func (s *Store) Flush(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	// Memtables whose flush failed go first: a later commit's WAL position
	// must never cover records that are not in parts yet.
	s.mu.Lock()
	pending := append([]*memtable(nil), s.flushing...)
	s.mu.Unlock()
	for _, mt := range pending {
		if err := s.flushMemtable(ctx, mt); err != nil {
			return err
		}
	}
	s.appendMu.Lock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.appendMu.Unlock()
		return ErrClosed
	}
	mt := s.mem
	if len(mt.streams) == 0 {
		s.mu.Unlock()
		s.appendMu.Unlock()
		return nil
	}
	s.mem = newMemtable(s.opts.BlockRows)
	s.mem.maxLSN = mt.maxLSN
	s.flushing = append(s.flushing, mt)
	s.mu.Unlock()
	s.appendMu.Unlock()
	return s.flushMemtable(ctx, mt)
}

// flushMemtable writes mt's parts and commits them. On failure mt stays in
// the flushing list (still searchable, still in the WAL) and is retried by
// the next flush.
func (s *Store) flushMemtable(ctx context.Context, mt *memtable) error {
	start := time.Now()
	if s.flushHook != nil {
		if err := s.flushHook(); err != nil {
			s.m.flushErrors.Add(1)
			return fmt.Errorf("flush: %w", err)
		}
	}
	infos, err := s.writeMemtable(ctx, mt)
	if err != nil {
		s.m.flushErrors.Add(1)
		return fmt.Errorf("flush: %w", err)
	}
	// The WAL must be durable up to mt's records before the manifest says
	// they are in parts (interval sync mode may lag).
	if err := s.wal.SyncAll(); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	now := s.opts.Now().UnixNano()
	if err := s.commitParts(commit{Op: "flush", Add: infos, WALLSN: mt.maxLSN}, nil, func() {
		if len(s.lastFlush) > 1024 { // days long quiet read as quiet without an entry
			for k, t := range s.lastFlush {
				if now-t >= int64(s.opts.MergeQuietAfter) {
					delete(s.lastFlush, k)
				}
			}
		}
		for _, info := range infos {
			s.lastFlush[partDay{info.Partition, info.Day}] = now
		}
		for i, f := range s.flushing {
			if f == mt {
				s.flushing = append(s.flushing[:i:i], s.flushing[i+1:]...)
				break
			}
		}
		close(s.flushed) // wake appends waiting for room
		s.flushed = make(chan struct{})
	}); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	if err := s.wal.Truncate(mt.maxLSN); err != nil {
		s.log.Warn("wal truncate failed", "err", err)
	}
	s.m.flushes.Add(1)
	s.log.Debug("memtable flushed", "parts", len(infos), "took", time.Since(start))
	return nil
}

// commitParts appends c to the manifest, opens the added parts, and swaps
// them in for the removed ones (with also run under mu).
func (s *Store) commitParts(c commit, removed []*part, also func()) error {
	opened := make([]*part, 0, len(c.Add))
	for _, info := range c.Add {
		p, err := openPart(filepath.Join(s.dir, partsDir, filepath.FromSlash(info.Name)), info)
		if err != nil {
			for _, o := range opened {
				_ = o.release() // a failed commit: the files are orphans, removed on next open
			}
			return err
		}
		p.info.Name, p.info.CRC, p.info.Size = info.Name, info.CRC, info.Size
		p.born = s.opts.Now().UnixNano()
		opened = append(opened, p)
	}
	if err := syncDir(filepath.Join(s.dir, partsDir)); err != nil {
		return err
	}
	c.Time = s.opts.Now().UnixNano()
	if err := s.man.append(c); err != nil {
		for _, o := range opened {
			_ = o.release() // see above
		}
		return err
	}
	s.mu.Lock()
	for _, p := range opened {
		s.parts[p.info.Name] = p
	}
	for _, p := range removed {
		delete(s.parts, p.info.Name)
	}
	if also != nil {
		also()
	}
	s.mu.Unlock()
	for _, p := range removed {
		p.mu.Lock()
		p.removed = true
		p.mu.Unlock()
		if err := p.release(); err != nil {
			s.log.Warn("release removed part", "err", err)
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir) // #nosec G304 -- a folder inside the store's own directory
	if err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	return nil
}

// Close flushes in-memory data to parts, stops the background work, and
// closes the files. Snapshots still open keep their parts readable.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	close(s.done)
	s.wg.Wait()
	var errs []error
	errs = append(errs, s.Flush(context.Background())) // retries failed flushes first
	errs = append(errs, s.closeCheckpoint())
	s.appendMu.Lock()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.appendMu.Unlock()
	errs = append(errs, s.wal.Close())
	s.closeParts()
	errs = append(errs, s.man.close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

func (s *Store) closeParts() {
	s.mu.Lock()
	ps := s.parts
	s.parts = map[string]*part{}
	s.mu.Unlock()
	for _, p := range ps {
		if err := p.release(); err != nil {
			s.log.Warn("close part", "err", err)
		}
	}
}

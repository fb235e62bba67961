package store

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// Sync policies for Options.Sync.
const (
	// SyncAlways fsyncs the WAL before Append returns (group commit).
	SyncAlways = "always"
	// SyncInterval fsyncs the WAL every FsyncInterval; a crash may lose
	// the last interval of acknowledged events.
	SyncInterval = "interval"
)

// Options configure a Store. The zero value means the defaults, except Dir,
// which is required.
type Options struct {
	// Dir is the data directory.
	Dir string
	// Sync is SyncAlways (default) or SyncInterval.
	Sync string
	// FsyncInterval is the fsync period for SyncInterval; default 1s.
	FsyncInterval time.Duration
	// BodyCacheBytes, when not 0, sets the bound of the process's cache of
	// decompressed block bodies kept by selective reads (needles; shared by
	// every store of the process, SetBodyCacheBytes): a negative value turns
	// it off. 0 leaves it as it is (DefaultBodyCacheBytes, 64 MiB).
	BodyCacheBytes int64
	// MaxBufferBytes bounds the memory of acknowledged data not yet in
	// parts; Append returns ErrOverloaded beyond it. Default 256 MiB.
	MaxBufferBytes int64
	// FlushBytes flushes the in-memory buffer to parts when it holds this
	// much; default MaxBufferBytes/2 (appends continue into a fresh buffer
	// while a flush runs).
	FlushBytes int64
	// FlushInterval flushes the buffer at least this often; default 30s.
	FlushInterval time.Duration
	// Routes choose the partition of events that have none; the first
	// matching route wins, else event.DefaultPartition.
	Routes []Route
	// Retention is the maximum age per partition name; DefaultRetention
	// applies to the others. Zero means keep forever.
	Retention        map[string]time.Duration
	DefaultRetention time.Duration
	// DiskBudgetBytes bounds the bytes of parts; the oldest data is
	// dropped first when it is exceeded. Zero means unlimited.
	DiskBudgetBytes int64
	// Holds, when set, protects parts from retention and the disk budget
	// (legal holds): a part for which Holds.Covers is true is kept.
	Holds Holds
	// BlockRows is the maximum rows per block; default 8192.
	BlockRows int
	// FullFlush makes flushes write full parts (columns, templates,
	// skeletons, bloom filters), as before session 7. By default a flush
	// writes a cheap part (the rows' WAL encoding, compressed; see
	// cheap_part.go) that merges turn into full parts: a row's first
	// merge is then its only full encoding, and no cheap part is left
	// once the store has been idle for a few seconds.
	FullFlush bool
	// MergeMinParts merges parts of a partition-day once it has this many
	// of about one size (a big part waits until the smaller ones together
	// are about its size, so rows are rewritten a logarithmic number of
	// times); default 4. While rows still arrive, such a tier waits until
	// it holds MergeMaxRows rows or MergeMaxParts parts: during a burst
	// most rows are then written twice (flush, then a part of about
	// MergeMaxRows) instead of three or four times. Once the store has
	// had no appends for 2s (the burst is over), every tier of
	// MergeMinParts merges. MergeMaxParts bounds the inputs of one merge;
	// default 32. Memory stays bounded by the inputs' block sizes: a merge
	// holds one decoded block per input, and inputs of full blocks are
	// limited to max(8, MergeMinParts).
	MergeMinParts, MergeMaxParts int
	// MergeQuietAfter: a partition-day that no flush has added a part to
	// for this long also merges its last small parts (under an eighth of
	// MergeMaxRows) in twos of about one size, when fewer than
	// MergeMinParts are left. Default 1m; negative disables.
	MergeQuietAfter time.Duration
	// CheapMaxAge: while rows arrive, cheap parts (a flush's first
	// write, see FullFlush) wait for MergeMaxParts parts or MergeMaxRows
	// rows before their merge; a cheap part written this long ago is
	// merged then anyway, so under a slow steady stream (a flush every
	// FlushInterval, never 2s idle) recent rows get indexed within about
	// CheapMaxAge plus MaintainInterval instead of after MergeMaxParts
	// flushes. Queries scan cheap rows without pruning. Default 1m;
	// negative disables.
	CheapMaxAge time.Duration
	// MergeMaxRows: parts with more rows are not merged again (their
	// blocks are full already; merging them would only rewrite data).
	// Default 2,000,000.
	MergeMaxRows int64
	// MaintainInterval is how often merges and retention run in the
	// background; default 10s. A negative value disables the background
	// loop (tests call Merge and ApplyRetention themselves).
	MaintainInterval time.Duration
	// WALSegmentBytes starts a new WAL segment after this size; default 64 MiB.
	WALSegmentBytes int64
	// OverloadWait is how long Append waits for a running flush to free
	// the in-memory buffer before it returns ErrOverloaded; default 5s
	// (bounded by the caller's context). Waiting costs nothing, while a
	// refused batch is decoded again when its sender retries. Negative
	// means return ErrOverloaded at once. A batch larger than
	// MaxBufferBytes is refused at once either way.
	OverloadWait time.Duration
	// CheckpointKey, when set, signs a checkpoint of the manifest's head
	// every CheckpointInterval (when the manifest changed) and at Close,
	// appended to DIR/CHECKPOINTS. Keep the key outside Dir: whoever holds
	// it can forge checkpoints. The key format is that of 'mamori audit
	// keygen'.
	CheckpointKey ed25519.PrivateKey
	// CheckpointInterval is how often a checkpoint is signed; default 5m.
	CheckpointInterval time.Duration
	// CheckpointCopy, when set, is a second file, outside Dir (another
	// disk, a network or append-only mount), that gets every checkpoint
	// line too, so that cutting the newest checkpoints off DIR/CHECKPOINTS
	// shows. A failed copy is logged, not fatal.
	CheckpointCopy string
	// OnCheckpoint, when set, is called with each new checkpoint and its
	// signed line (ending in '\n'; the callee may keep it), to export it to
	// an outside verifier. It must not block.
	OnCheckpoint func(c Checkpoint, line []byte)
	// Logger receives lifecycle messages; nil discards.
	Logger *slog.Logger
	// Now returns the current time; default time.Now. For tests.
	Now func() time.Time
}

// Holds reports whether an active legal hold protects events of partition
// with times in [minT, maxT] (Unix ns, inclusive). It must be safe for
// concurrent use.
type Holds interface {
	Covers(partition string, minT, maxT int64) bool
}

// Route sends events whose Field matches the glob Match (path.Match syntax,
// e.g. "signer-*") to Partition. Field is a metadata name (_host, _source,
// _category) or an event field name.
type Route struct {
	Field     string
	Match     string
	Partition string
}

// Validate reports every problem of the options at once.
func (o *Options) Validate() error {
	var errs []error
	if o.Dir == "" {
		errs = append(errs, errors.New("dir: required"))
	}
	if o.Sync != "" && o.Sync != SyncAlways && o.Sync != SyncInterval {
		errs = append(errs, fmt.Errorf("sync: %q is not %q or %q", o.Sync, SyncAlways, SyncInterval))
	}
	for name, v := range map[string]int64{
		"fsync interval": int64(o.FsyncInterval), "max buffer bytes": o.MaxBufferBytes,
		"flush bytes": o.FlushBytes, "flush interval": int64(o.FlushInterval),
		"default retention": int64(o.DefaultRetention), "disk budget bytes": o.DiskBudgetBytes,
		"block rows": int64(o.BlockRows), "merge min parts": int64(o.MergeMinParts),
		"merge max parts": int64(o.MergeMaxParts), "wal segment bytes": o.WALSegmentBytes,
		"merge max rows": o.MergeMaxRows, "checkpoint interval": int64(o.CheckpointInterval),
	} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s: %d is negative", name, v))
		}
	}
	if o.MaxBufferBytes > 0 && o.FlushBytes > o.MaxBufferBytes {
		errs = append(errs, fmt.Errorf("flush bytes: %d exceeds max buffer bytes %d", o.FlushBytes, o.MaxBufferBytes))
	}
	if o.MergeMinParts == 1 {
		errs = append(errs, errors.New("merge min parts: must be at least 2"))
	}
	errs = append(errs, o.validateCheckpoints()...)
	for i, r := range o.Routes {
		if err := checkPartitionName(r.Partition); err != nil {
			errs = append(errs, fmt.Errorf("route %d: %w", i, err))
		}
		if r.Field == "" {
			errs = append(errs, fmt.Errorf("route %d: field: required", i))
		}
		if _, err := path.Match(r.Match, ""); err != nil {
			errs = append(errs, fmt.Errorf("route %d: match %q: %w", i, r.Match, err))
		}
	}
	for name, d := range o.Retention {
		if err := checkPartitionName(name); err != nil {
			errs = append(errs, fmt.Errorf("retention: %w", err))
		}
		if d < 0 {
			errs = append(errs, fmt.Errorf("retention %s: %v is negative", name, d))
		}
	}
	return errors.Join(errs...)
}

// withDefaults returns a copy with defaults filled in.
func (o Options) withDefaults() Options {
	if o.Sync == "" {
		o.Sync = SyncAlways
	}
	if o.FsyncInterval == 0 {
		o.FsyncInterval = time.Second
	}
	if o.MaxBufferBytes == 0 {
		o.MaxBufferBytes = 64 << 20
	}
	if o.FlushBytes == 0 {
		o.FlushBytes = o.MaxBufferBytes / 2
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = 30 * time.Second
	}
	if o.BlockRows == 0 {
		o.BlockRows = 8192
	}
	if o.MergeMinParts == 0 {
		o.MergeMinParts = 4
	}
	if o.MergeMaxParts == 0 {
		o.MergeMaxParts = 32
	}
	if o.MergeQuietAfter == 0 {
		o.MergeQuietAfter = time.Minute
	}
	if o.CheapMaxAge == 0 {
		o.CheapMaxAge = time.Minute
	}
	if o.MergeMaxParts < o.MergeMinParts {
		o.MergeMaxParts = o.MergeMinParts
	}
	if o.MergeMaxRows == 0 {
		o.MergeMaxRows = 2_000_000
	}
	if o.MaintainInterval == 0 {
		o.MaintainInterval = 10 * time.Second
	}
	if o.WALSegmentBytes == 0 {
		o.WALSegmentBytes = 64 << 20
	}
	if o.OverloadWait == 0 {
		o.OverloadWait = 5 * time.Second
	}
	if o.CheckpointInterval == 0 {
		o.CheckpointInterval = 5 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// checkPartitionName accepts 1-64 bytes of letters, digits, '_' and '-'.
func checkPartitionName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("partition name %q: want 1-64 characters", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return fmt.Errorf("partition name %q: only letters, digits, '_' and '-' allowed", name)
		}
	}
	return nil
}

// route returns the partition for e.
func route(routes []Route, e *event.Event) string {
	if e.Partition != "" {
		return e.Partition
	}
	for i := range routes {
		r := &routes[i]
		v, ok := e.Get(r.Field)
		if !ok {
			continue
		}
		if m, _ := path.Match(r.Match, v); m { // pattern validated in Validate
			return r.Partition
		}
	}
	return event.DefaultPartition
}

package tail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/mamori/mamori/internal/atomicfile"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/parse"
)

// FieldPath keeps the path of the file a line came from.
const FieldPath = "log.file.path"

// fingerprintBytes is how much of a file's start identifies it.
const fingerprintBytes = 1024

// Options configures a Tailer.
type Options struct {
	// Paths are glob patterns (filepath.Match syntax, plus a literal
	// path); at least one is required.
	Paths []string
	// StateFile keeps the read positions across restarts; "" keeps them
	// in memory only.
	StateFile string
	// StartAtEnd makes files found at the first scan, and without a saved
	// position, start at their end; files that appear later are always
	// read from the start.
	StartAtEnd bool
	// Token is the credential of this source, checked with the
	// Authenticator at start and every 30s.
	Token string
	// Source is the source of the events; default "file". A source-bound
	// token overrides it.
	Source string
	// Host is the host of the events; default os.Hostname.
	Host string
	// Category is the category of the events.
	Category string
	// Format is "syslog" (parse lines as syslog), "text" (keep them as
	// text with a detected timestamp) or "" (JSON lines are decoded and
	// normalized, the rest parsed by parse.Auto, as the native API does).
	// With "" Host stays the host of every line (a parsed one is in the
	// fields); with "syslog" the header's host wins and Host is the
	// fallback.
	Format string
	// Location is the zone of timestamps without one; nil means UTC.
	Location *time.Location
	// PollInterval is how often files are checked; default 250ms.
	PollInterval time.Duration
	// MaxBatch is the most lines per Sink.Append; default 1000.
	MaxBatch int
	// MaxLineBytes bounds a line; longer ones are cut. Default 1 MiB.
	MaxLineBytes int
	// MaxFiles bounds the files followed at once; default 1024.
	MaxFiles int
	// Metrics receives the counts (receiver "file"); nil discards them.
	Metrics *ingest.Metrics
	// Logger; nil discards.
	Logger *slog.Logger
}

// Validate reports every problem of the options.
func (o Options) Validate() error {
	var errs []error
	if len(o.Paths) == 0 {
		errs = append(errs, errors.New("tail: no paths"))
	}
	for _, p := range o.Paths {
		if _, err := filepath.Match(p, ""); err != nil {
			errs = append(errs, fmt.Errorf("tail path %q: %w", p, err))
		}
	}
	switch o.Format {
	case "", "text", "syslog":
	default:
		errs = append(errs, fmt.Errorf("tail format %q: want syslog, text or empty", o.Format))
	}
	return errors.Join(errs...)
}

// Tailer follows files. It implements ingest.Listener.
type Tailer struct {
	opts   Options
	sink   ingest.Sink
	auth   ingest.Authenticator
	log    *slog.Logger
	files  map[fileID]*followed
	saved  map[fileID]savedPos // positions from the state file not yet matched
	first  bool                // the first scan is running
	parser parse.Parser        // for text lines (Format "" or "syslog")
}

type fileID struct{ dev, ino uint64 }

// followed is a file being read.
type followed struct {
	id      fileID
	path    string
	f       *os.File
	offset  int64  // of the next byte to read; lines before it are durable
	partial []byte // an incomplete last line, not yet counted in offset
	fp      uint32 // crc32 of the first fpLen bytes
	fpLen   int
	gone    bool // no longer matched by the patterns (rotated or deleted)
}

type savedPos struct {
	Dev    uint64 `json:"dev"`
	Ino    uint64 `json:"ino"`
	Path   string `json:"path"`
	Offset int64  `json:"offset"`
	FP     uint32 `json:"fp"`
	FPLen  int    `json:"fp_len"`
}

// New checks the options and the token and loads the saved positions.
func New(ctx context.Context, sink ingest.Sink, auth ingest.Authenticator, opts Options) (*Tailer, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if sink == nil || auth == nil {
		return nil, errors.New("tail: a sink and an authenticator are required")
	}
	if opts.Source == "" {
		opts.Source = "file"
	}
	if opts.Host == "" {
		opts.Host, _ = os.Hostname() // best effort: an empty host is allowed
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 250 * time.Millisecond
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1000
	}
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = 1 << 20
	}
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = 1024
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	t := &Tailer{opts: opts, sink: sink, auth: auth, log: opts.Logger,
		files: make(map[fileID]*followed), saved: make(map[fileID]savedPos), first: true}
	popts := parse.Options{Location: opts.Location}
	t.parser = parse.NewAuto(popts)
	if opts.Format == "syslog" {
		t.parser, _ = parse.New("syslog", popts) // a built-in: always found
	}
	if _, err := auth.AuthenticateIngest(ctx, opts.Token); err != nil {
		return nil, fmt.Errorf("tail token: %w", err)
	}
	if err := t.loadState(); err != nil {
		return nil, err
	}
	return t, nil
}

// Name implements ingest.Listener.
func (t *Tailer) Name() string { return "file" }

// Run follows the files until ctx is cancelled.
func (t *Tailer) Run(ctx context.Context) error {
	defer t.closeAll()
	tick := time.NewTicker(t.opts.PollInterval)
	defer tick.Stop()
	var principal ingest.Principal
	var authAt time.Time
	authOK := false
	for {
		if authAt.IsZero() || time.Since(authAt) > 30*time.Second {
			p, err := t.auth.AuthenticateIngest(ctx, t.opts.Token)
			authAt, authOK = time.Now(), err == nil
			if authOK {
				principal = p
			} else if ctx.Err() == nil {
				t.log.Warn("tail token refused: not reading", "err", err)
			}
		}
		if authOK {
			if err := t.poll(ctx, principal); err != nil && ctx.Err() == nil {
				t.log.Warn("tail poll", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (t *Tailer) closeAll() {
	for id, fl := range t.files {
		fl.f.Close()
		delete(t.files, id)
	}
}

// poll scans the patterns and reads every followed file.
func (t *Tailer) poll(ctx context.Context, p ingest.Principal) error {
	seen := make(map[fileID]bool)
	for _, path := range t.matches() {
		fi, err := os.Stat(path)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		id := identity(fi, path)
		seen[id] = true
		if fl := t.files[id]; fl != nil {
			fl.path = path
			continue
		}
		if len(t.files) >= t.opts.MaxFiles {
			t.log.Warn("tail: too many files, not following", "path", path, "max", t.opts.MaxFiles)
			continue
		}
		if err := t.open(id, path, fi.Size()); err != nil {
			t.log.Warn("tail open", "path", path, "err", err)
		}
	}
	changed := t.first // the first scan records where reading starts
	t.first = false
	ids := make([]fileID, 0, len(t.files))
	for id, fl := range t.files {
		fl.gone = !seen[id]
		ids = append(ids, id)
	}
	// Rotated-away files first: their last lines come before the new file's.
	sort.Slice(ids, func(i, j int) bool {
		a, b := t.files[ids[i]], t.files[ids[j]]
		if a.gone != b.gone {
			return a.gone
		}
		return a.path < b.path
	})
	for _, id := range ids {
		fl := t.files[id]
		n, err := t.read(ctx, fl, p)
		changed = changed || n > 0
		if err != nil {
			return err
		}
		if fl.gone {
			// Rotated away or deleted, and read to its end: let go.
			fl.f.Close()
			delete(t.files, id)
			changed = true
		}
	}
	if changed {
		return t.saveState()
	}
	return nil
}

func (t *Tailer) matches() []string {
	var out []string
	for _, pat := range t.opts.Paths {
		m, err := filepath.Glob(pat)
		if err != nil {
			continue // checked by Validate
		}
		out = append(out, m...)
	}
	sort.Strings(out)
	return out
}

func identity(fi os.FileInfo, path string) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(st.Dev), ino: st.Ino}
	}
	return fileID{ino: uint64(crc32.ChecksumIEEE([]byte(path)))} // no inodes: the path is the identity
}

// open starts following a file at its saved position, its end, or its start.
func (t *Tailer) open(id fileID, path string, size int64) error {
	f, err := os.Open(path) // #nosec G304 -- tailing the paths the operator configured is this package's job
	if err != nil {
		return err
	}
	fl := &followed{id: id, path: path, f: f}
	if sp, ok := t.saved[id]; ok {
		delete(t.saved, id)
		if fp, n := fingerprint(f, sp.FPLen); n == sp.FPLen && fp == sp.FP && sp.Offset <= size {
			fl.offset, fl.fp, fl.fpLen = sp.Offset, sp.FP, sp.FPLen
		}
	} else if t.first && t.opts.StartAtEnd {
		fl.offset = size
	}
	if fl.fpLen == 0 {
		fl.fp, fl.fpLen = fingerprint(f, fingerprintBytes)
	}
	t.files[id] = fl
	return nil
}

// fingerprint returns the crc32 of the first n bytes of f (fewer when the
// file is shorter) and how many bytes it covered.
func fingerprint(f *os.File, n int) (uint32, int) {
	buf := make([]byte, n)
	k, _ := io.ReadFull(io.NewSectionReader(f, 0, int64(n)), buf) // a short file gives a short print
	return crc32.ChecksumIEEE(buf[:k]), k
}

// read appends the new complete lines of fl in batches and advances its
// offset after each durable batch. It returns the number of lines.
func (t *Tailer) read(ctx context.Context, fl *followed, p ingest.Principal) (int, error) {
	fi, err := fl.f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", fl.path, err)
	}
	if fi.Size() < fl.offset+int64(len(fl.partial)) {
		t.log.Info("tail: file truncated, reading from the start", "path", fl.path)
		fl.offset, fl.partial = 0, nil
		fl.fp, fl.fpLen = fingerprint(fl.f, fingerprintBytes)
	} else if fl.fpLen < fingerprintBytes && fi.Size() > int64(fl.fpLen) {
		fl.fp, fl.fpLen = fingerprint(fl.f, fingerprintBytes) // the file grew: a longer print
	}
	total := 0
	for {
		lines, n, err := t.readLines(fl, fi.Size())
		if err != nil {
			return total, err
		}
		if len(lines) == 0 {
			return total, nil
		}
		events := t.events(lines, fl.path, p)
		if err := ingest.AppendRetry(ctx, t.sink, events); err != nil {
			fl.partial = nil // read again from the durable offset next time
			t.opts.Metrics.Add("file", events[0].Source, 0, len(events), n)
			return total, fmt.Errorf("append %s: %w", fl.path, err)
		}
		t.opts.Metrics.Add("file", events[0].Source, len(events), 0, n)
		fl.offset += int64(n)
		total += len(lines)
	}
}

// readLines reads up to MaxBatch complete lines after fl.offset (and a
// pending partial line). It returns them and the bytes they take.
func (t *Tailer) readLines(fl *followed, size int64) ([][]byte, int, error) {
	start := fl.offset + int64(len(fl.partial))
	want := min(size-start, int64(t.opts.MaxBatch)*256+64<<10)
	buf := fl.partial
	if want > 0 {
		chunk := make([]byte, want)
		k, err := fl.f.ReadAt(chunk, start)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, fmt.Errorf("read %s: %w", fl.path, err)
		}
		buf = append(buf, chunk[:k]...)
	}
	var lines [][]byte
	used := 0
	for len(lines) < t.opts.MaxBatch {
		i := bytes.IndexByte(buf[used:], '\n')
		if i < 0 {
			break
		}
		line := bytes.TrimRight(buf[used:used+i], "\r")
		if len(line) > t.opts.MaxLineBytes {
			line = line[:t.opts.MaxLineBytes]
		}
		lines = append(lines, line)
		used += i + 1
	}
	rest := buf[used:]
	switch {
	case len(rest) > t.opts.MaxLineBytes:
		// A line with no end in sight: emit it cut, drop nothing after.
		lines = append(lines, rest[:t.opts.MaxLineBytes])
		used += len(rest)
		rest = nil
	case fl.gone && len(rest) > 0 && len(lines) < t.opts.MaxBatch:
		// The last line of a rotated file will get no newline.
		lines = append(lines, rest)
		used += len(rest)
		rest = nil
	}
	fl.partial = append([]byte(nil), rest...)
	return lines, used, nil
}

// events turns lines into events.
func (t *Tailer) events(lines [][]byte, path string, p ingest.Principal) []event.Event {
	now := time.Now().UnixNano()
	source := t.opts.Source
	if p.Source != "" {
		source = p.Source
	}
	topts := parse.TimeOptions{Location: t.opts.Location}
	out := make([]event.Event, 0, len(lines))
	for _, line := range lines {
		ev := event.Event{Received: now, Source: source, Host: t.opts.Host, Category: t.opts.Category}
		var err error
		switch {
		case t.opts.Format == "text":
			ev.Raw = string(line)
			if ns, ok := parse.DetectTimeIn(ev.Raw, topts); ok {
				ev.Time = ns
			}
		case t.opts.Format == "" && len(line) > 0 && line[0] == '{':
			// Decoded and normalized as the native API does; the
			// configured host stays unless the document has _host.
			if err = ingest.DecodeJSON(line, &ev, parse.JSONEventOptions{}); errors.Is(err, parse.ErrNoTime) {
				err = nil
			}
		default:
			// Parsed as the native API parses a text line (syslog
			// parser, or parse.Auto: syslog, CEF, LEEF, access
			// logs...). A line that does not parse is kept raw with
			// _parse_error. With Format "syslog" the header's host
			// wins and the configured one is the fallback; with "" the
			// configured host stays, as for JSON lines (the parsed
			// one is in the fields: host.name, syslog.hostname...).
			if t.opts.Format == "syslog" {
				ev.Host = ""
			}
			ingest.ParseText(t.parser, line, &ev, topts)
			if ev.Host == "" {
				ev.Host = t.opts.Host
			}
		}
		if err != nil {
			ev.Raw = string(line)
			ev.Fields = append(ev.Fields[:0], event.Field{Name: event.FieldParseError, Value: err.Error()})
		}
		if ev.Time == 0 {
			ev.Time = now
		}
		ev.Fields = append(ev.Fields, event.Field{Name: FieldPath, Value: path})
		out = append(out, ev)
	}
	return out
}

// loadState reads the saved positions.
func (t *Tailer) loadState() error {
	if t.opts.StateFile == "" {
		return nil
	}
	b, err := os.ReadFile(t.opts.StateFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("tail state: %w", err)
	}
	var st struct {
		Files []savedPos `json:"files"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("tail state %s: %w", t.opts.StateFile, err)
	}
	for _, sp := range st.Files {
		t.saved[fileID{sp.Dev, sp.Ino}] = sp
	}
	return nil
}

// saveState writes the positions atomically (temporary file, fsync, rename).
func (t *Tailer) saveState() error {
	if t.opts.StateFile == "" {
		return nil
	}
	var st struct {
		Files []savedPos `json:"files"`
	}
	for id, fl := range t.files {
		st.Files = append(st.Files, savedPos{Dev: id.dev, Ino: id.ino, Path: fl.path, Offset: fl.offset, FP: fl.fp, FPLen: fl.fpLen})
	}
	for _, sp := range t.saved { // files not seen yet keep their position
		st.Files = append(st.Files, sp)
	}
	sort.Slice(st.Files, func(i, j int) bool { return st.Files[i].Path < st.Files[j].Path })
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("tail state: %w", err)
	}
	if err := atomicfile.Write(t.opts.StateFile, b, 0o600); err != nil {
		return fmt.Errorf("tail state: %w", err)
	}
	return nil
}

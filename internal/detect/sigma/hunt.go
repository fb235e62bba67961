package sigma

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/evtx"
)

// HuntOptions configures Hunt. The zero value hunts everything with one
// worker per core.
type HuntOptions struct {
	// Since and Until bound event times (Unix nanoseconds; 0 = unbounded).
	// Events without a time are kept.
	Since, Until int64
	// Workers is how many files are read at once; 0 means GOMAXPROCS.
	Workers int
	// Logger receives per-file problems (malformed lines, corrupt chunks);
	// nil discards them.
	Logger *slog.Logger
}

// HuntStats summarises a hunt.
type HuntStats struct {
	Files     int
	Events    int64
	Bytes     int64
	Malformed int64 // lines or EVTX chunks/records that could not be read
	Matches   int64
	ByRule    map[*Rule]int64
	Took      time.Duration
}

// Hunt runs the engine over JSON-lines and EVTX files (directories are
// walked) and writes one NDJSON match per line to out: rule_id, title,
// level, status, tags, file, line (JSON lines) or record_id (EVTX), time
// and the matched event.
func Hunt(ctx context.Context, e *Engine, paths []string, opts HuntOptions, out io.Writer) (*HuntStats, error) {
	start := time.Now()
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	files, err := huntFiles(paths)
	if err != nil {
		return nil, err
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, len(files)))
	h := &hunter{e: e, opts: opts, log: log, out: out, stats: &HuntStats{Files: len(files), ByRule: map[*Rule]int64{}}}
	jobs := make(chan string)
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &huntWorker{h: h, byRule: map[*Rule]int64{}}
			w.flat.bind(e)
			for f := range jobs {
				if err := w.file(ctx, f); err != nil {
					errc <- err
					return
				}
			}
			h.merge(w)
		}()
	}
	var ferr error
send:
	for _, f := range files {
		select {
		case jobs <- f:
		case ferr = <-errc:
			break send
		case <-ctx.Done():
			ferr = ctx.Err()
			break send
		}
	}
	close(jobs)
	wg.Wait()
	close(errc)
	if ferr == nil {
		ferr = <-errc
	}
	h.stats.Took = time.Since(start)
	return h.stats, ferr
}

func huntFiles(paths []string) ([]string, error) {
	var files []string
	for _, root := range paths {
		fi, err := os.Stat(root)
		if err != nil {
			return nil, fmt.Errorf("hunt: %w", err)
		}
		if !fi.IsDir() {
			files = append(files, root)
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && isHuntFile(p) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("hunt: %w", err)
		}
	}
	sort.Strings(files)
	return files, nil
}

func isHuntFile(p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".evtx", ".json", ".jsonl", ".ndjson", ".log":
		return true
	}
	return false
}

type hunter struct {
	e     *Engine
	opts  HuntOptions
	log   *slog.Logger
	outMu sync.Mutex // guards out and stats
	out   io.Writer
	stats *HuntStats
}

func (h *hunter) write(b []byte) error {
	h.outMu.Lock()
	defer h.outMu.Unlock()
	_, err := h.out.Write(b)
	return err
}

func (h *hunter) merge(w *huntWorker) {
	h.outMu.Lock()
	defer h.outMu.Unlock()
	s := h.stats
	s.Events += w.events
	s.Bytes += w.bytes
	s.Malformed += w.malformed
	s.Matches += w.matches
	for r, n := range w.byRule {
		s.ByRule[r] += n
	}
}

type huntWorker struct {
	h         *hunter
	buf       []byte
	flat      jsonFlattener
	fields    []event.Field
	events    int64
	bytes     int64
	malformed int64
	matches   int64
	byRule    map[*Rule]int64
	heads     map[*Rule][]byte // see ruleHead
}

const huntFlushBytes = 1 << 20

func (w *huntWorker) flush(force bool) error {
	if len(w.buf) == 0 || (!force && len(w.buf) < huntFlushBytes) {
		return nil
	}
	err := w.h.write(w.buf)
	w.buf = w.buf[:0]
	if err != nil {
		return fmt.Errorf("hunt: write: %w", err)
	}
	return nil
}

func (w *huntWorker) file(ctx context.Context, path string) error {
	var err error
	if strings.EqualFold(filepath.Ext(path), ".evtx") {
		err = w.evtxFile(ctx, path)
	} else {
		err = w.jsonFile(ctx, path)
	}
	if ferr := w.flush(true); err == nil {
		err = ferr
	}
	return err
}

func (w *huntWorker) inRange(ns int64) bool {
	o := &w.h.opts
	if ns == 0 {
		return true
	}
	return (o.Since == 0 || ns >= o.Since) && (o.Until == 0 || ns < o.Until)
}

func (w *huntWorker) jsonFile(ctx context.Context, path string) error {
	f, err := os.Open(path) // #nosec G304 -- hunting the files the operator names is this function's job
	if err != nil {
		return fmt.Errorf("hunt: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var ev event.Event
	lineNo := 0
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A very long line: collect it whole.
			long := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) > 0 {
			lineNo++
			w.bytes += int64(len(line))
			w.jsonLine(path, lineNo, line, &ev)
			if lineNo%4096 == 0 {
				if cerr := ctx.Err(); cerr != nil {
					return cerr
				}
				if ferr := w.flush(false); ferr != nil {
					return ferr
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("hunt: read %s: %w", path, err)
		}
	}
}

func (w *huntWorker) jsonLine(path string, lineNo int, line []byte, ev *event.Event) {
	// The line's bytes stay untouched until the next read; the event only
	// lives during this call, and emit copies what it keeps.
	s := strings.TrimSpace(bytesView(line))
	if s == "" {
		return
	}
	var err error
	w.fields, err = w.flat.flatten(s, w.fields)
	if err != nil {
		w.malformed++
		w.h.log.Debug("malformed line", "file", path, "line", lineNo, "err", err)
		return
	}
	w.events++
	*ev = event.Event{Fields: w.fields}
	ev.Time = eventTime(w.fields)
	if !w.inRange(ev.Time) {
		return
	}
	w.h.e.matchSlots(ev, &w.flat.slots, func(m Match) {
		w.emit(m, path, "line", int64(lineNo), ev.Time, func(b []byte) []byte { return append(b, s...) })
	})
}

func (w *huntWorker) evtxFile(ctx context.Context, path string) error {
	r, err := evtx.Open(path)
	if err != nil {
		w.malformed++
		w.h.log.Warn("cannot read evtx file", "file", path, "err", err)
		return nil
	}
	defer r.Close()
	for n := 0; ; n++ {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			w.malformed++
			w.h.log.Warn("evtx read problem", "file", path, "err", err)
			if r.Fatal() {
				break
			}
			continue
		}
		w.events++
		ev := &rec.Event
		if !w.inRange(ev.Time) {
			continue
		}
		w.h.e.Match(ev, func(m Match) {
			w.emit(m, path, "record_id", int64(rec.RecordID), ev.Time, func(b []byte) []byte { return appendNestedJSON(b, ev.Fields) })
		})
		if n%4096 == 0 {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			if ferr := w.flush(false); ferr != nil {
				return ferr
			}
		}
	}
	w.bytes += r.Size()
	return nil
}

func (w *huntWorker) emit(m Match, path, posKey string, pos, ns int64, appendEvent func([]byte) []byte) {
	w.matches++
	w.byRule[m.Rule]++
	b := append(w.buf, w.ruleHead(m.Rule)...)
	b = append(b, `],"file":`...)
	b = appendJSONString(b, path)
	b = append(b, `,"`...)
	b = append(b, posKey...)
	b = append(b, `":`...)
	b = strconv.AppendInt(b, pos, 10)
	if ns != 0 {
		b = append(b, `,"time":"`...)
		b = event.AppendTime(b, ns)
		b = append(b, '"')
	}
	b = append(b, `,"event":`...)
	b = appendEvent(b)
	b = append(b, "}\n"...)
	w.buf = b
}

// ruleHead returns the start of r's match lines, up to the tags' last
// element, encoded once per rule (quoting is per rune).
func (w *huntWorker) ruleHead(r *Rule) []byte {
	if h, ok := w.heads[r]; ok {
		return h
	}
	b := append([]byte(nil), `{"rule_id":`...)
	b = strconv.AppendQuote(b, r.ID)
	b = append(b, `,"title":`...)
	b = strconv.AppendQuote(b, r.Title)
	b = append(b, `,"level":`...)
	b = strconv.AppendQuote(b, r.Level)
	b = append(b, `,"status":`...)
	b = strconv.AppendQuote(b, r.Status)
	b = append(b, `,"tags":[`...)
	for i, t := range r.Tags {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, t)
	}
	if w.heads == nil {
		w.heads = map[*Rule][]byte{}
	}
	w.heads[r] = b
	return b
}

// timeFields are where event times are found, in order of preference.
var timeFields = []string{
	"Event.System.TimeCreated.#attributes.SystemTime", "Event.System.TimeCreated.SystemTime",
	"@timestamp", "_time", "timestamp", "time", "winlog.time_created", "TimeCreated", "UtcTime",
}

// timeRank maps a time field name to its index in timeFields;
// timeLens has bit n set when a name in it is n bytes long (n < 64) and
// timeEnds holds their first and last bytes, so most names need no lookup.
var timeRank, timeLens, timeEnds = func() (map[string]int, uint64, [2][256]bool) {
	m := make(map[string]int, len(timeFields))
	var lens uint64
	var ends [2][256]bool
	for i, n := range timeFields {
		m[n] = i
		lens |= 1 << len(n)
		ends[0][n[0]] = true
		ends[1][n[len(n)-1]] = true
	}
	return m, lens, ends
}()

// maybeTimeField is a quick test whether name can be in timeFields.
func maybeTimeField(name string) bool {
	return len(name) < 64 && timeLens&(1<<len(name)) != 0 && timeEnds[0][name[0]] && timeEnds[1][name[len(name)-1]]
}

func eventTime(fs []event.Field) int64 {
	// One pass to find the first field of each name, then the names in
	// order of preference (a name lookup per field, not per name and field).
	var at [16]int32
	for i := range at {
		at[i] = -1
	}
	for i := range fs {
		if !maybeTimeField(fs[i].Name) {
			continue
		}
		if r, ok := timeRank[fs[i].Name]; ok && at[r] < 0 {
			at[r] = int32(i)
		}
	}
	for r := range timeFields {
		if i := at[r]; i >= 0 {
			if ns, ok := parseEventTime(fs[i].Value); ok {
				return ns
			}
		}
	}
	return 0
}

func parseEventTime(s string) (int64, bool) {
	if ns, ok := event.ParseTime(s); ok {
		return ns, true
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixNano(), true
		}
	}
	return 0, false
}

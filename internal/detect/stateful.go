package detect

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/mamori/mamori/internal/atomicfile"
	"log/slog"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// StatefulOptions configures a Stateful engine. Zero values mean defaults.
type StatefulOptions struct {
	// Lateness is how far behind the newest event time an event may
	// arrive and still be evaluated exactly (default 10m): absence rules
	// wait this long before deciding, and state is kept this much longer
	// than its window. Later events are still evaluated against the state
	// that remains, and counted in Late.
	Lateness time.Duration
	// MaxKeys bounds the keys (entity groups) kept per rule (default
	// 50,000); the least recently updated key is evicted beyond it.
	MaxKeys int
	// MaxPerKey bounds the times or values kept per key (default 1,000).
	MaxPerKey int
	// Dir keeps the snapshot (stateful.json); "" keeps nothing.
	Dir    string
	Logger *slog.Logger
}

// Stateful evaluates stateful rules (Mamori's types and Sigma
// correlations) in event time. Safe for concurrent use: one mutex guards
// all state, as events of a batch are evaluated in order.
type Stateful struct {
	opts StatefulOptions
	log  *slog.Logger

	mu    sync.Mutex // guards rules, state, watermark, seen, received, mark
	rules []*StatefulRule
	state map[string]*ruleState // by rule id
	// states is state per rule of rules, and ix the index that skips the
	// rules an event cannot concern (noIndex turns it off, for tests).
	states  []*ruleState
	ix      *ruleIndex
	noIndex bool
	// absence lists the absence rules (by index), for flushPendingLocked.
	absence []int
	// startMax is the largest Start of the rules (an event at or after it
	// changes none); startDirty says it is unknown or some rule has no
	// Start yet (Observe then sets them).
	startMax   int64
	startDirty bool
	cur        struct { // the event being observed and its entities
		e    *event.Event
		ents []Entity
		// rule is the index of the rule being evaluated when the rule
		// index has started the event (stepMatches), else -1.
		rule int
	}
	watermark int64     // newest event time seen
	lastWall  time.Time // wall time of the last event, for Flush
	seen      int
	// received is the newest receive time (event.Received) observed: the
	// position a snapshot covers. mark is the one of the snapshot loaded
	// at open, and markOK says whether a replay can start from it (#6).
	received int64
	mark     int64
	markOK   bool

	fired, late, evicted atomic.Uint64
}

// ruleState is the state of one rule; exported fields are snapshotted.
type ruleState struct {
	Start   int64                `json:"start,omitempty"` // first event time (first-seen learning)
	Keys    map[string]*keyState `json:"keys"`
	Pending []pending            `json:"pending,omitempty"` // absence triggers awaiting their deadline
	next    int64                // earliest pending deadline (0 after a restore: check at once)
}

// keyState is the state of one key of a rule.
type keyState struct {
	Last    int64              `json:"last"`
	Times   []int64            `json:"t,omitempty"`
	Vals    []timedValue       `json:"v,omitempty"`
	Steps   [][]int64          `json:"s,omitempty"`
	Seen    map[string]int64   `json:"seen,omitempty"`
	Buckets map[int64]*bucket  `json:"b,omitempty"`
	Fired   int64              `json:"fired,omitempty"`
	N       int                `json:"n,omitempty"`     // events seen (first-seen history)
	Quiet   int64              `json:"quiet,omitempty"` // suppressed until`
	Ents    []Entity           `json:"e,omitempty"`
	Extra   map[string]float64 `json:"x,omitempty"`
}

type timedValue struct {
	T int64   `json:"t"`
	S string  `json:"s,omitempty"`
	N float64 `json:"n,omitempty"`
}

type bucket struct {
	Sum   float64 `json:"s"`
	Count int     `json:"c"`
}

// pending is an absence trigger waiting for its deadline.
type pending struct {
	Key      string   `json:"k"`
	Time     int64    `json:"t"`
	Deadline int64    `json:"d"`
	Ev       evidence `json:"ev"`
}

// evidence is what a signal keeps of the event behind it.
type evidence struct {
	Time      int64    `json:"t"`
	Source    string   `json:"src,omitempty"`
	Host      string   `json:"host,omitempty"`
	Partition string   `json:"part,omitempty"`
	Raw       string   `json:"raw,omitempty"`
	Ents      []Entity `json:"e,omitempty"`
	Received  int64    `json:"rcv,omitempty"`
}

// StatefulCounts are the engine's counters.
type StatefulCounts struct {
	Rules                    int
	Keys                     int
	Fired, Late, Evicted     uint64
	WatermarkUnixNano        int64
	PendingAbsenceTriggers   int
	FirstSeenValuesLearned   int
	OutlierBucketsRemembered int
}

// OpenStateful returns an engine for rules, restoring the snapshot in
// opts.Dir when there is one.
func OpenStateful(rules []*StatefulRule, opts StatefulOptions) (*Stateful, error) {
	if opts.Lateness <= 0 {
		opts.Lateness = 10 * time.Minute
	}
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = 50_000
	}
	if opts.MaxPerKey <= 0 {
		opts.MaxPerKey = 1000
	}
	s := &Stateful{opts: opts, log: opts.Logger, state: map[string]*ruleState{}}
	s.cur.rule = -1
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if opts.Dir != "" {
		if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("open stateful: %w", err)
		}
		if err := s.load(); err != nil {
			return nil, err
		}
	}
	s.SetRules(rules)
	return s, nil
}

// SetRules replaces the rule set, keeping the state of rules whose id
// stays. Rules that reference other stateful rules run after them.
func (s *Stateful) SetRules(rules []*StatefulRule) {
	ids := map[string]bool{}
	for _, r := range rules {
		ids[r.ID] = true
		if r.Name != "" {
			ids[r.Name] = true
		}
	}
	refsOther := func(r *StatefulRule) bool {
		for _, st := range r.Steps {
			for _, ref := range st.Rules {
				if ids[ref] {
					return true
				}
			}
		}
		return false
	}
	var first, last []*StatefulRule
	for _, r := range rules {
		if refsOther(r) {
			last = append(last, r)
		} else {
			first = append(first, r)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(first, last...)
	s.states = make([]*ruleState, len(s.rules))
	s.absence = s.absence[:0]
	for i, r := range s.rules {
		if s.state[r.ID] == nil {
			s.state[r.ID] = &ruleState{Keys: map[string]*keyState{}}
		}
		s.states[i] = s.state[r.ID]
		if r.Type == TypeAbsence {
			s.absence = append(s.absence, i)
		}
	}
	s.ix = newRuleIndex(s.rules)
	s.startDirty = true
}

// Rules returns the loaded rules.
func (s *Stateful) Rules() []*StatefulRule {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*StatefulRule(nil), s.rules...)
}

// Observe evaluates one event. matched lists the ids and names of the
// Sigma rules that matched it (for correlations and chains on rules).
func (s *Stateful) Observe(e *event.Event, matched []string) []Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastWall = time.Now()
	return s.observeLocked(e, matched)
}

// observeBatch is Observe for the events of a batch: the wall time of the
// last event (for Flush, which runs between batches) is read once, by
// touch after the batch, instead of once per event.
// It also returns the event's threat-intel indicator value, if any (the
// value of intelValueField), which the index finds in the same pass over
// the event's fields as the rules' own.
func (s *Stateful) observeBatch(e *event.Event, matched []string) (sigs []Signal, intel string, hasIntel bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sigs = s.observeLocked(e, matched)
	if s.noIndex {
		intel, hasIntel = e.Get(intelValueField)
	} else {
		intel, hasIntel = s.ix.intelValue()
	}
	return sigs, intel, hasIntel
}

// touch records the wall time of the last event observed (see
// observeBatch).
func (s *Stateful) touch() {
	s.mu.Lock()
	s.lastWall = time.Now()
	s.mu.Unlock()
}

func (s *Stateful) observeLocked(e *event.Event, matched []string) []Signal {
	if e.Time > s.watermark {
		s.watermark = e.Time
	}
	if e.Received > s.received {
		s.received = e.Received
	}
	if e.Time < s.watermark-int64(s.opts.Lateness) {
		s.late.Add(1)
	}
	var out []Signal
	s.updateStart(e.Time)
	observe := func(i int) {
		r, st := s.rules[i], s.states[i]
		var sigs []Signal
		if s.noIndex {
			sigs = s.evalLocked(r, st, e, matched)
		} else if act, direct := s.ix.mayAct(i, matched); direct {
			sigs = s.evalKeyed(r, st, e, r.GroupBy) // the filter matched
		} else if act {
			s.cur.rule = i
			sigs = s.evalLocked(r, st, e, matched)
			s.cur.rule = -1
		}
		for i := range sigs {
			matched = append(matched, r.ID)
			if r.Name != "" {
				matched = append(matched, r.Name)
			}
			out = append(out, sigs[i])
		}
	}
	if s.noIndex {
		for i := range s.rules {
			observe(i)
		}
	} else {
		// The candidates, in rule order (rules that refer to others come
		// after them).
		for w, word := range s.ix.start(e) {
			for ; word != 0; word &= word - 1 {
				observe(w*64 + bits.TrailingZeros64(word))
			}
		}
	}
	out = append(out, s.flushPendingLocked(s.watermark)...)
	s.seen++
	if s.seen%4096 == 0 {
		s.expireLocked()
	}
	s.fired.Add(uint64(len(out)))
	s.cur.e, s.cur.ents = nil, nil
	s.ix.ev = nil
	return out
}

// updateStart records t as the first event time of every rule that has
// none or a later one (first-seen learning starts there). Events rarely
// come before a rule's Start, so this is usually one comparison.
func (s *Stateful) updateStart(t int64) {
	if !s.startDirty && t >= s.startMax {
		return
	}
	s.startMax, s.startDirty = math.MinInt64, false
	for _, st := range s.states {
		if st.Start == 0 || t < st.Start {
			st.Start = t
		}
		s.startMax = max(s.startMax, st.Start)
		if st.Start == 0 {
			s.startDirty = true // the next event sets it (time 0 means none)
		}
	}
}

// Flush resolves the absence triggers whose deadline passed (called on a
// timer, so a quiet stream still fires): when no event arrived for a
// while, the wall time elapsed since the last one moves the deadline
// clock on from the newest event time.
func (s *Stateful) Flush(now time.Time) []Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastWall.IsZero() {
		return nil
	}
	clock := s.watermark + int64(max(0, now.Sub(s.lastWall)))
	out := s.flushPendingLocked(clock)
	s.fired.Add(uint64(len(out)))
	return out
}

// keyOf joins the values of fields; ok is false when one is missing.
func keyOf(e *event.Event, fields []string) (string, bool) {
	if len(fields) == 0 {
		return "", true
	}
	var b strings.Builder
	for i, f := range fields {
		v, ok := getField(e, f)
		if !ok || v == "" {
			return "", false
		}
		if i > 0 {
			b.WriteByte(0)
		}
		b.WriteString(strings.ToLower(v))
	}
	return b.String(), true
}

// getField reads a field, with the metadata names _host and _source.
func getField(e *event.Event, f string) (string, bool) {
	switch f {
	case "_host", "host":
		if e.Host != "" {
			return e.Host, true
		}
	case "_source":
		return e.Source, e.Source != ""
	}
	return e.Get(f)
}

// keyLocked returns the state of a key, creating it (and evicting the
// stalest key when the rule is full).
func (s *Stateful) keyLocked(st *ruleState, k string, t int64) *keyState {
	ks := st.Keys[k]
	if ks == nil {
		if len(st.Keys) >= s.opts.MaxKeys {
			s.evictOneLocked(st)
		}
		ks = &keyState{}
		st.Keys[k] = ks
	}
	if t > ks.Last {
		ks.Last = t
	}
	return ks
}

func (s *Stateful) evictOneLocked(st *ruleState) {
	var oldK string
	oldT := int64(1<<63 - 1)
	n := 0
	for k, ks := range st.Keys { // a sample is enough to find a stale key
		if ks.Last < oldT {
			oldK, oldT = k, ks.Last
		}
		if n++; n > 64 {
			break
		}
	}
	delete(st.Keys, oldK)
	s.evicted.Add(1)
}

// expireLocked drops keys that can no longer fire.
func (s *Stateful) expireLocked() {
	for _, r := range s.rules {
		keep := r.retention()
		if keep <= 0 {
			continue
		}
		cut := s.watermark - int64(keep) - int64(s.opts.Lateness)
		st := s.state[r.ID]
		for k, ks := range st.Keys {
			if ks.Last < cut {
				delete(st.Keys, k)
			}
		}
	}
}

// retention is how long an idle key matters (0 = forever).
func (r *StatefulRule) retention() time.Duration {
	switch r.Type {
	case TypeFirstSeen:
		return 0
	case TypeOutlier:
		return time.Duration(r.Bucket) * time.Duration(r.Buckets+1)
	}
	return time.Duration(r.Window)
}

func addEntities(dst []Entity, src []Entity, limit int) []Entity {
	for _, e := range src {
		dup := false
		for _, d := range dst {
			if d.Type == e.Type && strings.EqualFold(d.Value, e.Value) {
				dup = true
				break
			}
		}
		if !dup && len(dst) < limit {
			dst = append(dst, e)
		}
	}
	return dst
}

// entitiesOf returns an event's entities plus the rule's typed fields.
// The event's own entities are extracted once per Observe (cur).
func (s *Stateful) entitiesOf(r *StatefulRule, e *event.Event) []Entity {
	if s.cur.e != e {
		s.cur.e, s.cur.ents = e, Entities(e)
	}
	ents := append([]Entity(nil), s.cur.ents...)
	if len(r.SkipEntities) > 0 {
		kept := ents[:0]
		for _, en := range ents {
			if !slices.Contains(r.SkipEntities, en.Type) {
				kept = append(kept, en)
			}
		}
		ents = kept
	}
	for _, f := range r.entityFields { // sorted: the same order every time
		typ := r.Entities[f]
		if v, ok := getField(e, f); ok && useful(typ, v) {
			ents = addEntities(ents, []Entity{{Type: typ, Value: v}}, 64)
		}
	}
	return ents
}

func (s *Stateful) evidenceOf(r *StatefulRule, e *event.Event) evidence {
	raw := e.Raw
	if len(raw) > 2048 {
		raw = raw[:2048]
	}
	return evidence{Time: e.Time, Source: e.Source, Host: e.Host, Partition: e.Partition, Raw: raw, Ents: s.entitiesOf(r, e), Received: e.Received}
}

// signal builds the signal of a firing.
func (r *StatefulRule) signal(ev evidence, ents []Entity, detail string) Signal {
	title := r.Title
	if detail != "" {
		title += " (" + detail + ")"
	}
	return Signal{ID: signalID(r.ID, ev.Time, ev.Raw+detail), Time: ev.Time, RuleID: r.ID, Title: title, Level: r.Level, Severity: SeverityOf(r.Level),
		Tags: r.Tags, Tactics: r.tactics, Entities: dedupEntities(addEntities(append([]Entity(nil), ev.Ents...), ents, 32)),
		EventTime: ev.Time, EventSource: ev.Source, EventHost: ev.Host, EventPartition: ev.Partition, EventRaw: ev.Raw, EventReceived: ev.Received, Kind: r.Type}
}

// Counts returns the counters and the size of the state.
func (s *Stateful) Counts() StatefulCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := StatefulCounts{Rules: len(s.rules), Fired: s.fired.Load(), Late: s.late.Load(), Evicted: s.evicted.Load(), WatermarkUnixNano: s.watermark}
	for _, st := range s.state {
		c.Keys += len(st.Keys)
		c.PendingAbsenceTriggers += len(st.Pending)
		for _, ks := range st.Keys {
			c.FirstSeenValuesLearned += len(ks.Seen)
			c.OutlierBucketsRemembered += len(ks.Buckets)
		}
	}
	return c
}

type statefulSnapshot struct {
	Version   int   `json:"version"`
	Watermark int64 `json:"watermark"`
	// Received is the newest receive time of the events the snapshot
	// covers (version 2): a restart replays the stored events received
	// after it.
	Received int64                 `json:"received,omitempty"`
	Rules    map[string]*ruleState `json:"rules"`
}

const snapshotName = "stateful.json"

// Save writes the snapshot (windows, baselines, first-seen sets) with the
// receive time it covers; Detector.Replay re-evaluates the stored events
// received after it at the next start (#6).
func (s *Stateful) Save() error { return s.saveBelow(0) }

// saveBelow is Save with a mark below receive time below when it is not 0:
// events received from below on (a gap of live detection not caught up
// yet) are replayed after a restart, even if later ones were observed.
func (s *Stateful) saveBelow(below int64) error {
	if s.opts.Dir == "" {
		return nil
	}
	s.mu.Lock()
	received := s.received
	if below > 0 && below-1 < received {
		received = below - 1
	}
	b, err := json.Marshal(statefulSnapshot{Version: 2, Watermark: s.watermark, Received: received, Rules: s.state})
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("save stateful: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(s.opts.Dir, snapshotName), b, 0o600); err != nil {
		return fmt.Errorf("save stateful: %w", err)
	}
	return nil
}

func (s *Stateful) load() error {
	b, err := os.ReadFile(filepath.Join(s.opts.Dir, snapshotName))
	if errors.Is(err, os.ErrNotExist) {
		// A fresh node: what is stored already was never live, and what
		// arrives from now on is covered by the snapshot saved now, so a
		// crash before the first periodic save still replays it.
		s.received = time.Now().UnixNano()
		return s.Save()
	}
	if err != nil {
		return fmt.Errorf("load stateful: %w", err)
	}
	var snap statefulSnapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		// A damaged snapshot costs the windows, not the node.
		s.log.Warn("stateful snapshot unreadable, starting empty", "err", err)
		s.received = time.Now().UnixNano()
		return nil
	}
	s.watermark = snap.Watermark
	if snap.Received > 0 {
		s.received, s.mark, s.markOK = snap.Received, snap.Received, true
	} else {
		s.log.Info("stateful snapshot predates replay marks: events since it are not replayed", "version", snap.Version)
	}
	for id, st := range snap.Rules {
		if st != nil && st.Keys != nil {
			s.state[id] = st
		}
	}
	return nil
}

// replayMark returns the receive time the loaded snapshot covered and its
// watermark; ok is false when there is nothing to replay from.
func (s *Stateful) replayMark() (mark, watermark int64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mark, s.watermark, s.markOK
}

// resetReceived moves the covered receive time back to mark (after a
// partial replay).
func (s *Stateful) resetReceived(mark int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received = mark
}

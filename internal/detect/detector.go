package detect

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mamori/mamori/internal/atomicfile"
	"github.com/mamori/mamori/internal/detect/sigma"
	"github.com/mamori/mamori/internal/event"
)

// ErrNotFound is returned for an unknown rule id.
var ErrNotFound = errors.New("rule not found")

// ErrInvalid is wrapped by errors about rule text the user sent.
var ErrInvalid = errors.New("invalid rule")

// Options configures Open.
type Options struct {
	// RuleDirs are read-only rule folders (SigmaHQ, the content pack).
	RuleDirs []string
	// StateDir keeps uploaded rules (one .yml per rule) and which rules
	// are disabled (state.json). Created if missing; "" keeps nothing.
	StateDir string
	// Pipeline maps log sources and fields; nil means sigma's default.
	Pipeline *sigma.Pipeline
	// SuppressFor folds repeats of one rule on the same entities into the
	// first signal for this long (default 10m; negative disables).
	SuppressFor time.Duration
	// Stateful configures the stateful rules (Mamori rules and Sigma
	// correlations found in the same folders); its Dir keeps the snapshot.
	// (stateful detection, #6)
	Stateful StatefulOptions
	Logger   *slog.Logger
	Now      func() time.Time
}

// RuleInfo describes a loaded rule.
type RuleInfo struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Level    string   `json:"level"`
	Status   string   `json:"status,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	Tactics  []string `json:"tactics,omitempty"`
	Path     string   `json:"path,omitempty"`
	Uploaded bool     `json:"uploaded"`
	Enabled  bool     `json:"enabled"`
	Compiled bool     `json:"compiled"`
	Hits     int64    `json:"hits"`
}

// Detector evaluates the rule set on events and raises signals.
type Detector struct {
	opts Options
	log  *slog.Logger
	now  func() time.Time

	// cmu serializes changes of the rule set (reload, SetEnabled, PutRule,
	// DeleteRule) from reading the files to compiling, so a change never
	// installs what it read before another change saved its own: without
	// it, a reload that read state.json before a switch was saved would
	// undo the switch. Detection takes only mu.
	cmu sync.Mutex
	mu  sync.RWMutex // guards eng, tactics, src, rules, disabled, issues, compiled
	// eng is the live engine, compiled with sigma.Options.SlimRules: its
	// rules have no detection (#5).
	eng *sigma.Engine
	// tactics holds TacticsOf(r.Tags) of every compiled rule, so a signal
	// does not lower-case and compare each tag against every tactic.
	tactics map[*sigma.Rule][]string
	// src is the text of the Sigma rule files, parsed again to compile
	// (ruleSources); rules describes each loaded Sigma rule, in load order.
	src      *ruleSources
	rules    []ruleMeta
	uploaded map[string]bool
	disabled map[string]bool
	compiled map[string]bool
	// issues are loadIssues (of loading the rule files) and the last
	// compile's.
	issues, loadIssues []sigma.LoadIssue
	// Stateful rules (#6): st evaluates them, silenced lists the Sigma
	// rules that only feed correlations, statefulIssues their problems.
	st             *Stateful
	silenced       map[string]bool
	statefulIssues []sigma.LoadIssue

	smu  sync.Mutex // guards hits, supp
	hits map[string]int64
	supp map[string]*suppression

	processed, raised, suppressed atomic.Uint64
	// caughtUp, catchUps and missing count the catch-ups of gaps in the
	// live feed (CatchUp).
	caughtUp, catchUps, missing atomic.Uint64
	// replayedTo is the newest receive time a Replay evaluated; Run skips
	// live events received at or before it (#6).
	replayedTo atomic.Int64
	// busySince is when the oldest event Run took but has not finished
	// detecting arrived (Unix ns; 0 when caught up): Lag.
	busySince atomic.Int64
	// keepSnapshot is set when a replay was cut short by shutdown: the
	// snapshot on disk stays as it was, so the next start replays the
	// same events onto the same state instead of counting some twice.
	keepSnapshot atomic.Bool
}

type suppression struct {
	first time.Time
	count int
}

// Open loads and compiles the rules.
func Open(opts Options) (*Detector, error) {
	if opts.SuppressFor == 0 {
		opts.SuppressFor = 10 * time.Minute
	}
	d := &Detector{opts: opts, log: opts.Logger, now: opts.Now, hits: map[string]int64{}, supp: map[string]*suppression{}}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.now == nil {
		d.now = time.Now
	}
	if opts.StateDir != "" {
		if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
			return nil, fmt.Errorf("open detector: %w", err)
		}
	}
	st, err := OpenStateful(nil, opts.Stateful)
	if err != nil {
		return nil, err
	}
	d.st = st
	d.cmu.Lock()
	defer d.cmu.Unlock()
	if err := d.reload(); err != nil {
		return nil, err
	}
	return d, nil
}

type detectorState struct {
	Disabled []string `json:"disabled"`
}

// reloadReadHook, when set by a test, runs once reload has read the rule
// files and state.json, before it installs them.
var reloadReadHook func()

// reload reads every rule folder and the uploaded rules, and compiles.
// The caller holds cmu.
func (d *Detector) reload() error {
	dirs := append([]string(nil), d.opts.RuleDirs...)
	var files []loadedFile
	for _, dir := range dirs {
		fs, err := loadRuleFiles(dir)
		if err != nil {
			return fmt.Errorf("load rules %s: %w", dir, err)
		}
		files = append(files, fs...)
	}
	uploaded := map[string]bool{}
	disabled := map[string]bool{}
	if d.opts.StateDir != "" {
		fs, err := loadRuleFiles(d.opts.StateDir)
		if err != nil {
			return fmt.Errorf("load uploaded rules: %w", err)
		}
		for _, f := range fs {
			for _, r := range f.Rules {
				uploaded[r.ID] = true
			}
		}
		files = append(files, fs...)
		if b, err := os.ReadFile(filepath.Join(d.opts.StateDir, "state.json")); err == nil {
			var st detectorState
			if err := json.Unmarshal(b, &st); err != nil {
				return fmt.Errorf("read rule state: %w", err)
			}
			for _, id := range st.Disabled {
				disabled[id] = true
			}
		}
	}
	if reloadReadHook != nil {
		reloadReadHook()
	}
	// Stateful rules live in the same folders (#6); the Sigma loader's
	// complaints about files of Mamori rules are not issues.
	sdirs := dirs
	if d.opts.StateDir != "" {
		sdirs = append(sdirs, d.opts.StateDir)
	}
	srules, own, serrs := LoadStatefulDir(sdirs...)
	var sissues []sigma.LoadIssue
	for _, err := range serrs {
		sissues = append(sissues, sigma.LoadIssue{Reason: sigma.ReasonInvalid, Detail: err.Error()})
	}
	var issues []sigma.LoadIssue
	sigmaFiles := files[:0]
	for _, f := range files {
		if own[f.Path] {
			continue // every rule and issue of a file has the file's path
		}
		issues = append(issues, f.Issues...)
		sigmaFiles = append(sigmaFiles, f)
	}
	issues = append(issues, sissues...)
	src, rules, meta := newRuleSources(sigmaFiles)
	d.st.SetRules(srules)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.src, d.rules, d.uploaded, d.disabled = src, meta, uploaded, disabled
	d.silenced = Silenced(srules)
	d.log.Info("stateful rules loaded", "rules", len(srules), "issues", len(sissues))
	return d.compileLocked(issues, rules)
}

// compileLocked compiles the enabled rules into the live engine; rules
// are the parsed rules of d.rules, or nil to parse d.src again.
func (d *Detector) compileLocked(loadIssues []sigma.LoadIssue, rules []*sigma.Rule) error {
	start := time.Now()
	if rules == nil {
		var err error
		if rules, err = d.src.parseAll(); err != nil {
			return fmt.Errorf("compile rules: %w", err)
		}
	}
	if len(rules) != len(d.rules) {
		return fmt.Errorf("compile rules: %d rules parsed, %d loaded", len(rules), len(d.rules))
	}
	// The rule list takes its text from these rules, as the engine's
	// rules do: one copy of the rules' text (packRuleText) stays alive.
	for i, r := range rules {
		m := &d.rules[i]
		m.ID, m.Title, m.Level, m.Status, m.Path, m.Tags = r.ID, r.Title, r.Level, r.Status, r.Path, r.Tags
	}
	var enabled []*sigma.Rule
	for _, r := range rules {
		if !d.disabled[r.ID] && !r.Correlation {
			enabled = append(enabled, r)
		}
	}
	eng, iss, err := sigma.Compile(enabled, sigma.Options{Pipeline: d.opts.Pipeline, Logger: d.log, SlimRules: true})
	if err != nil {
		return fmt.Errorf("compile rules: %w", err)
	}
	d.eng = eng
	d.compiled = map[string]bool{}
	d.tactics = map[*sigma.Rule][]string{}
	for _, r := range eng.Rules() {
		d.compiled[r.ID] = true
		d.tactics[r] = slices.Clip(TacticsOf(r.Tags))
	}
	d.loadIssues = slices.Clip(loadIssues)
	d.issues = append(d.loadIssues, iss...)
	d.log.Info("rules compiled", "rules", len(eng.Rules()), "loaded", len(d.rules), "issues", len(d.issues), "took", time.Since(start))
	return nil
}

// Issues returns the load and compile problems of the current rule set.
func (d *Detector) Issues() []sigma.LoadIssue {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return append([]sigma.LoadIssue(nil), d.issues...)
}

// Rules lists every loaded rule with its state and hit count.
func (d *Detector) Rules() []RuleInfo {
	d.mu.RLock()
	defer d.mu.RUnlock()
	d.smu.Lock()
	defer d.smu.Unlock()
	out := make([]RuleInfo, 0, len(d.rules))
	for _, r := range d.rules {
		out = append(out, RuleInfo{ID: r.ID, Title: r.Title, Level: r.Level, Status: r.Status, Tags: r.Tags, Tactics: TacticsOf(r.Tags),
			Path: r.Path, Uploaded: d.uploaded[r.ID], Enabled: !d.disabled[r.ID], Compiled: d.compiled[r.ID], Hits: d.hits[r.ID]})
	}
	return out
}

// SetEnabled turns a rule on or off and recompiles.
func (d *Detector) SetEnabled(id string, on bool) error {
	d.cmu.Lock()
	defer d.cmu.Unlock()
	// The rules are parsed again from their text before mu is taken, so
	// detection goes on meanwhile; cmu keeps the text as it is.
	d.mu.RLock()
	src, found := d.src, slices.ContainsFunc(d.rules, func(r ruleMeta) bool { return r.ID == id })
	d.mu.RUnlock()
	if !found {
		return fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	rules, err := src.parseAll()
	if err != nil {
		return fmt.Errorf("compile rules: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if on {
		delete(d.disabled, id)
	} else {
		d.disabled[id] = true
	}
	if err := d.saveStateLocked(); err != nil {
		return err
	}
	return d.compileLocked(d.loadIssues, rules)
}

func (d *Detector) saveStateLocked() error {
	if d.opts.StateDir == "" {
		return nil
	}
	var st detectorState
	for id := range d.disabled {
		st.Disabled = append(st.Disabled, id)
	}
	sort.Strings(st.Disabled)
	b, _ := json.MarshalIndent(st, "", "  ") // plain struct always marshals
	if err := atomicfile.Write(filepath.Join(d.opts.StateDir, "state.json"), b, 0o600); err != nil {
		return fmt.Errorf("save rule state: %w", err)
	}
	return nil
}

var safeID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// ParseUpload parses Sigma YAML sent by a user: every rule must parse and
// compile. Problems come back positioned, all at once.
func (d *Detector) ParseUpload(data []byte) ([]*sigma.Rule, error) {
	rules, err := sigma.ParseRule(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if len(rules) == 0 {
		return nil, fmt.Errorf("%w: no rule in the document", ErrInvalid)
	}
	var probs []string
	for _, r := range rules {
		if !safeID.MatchString(r.ID) {
			probs = append(probs, fmt.Sprintf("rule %q: id must be 1-128 letters, digits, '.', '_' or '-'", r.Title))
		}
	}
	if len(probs) == 0 {
		_, iss, err := sigma.Compile(rules, sigma.Options{Pipeline: d.opts.Pipeline})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		for _, is := range iss {
			probs = append(probs, is.String())
		}
	}
	if len(probs) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, strings.Join(probs, "; "))
	}
	return rules, nil
}

// PutRule validates and stores an uploaded rule document, then recompiles.
func (d *Detector) PutRule(data []byte) ([]RuleInfo, error) {
	rules, err := d.ParseUpload(data)
	if err != nil {
		return nil, err
	}
	if d.opts.StateDir == "" {
		return nil, fmt.Errorf("%w: this node keeps no uploaded rules", ErrInvalid)
	}
	d.cmu.Lock()
	defer d.cmu.Unlock()
	// One file per document, named by its first rule's id.
	path := filepath.Join(d.opts.StateDir, rules[0].ID+".yml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("save rule: %w", err)
	}
	if err := d.reload(); err != nil {
		return nil, err
	}
	var out []RuleInfo
	for _, ri := range d.Rules() {
		for _, r := range rules {
			if ri.ID == r.ID {
				out = append(out, ri)
			}
		}
	}
	return out, nil
}

// DeleteRule removes an uploaded rule.
func (d *Detector) DeleteRule(id string) error {
	if d.opts.StateDir == "" || !safeID.MatchString(id) {
		return fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	d.cmu.Lock()
	defer d.cmu.Unlock()
	if err := os.Remove(filepath.Join(d.opts.StateDir, id+".yml")); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s (only uploaded rules can be deleted): %w", id, ErrNotFound)
		}
		return fmt.Errorf("delete rule: %w", err)
	}
	return d.reload()
}

// RuleTest is the answer of TestRule.
type RuleTest struct {
	Signals []Signal
	// OutsideLogSource counts the events that the rules' detection matches
	// once their log source is left out, but that the rules as written do
	// not: samples that are not of the rules' log source (a Sigma rule runs
	// only on events of its own), so the test can say why they got nothing.
	OutsideLogSource int
}

// TestRule compiles a rule document on its own and runs it over events.
func (d *Detector) TestRule(data []byte, events []event.Event) (RuleTest, error) {
	rules, err := d.ParseUpload(data)
	if err != nil {
		return RuleTest{}, err
	}
	eng, _, err := sigma.Compile(rules, sigma.Options{Pipeline: d.opts.Pipeline})
	if err != nil {
		return RuleTest{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var out RuleTest
	hit := make([]bool, len(events))
	for i := range events {
		eng.Match(&events[i], func(m sigma.Match) {
			hit[i] = true
			out.Signals = append(out.Signals, newSignal(m.Rule, &events[i], nil))
		})
	}
	if !slices.Contains(hit, false) {
		return out, nil
	}
	// The same detection without log sources (filter meta-rules left out).
	var bare []*sigma.Rule
	for _, r := range rules {
		if r.Filter == nil {
			c := *r
			c.LogSource = sigma.LogSource{}
			bare = append(bare, &c)
		}
	}
	if eng, _, err = sigma.Compile(bare, sigma.Options{Pipeline: d.opts.Pipeline}); err != nil {
		return out, nil // the hint is best effort; the test itself succeeded
	}
	for i := range events {
		if hit[i] {
			continue
		}
		matched := false
		eng.Match(&events[i], func(sigma.Match) { matched = true })
		if matched {
			out.OutsideLogSource++
		}
	}
	return out, nil
}

// newSignal is the signal of rule r firing on e; tactics, when not nil,
// holds the rules' tactics (Detector.tactics), else they are worked out.
func newSignal(r *sigma.Rule, e *event.Event, tactics map[*sigma.Rule][]string) Signal {
	s := signalOf(r, e, tactics)
	s.ID = signalID(r.ID, e.Time, e.Raw)
	return s
}

// signalOf is newSignal without the ID (a hash of the whole raw event),
// which Detect computes only for the signals suppression keeps.
func signalOf(r *sigma.Rule, e *event.Event, tactics map[*sigma.Rule][]string) Signal {
	tt, ok := tactics[r]
	if !ok {
		tt = TacticsOf(r.Tags)
	}
	raw := e.Raw
	if len(raw) > maxEvidence {
		raw = raw[:maxEvidence]
	}
	return Signal{Time: e.Time, RuleID: r.ID, Title: r.Title, Level: r.Level, Severity: SeverityOf(r.Level),
		Tags: r.Tags, Tactics: tt, Entities: Entities(e), EventTime: e.Time, EventSource: e.Source, EventHost: e.Host,
		EventPartition: e.Partition, EventRaw: raw, EventReceived: e.Received, Kind: "sigma"}
}

// skipDetection reports whether an event is our own output or internal
// data, which detection never looks at.
func skipDetection(e *event.Event) bool {
	return e.Partition == SignalsPartition || (len(e.Partition) > 0 && e.Partition[0] == '_')
}

// parallelMatchMin is the batch size from which Sigma matching is spread
// over the cores (per worker); smaller batches match on the caller's
// goroutine.
const parallelMatchMin = 256

// matchAll runs the Sigma engine over events, in parallel for large
// batches (the engine is immutable and safe for concurrent use), and
// returns the rules that matched each event. Everything with state
// (stateful rules, suppression) runs afterwards, in event order.
func matchAll(eng *sigma.Engine, events []event.Event) [][]*sigma.Rule {
	out := make([][]*sigma.Rule, len(events))
	match := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if e := &events[i]; !skipDetection(e) {
				eng.Match(e, func(m sigma.Match) { out[i] = append(out[i], m.Rule) })
			}
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(events)/parallelMatchMin)
	if workers <= 1 {
		match(0, len(events))
		return out
	}
	var wg sync.WaitGroup
	per := (len(events) + workers - 1) / workers
	for lo := 0; lo < len(events); lo += per {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			match(lo, hi)
		}(lo, min(lo+per, len(events)))
	}
	wg.Wait()
	return out
}

// Detect runs the enabled rules on events and returns the signals to
// raise, after suppression of repeats.
func (d *Detector) Detect(events []event.Event) []Signal {
	d.mu.RLock()
	eng, silenced, tactics := d.eng, d.silenced, d.tactics
	d.mu.RUnlock()
	matches := matchAll(eng, events)
	var out []Signal
	var matched []string
	observed := false
	for i := range events {
		e := &events[i]
		if skipDetection(e) {
			continue
		}
		matched = matched[:0]
		for _, r := range matches[i] {
			matched = append(matched, r.ID)
			if r.Name != "" {
				matched = append(matched, r.Name)
			}
			if silenced[r.ID] || (r.Name != "" && silenced[r.Name]) {
				continue // feeds a correlation only (generate: false)
			}
			s := signalOf(r, e, tactics)
			if d.keep(&s) {
				s.ID = signalID(r.ID, e.Time, e.Raw)
				out = append(out, s)
			}
		}
		// Stateful rules see every event with the Sigma rules it matched (#6).
		observed = true
		sigs, v, intel := d.st.observeBatch(e, matched)
		for _, s := range sigs {
			if d.keep(&s) {
				out = append(out, s)
			}
		}
		if intel {
			s := IntelSignal(e, v)
			if d.keep(&s) {
				out = append(out, s)
			}
		}
	}
	if observed {
		d.st.touch()
	}
	d.processed.Add(uint64(len(events)))
	d.raised.Add(uint64(len(out)))
	return out
}

// keep applies suppression and counts hits.
func (d *Detector) keep(s *Signal) bool {
	d.smu.Lock()
	defer d.smu.Unlock()
	d.hits[s.RuleID]++
	if d.opts.SuppressFor < 0 {
		return true
	}
	var key strings.Builder
	key.WriteString(s.RuleID)
	for _, e := range s.Entities {
		if e.Type == EntityHost || e.Type == EntityUser || e.Type == EntityIP {
			key.WriteString("|" + e.Type + "=" + e.Value)
		}
	}
	now := time.Unix(0, s.Time)
	k := key.String()
	if sp, ok := d.supp[k]; ok && now.Sub(sp.first) >= 0 && now.Sub(sp.first) < d.opts.SuppressFor {
		sp.count++
		d.suppressed.Add(1)
		return false
	}
	if len(d.supp) > 100_000 {
		for kk, sp := range d.supp {
			if now.Sub(sp.first) > d.opts.SuppressFor {
				delete(d.supp, kk)
			}
		}
	}
	d.supp[k] = &suppression{first: now}
	return true
}

// Counts are the detector's counters.
type Counts struct {
	Processed, Raised, Suppressed uint64
	// CaughtUp counts the events detected by catch-ups (read back from the
	// store after the live queue overflowed), CatchUps the catch-ups, and
	// Missing the events a gap recorded that its catch-up did not find.
	CaughtUp, CatchUps, Missing uint64
}

// Counts returns the counters since Open.
func (d *Detector) Counts() Counts {
	return Counts{Processed: d.processed.Load(), Raised: d.raised.Load(), Suppressed: d.suppressed.Load(),
		CaughtUp: d.caughtUp.Load(), CatchUps: d.catchUps.Load(), Missing: d.missing.Load()}
}

// Lag is how long ago the oldest event that live detection has taken but
// not yet finished arrived (its receive time), or 0 when detection has
// caught up. Events still queued for detection are newer than that one,
// so this is the age of the oldest undetected event.
func (d *Detector) Lag() time.Duration {
	since := d.busySince.Load()
	if since == 0 {
		return 0
	}
	return max(0, time.Duration(d.now().UnixNano()-since))
}

// arrival is when e arrived: its receive time, or now when it has none
// (or a receive time in the future, from another clock).
func arrival(e *event.Event, now time.Time) int64 {
	if n := now.UnixNano(); e.Received <= 0 || e.Received > n {
		return n
	}
	return e.Received
}

// Stateful returns the stateful rule engine (#6).
func (d *Detector) Stateful() *Stateful { return d.st }

// RuleHunter runs one rule retroactively.
type RuleHunter struct {
	eng  *sigma.Engine
	rule *sigma.Rule
}

// SingleRule compiles one loaded rule (enabled or not) for a retro-hunt.
func (d *Detector) SingleRule(id string) (*RuleHunter, error) {
	d.mu.RLock()
	src, at := d.src, -1
	for i := range d.rules {
		if d.rules[i].ID == id {
			at = i
		}
	}
	var meta ruleMeta
	if at >= 0 {
		meta = d.rules[at]
	}
	d.mu.RUnlock()
	if at < 0 {
		return nil, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	rules, err := src.parseFile(int(meta.file))
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", id, err)
	}
	rule := rules[meta.doc]
	eng, iss, err := sigma.Compile([]*sigma.Rule{rule}, sigma.Options{Pipeline: d.opts.Pipeline})
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", id, err)
	}
	if len(eng.Rules()) == 0 {
		msg := "rule does not compile"
		if len(iss) > 0 {
			msg = iss[0].String()
		}
		return nil, fmt.Errorf("%w: %s", ErrInvalid, msg)
	}
	return &RuleHunter{eng: eng, rule: rule}, nil
}

// Prefilter returns a search expression every match satisfies, for the
// query engine to prune with: the whole tokens the rule's literals
// require (sigma.Engine.QueryPrefilter), "*" when nothing is certain.
func (rh *RuleHunter) Prefilter() string { return rh.eng.QueryPrefilter() }

// Match returns the signals of the rule on one event (no suppression).
func (rh *RuleHunter) Match(e *event.Event) []Signal {
	var out []Signal
	rh.eng.Match(e, func(m sigma.Match) { out = append(out, newSignal(m.Rule, e, nil)) })
	return out
}

// IntelSignal is the signal of an event that contains a threat-intel
// indicator (the event carries threat.* fields from IntelSet.Enrich).
func IntelSignal(e *event.Event, value string) Signal {
	typ, _ := e.Get("threat.indicator.type")
	feed, _ := e.Get("threat.feed")
	raw := e.Raw
	if len(raw) > maxEvidence {
		raw = raw[:maxEvidence]
	}
	ents := Entities(e)
	switch typ {
	case IOCDomain, IOCHash, IOCAddress:
		ents = append(ents, Entity{Type: map[string]string{IOCDomain: EntityDomain, IOCHash: EntityHash, IOCAddress: EntityWallet}[typ], Value: value})
	case IOCIP:
		ents = append(ents, Entity{Type: EntityIP, Value: value})
	}
	ruleID := "intel:" + typ
	return Signal{ID: signalID(ruleID+value, e.Time, e.Raw), Time: e.Time, RuleID: ruleID, Title: "Threat intel match: " + typ + " " + value + " (" + feed + ")",
		Level: "high", Severity: "high", Tags: []string{"attack.command_and_control"}, Tactics: []string{"command_and_control"}, Entities: dedupEntities(ents),
		EventTime: e.Time, EventSource: e.Source, EventHost: e.Host, EventPartition: e.Partition, EventRaw: raw, EventReceived: e.Received, Kind: "intel"}
}

func dedupEntities(es []Entity) []Entity {
	var out []Entity
	for _, e := range es {
		dup := false
		for _, o := range out {
			if o.Type == e.Type && strings.EqualFold(o.Value, e.Value) {
				dup = true
			}
		}
		if !dup {
			out = append(out, e)
		}
	}
	return out
}

// StatefulInfo describes a loaded stateful rule for listings.
type StatefulInfo struct {
	ID      string   `json:"id"`
	Title   string   `json:"title"`
	Type    string   `json:"type"`
	Level   string   `json:"level"`
	Tags    []string `json:"tags,omitempty"`
	Tactics []string `json:"tactics,omitempty"`
}

// StatefulRules lists the stateful rules (correlations, thresholds,
// chains, first-seen, outliers...) the detector runs.
func (d *Detector) StatefulRules() []StatefulInfo {
	st := d.Stateful()
	if st == nil {
		return nil
	}
	var out []StatefulInfo
	for _, r := range st.Rules() {
		title := r.Title
		if title == "" {
			title = r.Name
		}
		out = append(out, StatefulInfo{ID: r.ID, Title: title, Type: r.Type, Level: r.Level, Tags: r.Tags, Tactics: TacticsOf(r.Tags)})
	}
	return out
}

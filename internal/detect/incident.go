package detect

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/mamori/mamori/internal/atomicfile"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Incident statuses.
const (
	StatusNew        = "new"
	StatusInProgress = "in_progress"
	StatusClosed     = "closed"
)

// SignalRef is a signal as kept on an incident's timeline.
type SignalRef struct {
	ID          string    `json:"id"`
	RuleID      string    `json:"rule_id"`
	Title       string    `json:"title"`
	Severity    string    `json:"severity"`
	Kind        string    `json:"kind"`
	Time        time.Time `json:"time"`
	Entities    []Entity  `json:"entities"`
	Tactics     []string  `json:"tactics,omitempty"`
	EventSource string    `json:"event_source,omitempty"`
	EventHost   string    `json:"event_host,omitempty"`
	EventRaw    string    `json:"event_raw,omitempty"`
	// EventPartition scopes who may see this signal.
	EventPartition string `json:"event_partition,omitempty"`
}

// Comment is a note on an incident.
type Comment struct {
	Time   time.Time `json:"time"`
	Author string    `json:"author"`
	Text   string    `json:"text"`
}

// Incident groups the signals about the same entities.
type Incident struct {
	ID         string      `json:"id"`
	Title      string      `json:"title"`
	Severity   string      `json:"severity"`
	Status     string      `json:"status"`
	Resolution string      `json:"resolution,omitempty"` // when closed: true_positive, false_positive, benign, duplicate
	Assignee   string      `json:"assignee,omitempty"`
	FirstSeen  time.Time   `json:"first_seen"`
	LastSeen   time.Time   `json:"last_seen"`
	CreatedAt  time.Time   `json:"created_at"`
	UpdatedAt  time.Time   `json:"updated_at"`
	Score      float64     `json:"score"`
	Entities   []Entity    `json:"entities"`
	Tactics    []string    `json:"tactics"`
	Sources    []string    `json:"sources,omitempty"`
	Signals    []SignalRef `json:"signals"`
	Comments   []Comment   `json:"comments,omitempty"`
	MergedInto string      `json:"merged_into,omitempty"`
}

// CriticalityRule raises the weight of signals about matching entities,
// e.g. {Type: host, Match: "wallet-signer*", Bonus: 3}.
type CriticalityRule struct {
	Type  string `json:"type" yaml:"type"`
	Match string `json:"match" yaml:"match"` // path.Match glob, case-insensitive
	Bonus int    `json:"bonus" yaml:"bonus"`
}

// IncidentOptions configures the correlator.
type IncidentOptions struct {
	// Window is how long signals count towards an entity's score
	// (default 14 days).
	Window time.Duration
	// Threshold is the activity score that opens an incident (default 12:
	// two high signals, or four medium ones, of distinct rules).
	Threshold float64
	// TacticThreshold opens an incident when an entity's signals span this
	// many distinct ATT&CK tactics (default 3) and at least two distinct
	// rules among them are above low severity.
	TacticThreshold int
	Criticality     []CriticalityRule
	// Ignore lists entities never used for grouping (shared infrastructure:
	// proxies, domain controllers' service accounts).
	Ignore []Entity
	// HubHosts: an IP, domain or user seen in signals from more than this
	// many distinct hosts is shared infrastructure, not a link (default 5).
	HubHosts int
	// HubRuleHosts: a rule whose signals came from more than this many
	// distinct hosts is background noise (a logoff, a common autorun):
	// its later signals neither open nor link incidents (default 10). (#6)
	HubRuleHosts int
	// Dir persists incidents (incidents.json); "" keeps them in memory.
	Dir    string
	Logger *slog.Logger
	// OnChange is called (outside locks) when an incident opens
	// ("created"), rises in severity ("escalated") or is merged.
	OnChange func(inc Incident, what string)
}

// Correlator turns signals into incidents. Safe for concurrent use.
type Correlator struct {
	opts IncidentOptions
	log  *slog.Logger

	mu        sync.Mutex             // guards everything below
	window    map[string][]SignalRef // entity key → recent signals
	hubs      map[string]map[string]bool
	ruleHosts map[string]map[string]bool // rule id → distinct hosts (capped), for HubRuleHosts
	incidents map[string]*Incident
	byEntity  map[string]string // entity key → open incident id
	dirty     bool
}

var severityWeight = map[string]float64{"low": 1, "medium": 3, "high": 6, "critical": 12}

// linkTypes are the entity types that group signals (processes and file
// paths are too common to link on).
var linkTypes = map[string]bool{EntityHost: true, EntityUser: true, EntityIP: true, EntityDomain: true, EntityHash: true, EntityWallet: true}

func entityKey(e Entity) string { return e.Type + "\x00" + strings.ToLower(e.Value) }

// OpenCorrelator loads persisted incidents.
func OpenCorrelator(opts IncidentOptions) (*Correlator, error) {
	if opts.Window <= 0 {
		opts.Window = 14 * 24 * time.Hour
	}
	if opts.Threshold <= 0 {
		opts.Threshold = 12
	}
	if opts.TacticThreshold <= 0 {
		opts.TacticThreshold = 3
	}
	if opts.HubHosts <= 0 {
		opts.HubHosts = 5
	}
	if opts.HubRuleHosts <= 0 {
		opts.HubRuleHosts = 10
	}
	c := &Correlator{opts: opts, log: opts.Logger, window: map[string][]SignalRef{}, hubs: map[string]map[string]bool{},
		incidents: map[string]*Incident{}, byEntity: map[string]string{}, ruleHosts: map[string]map[string]bool{}}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if opts.Dir != "" {
		if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("open incidents: %w", err)
		}
		b, err := os.ReadFile(filepath.Join(opts.Dir, "incidents.json"))
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("open incidents: %w", err)
		default:
			var st correlatorState
			if err := json.Unmarshal(b, &st); err != nil {
				return nil, fmt.Errorf("open incidents: %w", err)
			}
			for _, inc := range st.Incidents {
				c.incidents[inc.ID] = inc
				if inc.Status != StatusClosed && inc.MergedInto == "" {
					for _, e := range inc.Entities {
						c.byEntity[entityKey(e)] = inc.ID
					}
				}
			}
			c.window = st.Window
			if c.window == nil {
				c.window = map[string][]SignalRef{}
			}
		}
	}
	return c, nil
}

type correlatorState struct {
	Incidents []*Incident            `json:"incidents"`
	Window    map[string][]SignalRef `json:"window"`
}

func (c *Correlator) ignored(e Entity) bool {
	for _, ig := range c.opts.Ignore {
		if ig.Type == e.Type && strings.EqualFold(ig.Value, e.Value) {
			return true
		}
	}
	return false
}

func (c *Correlator) criticality(es []Entity) int {
	best := 0
	for _, e := range es {
		for _, r := range c.opts.Criticality {
			if r.Type != "" && r.Type != e.Type {
				continue
			}
			if ok, _ := path.Match(strings.ToLower(r.Match), strings.ToLower(e.Value)); ok && r.Bonus > best {
				best = r.Bonus
			}
		}
	}
	return best
}

// links returns the entities of a signal used for grouping, leaving out
// ignored entities and hubs.
func (c *Correlator) linksLocked(s *SignalRef) []Entity {
	host := ""
	for _, e := range s.Entities {
		if e.Type == EntityHost {
			host = strings.ToLower(e.Value)
			break
		}
	}
	var out []Entity
	for _, e := range s.Entities {
		if !linkTypes[e.Type] || c.ignored(e) {
			continue
		}
		k := entityKey(e)
		if e.Type != EntityHost && host != "" {
			hs := c.hubs[k]
			if hs == nil {
				hs = map[string]bool{}
				c.hubs[k] = hs
			}
			if len(hs) <= c.opts.HubHosts {
				hs[host] = true
			}
			if len(hs) > c.opts.HubHosts {
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

// Add takes one signal. It returns the incident the signal joined or
// opened, if any.
func (c *Correlator) Add(sig Signal) *Incident {
	ref := SignalRef{ID: sig.ID, RuleID: sig.RuleID, Title: sig.Title, Severity: sig.Severity, Kind: sig.Kind, Time: time.Unix(0, sig.Time).UTC(),
		Entities: sig.Entities, Tactics: sig.Tactics, EventSource: sig.EventSource, EventHost: sig.EventHost, EventRaw: truncate(sig.EventRaw, 2048), EventPartition: sig.EventPartition}
	var changes []func()
	c.mu.Lock()
	inc := c.addLocked(ref, &changes)
	var out *Incident
	if inc != nil {
		cp := *inc
		out = &cp
	}
	c.mu.Unlock()
	for _, fn := range changes {
		fn()
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func (c *Correlator) addLocked(ref SignalRef, changes *[]func()) *Incident {
	if c.noisyRuleLocked(&ref) {
		return nil
	}
	// A low signal is context: it counts towards scores and joins an open
	// incident about one of its entities, but it neither opens incidents
	// nor links new entities into them (#6).
	weak := ref.Severity == "low"
	links := c.linksLocked(&ref)
	if len(links) == 0 {
		return nil
	}
	// Slide the window of each entity and record the signal.
	cutoff := ref.Time.Add(-c.opts.Window)
	for _, e := range links {
		k := entityKey(e)
		w := c.window[k]
		i := 0
		for i < len(w) && w[i].Time.Before(cutoff) {
			i++
		}
		w = append(w[i:], ref)
		if len(w) > 500 { // bound memory per entity
			w = w[len(w)-500:]
		}
		c.window[k] = w
	}
	c.dirty = true
	if weak {
		for _, e := range links {
			if id, ok := c.byEntity[entityKey(e)]; ok {
				if inc := c.incidents[id]; inc != nil && inc.Status != StatusClosed && inc.MergedInto == "" {
					c.attachLocked(inc, ref, nil, changes)
					return inc
				}
			}
		}
		return nil
	}
	// Join open incidents that share an entity (merging them if several).
	var ids []string
	for _, e := range links {
		if id, ok := c.byEntity[entityKey(e)]; ok && !slices.Contains(ids, id) {
			if inc := c.incidents[id]; inc != nil && inc.Status != StatusClosed && inc.MergedInto == "" {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) > 0 {
		sort.Slice(ids, func(i, j int) bool { return c.incidents[ids[i]].CreatedAt.Before(c.incidents[ids[j]].CreatedAt) })
		inc := c.incidents[ids[0]]
		for _, other := range ids[1:] {
			c.mergeLocked(inc, c.incidents[other], changes)
		}
		c.attachLocked(inc, ref, links, changes)
		return inc
	}
	// Open an incident when the activity of an asset or identity (host,
	// user, wallet address) passes the bar. IPs, domains and hashes link
	// signals into incidents but do not open them on their own: a shared
	// proxy or resolver would otherwise tie unrelated hosts together.
	for _, e := range links {
		if e.Type != EntityHost && e.Type != EntityUser && e.Type != EntityWallet && ref.Severity != "critical" {
			continue
		}
		w := c.window[entityKey(e)]
		score, tactics := c.scoreLocked(w)
		critical := ref.Severity == "critical"
		spread := len(tactics) >= c.opts.TacticThreshold && corroborated(w)
		if score >= c.opts.Threshold || spread || critical {
			inc := &Incident{ID: newIncidentID(), Status: StatusNew, CreatedAt: time.Now().UTC(), FirstSeen: ref.Time, LastSeen: ref.Time, Severity: "low"}
			c.incidents[inc.ID] = inc
			// Bring in the recent signals of the entity that tipped it.
			for _, past := range w {
				if past.ID != ref.ID {
					var pl []Entity
					if past.Severity != "low" {
						pl = c.linksOf(past)
					}
					c.attachLocked(inc, past, pl, nil)
				}
			}
			c.attachLocked(inc, ref, links, nil)
			snap := *inc
			*changes = append(*changes, func() { c.notify(snap, "created") })
			c.log.Info("incident opened", "incident", inc.ID, "title", inc.Title, "severity", inc.Severity)
			return inc
		}
	}
	return nil
}

// noisyRuleLocked counts the distinct hosts of a rule's signals and
// reports whether the rule fires on more than HubRuleHosts hosts. (#6)
func (c *Correlator) noisyRuleLocked(s *SignalRef) bool {
	host := strings.ToLower(s.EventHost)
	if host == "" {
		for _, e := range s.Entities {
			if e.Type == EntityHost {
				host = strings.ToLower(e.Value)
				break
			}
		}
	}
	hs := c.ruleHosts[s.RuleID]
	if hs == nil {
		hs = map[string]bool{}
		c.ruleHosts[s.RuleID] = hs
	}
	if host != "" && len(hs) <= c.opts.HubRuleHosts {
		hs[host] = true
	}
	return len(hs) > c.opts.HubRuleHosts
}

// linksOf returns the grouping entities of a past signal (hubs as known now).
func (c *Correlator) linksOf(s SignalRef) []Entity {
	var out []Entity
	for _, e := range s.Entities {
		if !linkTypes[e.Type] || c.ignored(e) {
			continue
		}
		if hs := c.hubs[entityKey(e)]; e.Type != EntityHost && len(hs) > c.opts.HubHosts {
			continue
		}
		out = append(out, e)
	}
	return out
}

// corroborated reports whether a window holds signals of at least two
// distinct rules above low severity. The spread of tactics opens an
// incident only then: low signals are context (a failed-then-successful
// logon, a first SSH login to a host), and one medium signal with two such
// lows days apart is an analyst's background noise, not an intrusion.
func corroborated(w []SignalRef) bool {
	first := ""
	for _, s := range w {
		if s.Severity == "low" || s.RuleID == first {
			continue
		}
		if first != "" {
			return true
		}
		first = s.RuleID
	}
	return false
}

// scoreLocked sums severity weights over distinct rules in a window, with
// criticality, and lists the tactics seen.
func (c *Correlator) scoreLocked(w []SignalRef) (float64, []string) {
	best := map[string]float64{}
	tac := map[string]bool{}
	for _, s := range w {
		wgt := severityWeight[s.Severity] * float64(1+c.criticality(s.Entities))
		if wgt > best[s.RuleID] {
			best[s.RuleID] = wgt
		}
		for _, t := range s.Tactics {
			tac[t] = true
		}
	}
	score := 0.0
	for _, v := range best {
		score += v
	}
	var tactics []string
	for _, t := range Tactics {
		if tac[t] || tac[strings.ReplaceAll(t, "_", "-")] {
			tactics = append(tactics, t)
		}
	}
	return score, tactics
}

func (c *Correlator) attachLocked(inc *Incident, ref SignalRef, links []Entity, changes *[]func()) {
	for _, s := range inc.Signals {
		if s.ID == ref.ID {
			return
		}
	}
	inc.Signals = append(inc.Signals, ref)
	sort.SliceStable(inc.Signals, func(i, j int) bool { return inc.Signals[i].Time.Before(inc.Signals[j].Time) })
	for _, e := range links {
		if !slices.ContainsFunc(inc.Entities, func(x Entity) bool { return x.Type == e.Type && strings.EqualFold(x.Value, e.Value) }) {
			inc.Entities = append(inc.Entities, e)
		}
		c.byEntity[entityKey(e)] = inc.ID
	}
	if ref.EventSource != "" && !slices.Contains(inc.Sources, ref.EventSource) {
		inc.Sources = append(inc.Sources, ref.EventSource)
	}
	if ref.Time.Before(inc.FirstSeen) {
		inc.FirstSeen = ref.Time
	}
	if ref.Time.After(inc.LastSeen) {
		inc.LastSeen = ref.Time
	}
	before := inc.Severity
	c.rescoreLocked(inc)
	inc.UpdatedAt = time.Now().UTC()
	c.dirty = true
	if changes != nil && SeverityRank(inc.Severity) > SeverityRank(before) {
		snap := *inc
		*changes = append(*changes, func() { c.notify(snap, "escalated") })
	}
}

// rescoreLocked recomputes tactics, score, severity and title. Severity
// never goes down: it rises with the highest signal and with the progress
// of the attack through the kill chain.
func (c *Correlator) rescoreLocked(inc *Incident) {
	score, tactics := c.scoreLocked(inc.Signals)
	inc.Score, inc.Tactics = score, tactics
	sev := 0
	for _, s := range inc.Signals {
		sev = max(sev, SeverityRank(s.Severity))
	}
	has := func(t string) bool { return slices.Contains(tactics, t) }
	late := has("lateral_movement") || has("exfiltration") || has("impact")
	switch {
	case len(tactics) >= 6 || (late && len(tactics) >= 4 && sev >= 2):
		sev = max(sev, 3)
	case len(tactics) >= 4 || (late && len(tactics) >= 2):
		sev = max(sev, 2)
	case len(tactics) >= 2:
		sev = max(sev, 1)
	}
	if SeverityRank(inc.Severity) > sev {
		sev = SeverityRank(inc.Severity)
	}
	inc.Severity = Severities[sev]
	inc.Title = incidentTitle(inc)
}

func incidentTitle(inc *Incident) string {
	var host, user string
	for _, e := range inc.Entities {
		if e.Type == EntityHost && host == "" {
			host = e.Value
		}
		if e.Type == EntityUser && user == "" {
			user = e.Value
		}
	}
	stage := "suspicious activity"
	if n := len(inc.Tactics); n > 0 {
		stage = strings.ReplaceAll(inc.Tactics[n-1], "_", " ")
	}
	subject := host
	if user != "" {
		if subject != "" {
			subject += " / "
		}
		subject += user
	}
	hosts := 0
	for _, e := range inc.Entities {
		if e.Type == EntityHost {
			hosts++
		}
	}
	if hosts > 1 {
		subject += fmt.Sprintf(" (+%d hosts)", hosts-1)
	}
	return fmt.Sprintf("%s on %s: %d signals, %d tactics", stage, subject, len(inc.Signals), len(inc.Tactics))
}

func (c *Correlator) mergeLocked(into, from *Incident, changes *[]func()) {
	for _, s := range from.Signals {
		c.attachLocked(into, s, c.linksOf(s), nil)
	}
	into.Comments = append(into.Comments, from.Comments...)
	from.MergedInto = into.ID
	from.Status = StatusClosed
	from.Resolution = "duplicate"
	for k, id := range c.byEntity {
		if id == from.ID {
			c.byEntity[k] = into.ID
		}
	}
	snap := *into
	*changes = append(*changes, func() { c.notify(snap, "merged") })
}

func (c *Correlator) notify(inc Incident, what string) {
	if c.opts.OnChange != nil {
		c.opts.OnChange(inc, what)
	}
}

func newIncidentID() string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic("BUG: crypto/rand failed: " + err.Error())
	}
	return "INC-" + strings.ToUpper(hex.EncodeToString(b))
}

// IncidentFilter selects incidents for List.
type IncidentFilter struct {
	From, To time.Time // by last_seen; zero = unbounded
	Status   string
}

// List returns incidents (not merged ones), newest activity first.
func (c *Correlator) List(f IncidentFilter) []Incident {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Incident
	for _, inc := range c.incidents {
		if inc.MergedInto != "" {
			continue
		}
		if f.Status != "" && inc.Status != f.Status {
			continue
		}
		if !f.From.IsZero() && inc.LastSeen.Before(f.From) {
			continue
		}
		if !f.To.IsZero() && !inc.FirstSeen.Before(f.To) {
			continue
		}
		out = append(out, *inc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LastSeen.After(out[j].LastSeen) })
	return out
}

// Get returns one incident.
func (c *Correlator) Get(id string) (Incident, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	inc, ok := c.incidents[id]
	if !ok {
		return Incident{}, false
	}
	return *inc, true
}

// IncidentUpdate changes triage fields; nil fields are left alone.
type IncidentUpdate struct {
	Status     *string
	Resolution *string
	Assignee   *string
	Comment    string
	Author     string
}

// Update applies triage changes. A resolution of false_positive is
// feedback: FalsePositiveRules reports it for suppression tuning.
func (c *Correlator) Update(id string, up IncidentUpdate) (Incident, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	inc, ok := c.incidents[id]
	if !ok {
		return Incident{}, fmt.Errorf("incident %s: %w", id, ErrNotFound)
	}
	if up.Status != nil {
		switch *up.Status {
		case StatusNew, StatusInProgress, StatusClosed:
		default:
			return Incident{}, fmt.Errorf("%w: status %q: want new, in_progress or closed", ErrInvalid, *up.Status)
		}
		inc.Status = *up.Status
		if inc.Status == StatusClosed {
			for k, v := range c.byEntity {
				if v == inc.ID {
					delete(c.byEntity, k)
				}
			}
		}
	}
	if up.Resolution != nil {
		switch *up.Resolution {
		case "", "true_positive", "false_positive", "benign", "duplicate":
		default:
			return Incident{}, fmt.Errorf("%w: resolution %q: want true_positive, false_positive, benign or duplicate", ErrInvalid, *up.Resolution)
		}
		inc.Resolution = *up.Resolution
	}
	if up.Assignee != nil {
		inc.Assignee = *up.Assignee
	}
	if up.Comment != "" {
		inc.Comments = append(inc.Comments, Comment{Time: time.Now().UTC(), Author: up.Author, Text: up.Comment})
	}
	inc.UpdatedAt = time.Now().UTC()
	c.dirty = true
	return *inc, nil
}

// FalsePositiveRules returns the rules whose signals were in incidents
// closed as false positives, with counts (for suppression tuning).
func (c *Correlator) FalsePositiveRules() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for _, inc := range c.incidents {
		if inc.Resolution == "false_positive" {
			for _, s := range inc.Signals {
				out[s.RuleID]++
			}
		}
	}
	return out
}

// Save persists the incidents and windows if they changed.
func (c *Correlator) Save() error {
	if c.opts.Dir == "" {
		return nil
	}
	c.mu.Lock()
	if !c.dirty {
		c.mu.Unlock()
		return nil
	}
	st := correlatorState{Window: c.window}
	for _, inc := range c.incidents {
		st.Incidents = append(st.Incidents, inc)
	}
	b, err := json.Marshal(&st)
	c.dirty = false
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("save incidents: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(c.opts.Dir, "incidents.json"), b, 0o600); err != nil {
		return fmt.Errorf("save incidents: %w", err)
	}
	return nil
}

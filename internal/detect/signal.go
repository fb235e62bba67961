package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/mamori/mamori/internal/event"
)

// SignalsPartition is where signals are stored.
const SignalsPartition = "signals"

// Severities, lowest first.
var Severities = []string{"low", "medium", "high", "critical"}

// SeverityOf maps a Sigma level to a severity.
func SeverityOf(level string) string {
	switch strings.ToLower(level) {
	case "critical":
		return "critical"
	case "high":
		return "high"
	case "medium":
		return "medium"
	}
	return "low" // informational, low, unknown
}

// SeverityRank orders severities (0 = low).
func SeverityRank(s string) int {
	for i, x := range Severities {
		if x == s {
			return i
		}
	}
	return 0
}

// Tactics are the ATT&CK tactics in kill-chain order; a tag
// "attack.<tactic>" names one.
var Tactics = []string{"reconnaissance", "resource_development", "initial_access", "execution", "persistence", "privilege_escalation",
	"defense_evasion", "credential_access", "discovery", "lateral_movement", "collection", "command_and_control", "exfiltration", "impact"}

// TacticsOf returns the ATT&CK tactics named by tags, in kill-chain order.
func TacticsOf(tags []string) []string {
	var out []string
	for _, t := range Tactics {
		for _, tag := range tags {
			tag = strings.ToLower(tag)
			if tag == "attack."+t || tag == "attack."+strings.ReplaceAll(t, "_", "-") {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

// Signal is one detection: a rule that fired on an event.
type Signal struct {
	ID       string   `json:"id"`
	Time     int64    `json:"-"` // the matched event's time, Unix ns
	RuleID   string   `json:"rule_id"`
	Title    string   `json:"title"`
	Level    string   `json:"level"`
	Severity string   `json:"severity"`
	Tags     []string `json:"tags,omitempty"`
	Tactics  []string `json:"tactics,omitempty"`
	Entities []Entity `json:"entities"`
	// The matched event, for evidence.
	EventTime      int64  `json:"-"`
	EventSource    string `json:"event_source,omitempty"`
	EventHost      string `json:"event_host,omitempty"`
	EventPartition string `json:"event_partition,omitempty"`
	EventRaw       string `json:"event_raw,omitempty"`
	// EventReceived is when the server accepted the matched event (Unix
	// ns; 0 for signals without one): signal time minus it is the
	// detection lag.
	EventReceived int64 `json:"-"`
	// Suppressed counts earlier repeats folded into this signal.
	Suppressed int `json:"suppressed,omitempty"`
	// Kind is "sigma", "intel" or a stateful rule type.
	Kind string `json:"kind"`
}

// maxEvidence bounds the copy of the matched event kept on a signal.
const maxEvidence = 8 << 10

// signalID is stable for the same rule, event time and raw message, so a
// replay after a crash raises the same id (and search can dedup).
func signalID(ruleID string, t int64, raw string) string {
	h := sha256.New()
	h.Write([]byte(ruleID))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(t, 10)))
	h.Write([]byte{0})
	h.Write([]byte(raw))
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// Event renders the signal as an event of the signals partition.
func (s *Signal) Event() event.Event {
	ents, _ := json.Marshal(s.Entities) // plain structs always marshal
	e := event.Event{
		Time: s.Time, Source: "mamori-detect", Host: s.EventHost, Category: "signal", Partition: SignalsPartition,
		Raw: s.Severity + " " + s.Title + describeEntities(s.Entities),
	}
	add := func(k, v string) {
		if v != "" {
			e.Fields = append(e.Fields, event.Field{Name: k, Value: v})
		}
	}
	add("signal.id", s.ID)
	add("signal.kind", s.Kind)
	add("rule.id", s.RuleID)
	add("rule.title", s.Title)
	add("rule.level", s.Level)
	add("severity", s.Severity)
	add("rule.tags", strings.Join(s.Tags, ","))
	add("tactics", strings.Join(s.Tactics, ","))
	add("entities", string(ents))
	for _, en := range s.Entities {
		add("entity."+en.Type, en.Value) // the first of each type, for queries
	}
	if s.Suppressed > 0 {
		add("suppressed", strconv.Itoa(s.Suppressed))
	}
	add("event.time", event.FormatTime(s.EventTime))
	if s.EventReceived != 0 {
		add("event.received", event.FormatTime(s.EventReceived))
	}
	add("event.source", s.EventSource)
	add("event.host", s.EventHost)
	add("event.partition", s.EventPartition)
	add("event.raw", s.EventRaw)
	return e
}

func describeEntities(es []Entity) string {
	var b strings.Builder
	for i, e := range es {
		if i == 4 {
			break
		}
		b.WriteString(" ")
		b.WriteString(e.Type)
		b.WriteString("=")
		b.WriteString(e.Value)
	}
	return b.String()
}

// SignalFromEvent parses a stored signal event back (for incident views).
func SignalFromEvent(e *event.Event) (Signal, bool) {
	s := Signal{Time: e.Time}
	get := func(k string) string { v, _ := e.Get(k); return v }
	s.ID, s.Kind, s.RuleID, s.Title, s.Level, s.Severity = get("signal.id"), get("signal.kind"), get("rule.id"), get("rule.title"), get("rule.level"), get("severity")
	if s.ID == "" {
		return s, false
	}
	if t := get("rule.tags"); t != "" {
		s.Tags = strings.Split(t, ",")
	}
	if t := get("tactics"); t != "" {
		s.Tactics = strings.Split(t, ",")
	}
	_ = json.Unmarshal([]byte(get("entities")), &s.Entities) // best effort: a signal without entities is still a signal
	if ns, ok := event.ParseTime(get("event.time")); ok {
		s.EventTime = ns
	}
	if ns, ok := event.ParseTime(get("event.received")); ok {
		s.EventReceived = ns
	}
	s.EventSource, s.EventHost, s.EventPartition, s.EventRaw = get("event.source"), get("event.host"), get("event.partition"), get("event.raw")
	s.Suppressed, _ = strconv.Atoi(get("suppressed"))
	return s, true
}

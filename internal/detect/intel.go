package detect

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// Indicator types.
const (
	IOCIP      = "ip"
	IOCCIDR    = "cidr"
	IOCDomain  = "domain"
	IOCURL     = "url"
	IOCHash    = "hash"
	IOCAddress = "address" // wallet address
)

// Indicator is one IOC.
type Indicator struct {
	Type        string `json:"type"`
	Value       string `json:"value"`
	Source      string `json:"source"` // feed file
	Description string `json:"description,omitempty"`
	Severity    string `json:"severity,omitempty"` // default high
}

// IntelSet is an immutable set of indicators, ready for matching.
type IntelSet struct {
	exact  map[string]*Indicator // lower-cased value → indicator (ip, domain, url, hash, address)
	cidrs  []cidrIOC
	byKey  map[string]bool
	counts map[string]int
}

type cidrIOC struct {
	p   netip.Prefix
	ioc *Indicator
}

// Len returns the number of indicators.
func (s *IntelSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.byKey)
}

// Counts returns the indicators per type.
func (s *IntelSet) Counts() map[string]int { return s.counts }

func newIntelSet(list []Indicator) *IntelSet {
	s := &IntelSet{exact: map[string]*Indicator{}, byKey: map[string]bool{}, counts: map[string]int{}}
	for i := range list {
		ind := &list[i]
		key := ind.Type + "\x00" + strings.ToLower(ind.Value)
		if s.byKey[key] {
			continue
		}
		s.byKey[key] = true
		s.counts[ind.Type]++
		if ind.Type == IOCCIDR {
			if p, err := netip.ParsePrefix(ind.Value); err == nil {
				s.cidrs = append(s.cidrs, cidrIOC{p: p.Masked(), ioc: ind})
			}
			continue
		}
		s.exact[strings.ToLower(ind.Value)] = ind
	}
	return s
}

// classify guesses the type of a bare value.
func classify(v string) string {
	v = strings.TrimSpace(v)
	if _, err := netip.ParseAddr(v); err == nil {
		return IOCIP
	}
	if _, err := netip.ParsePrefix(v); err == nil {
		return IOCCIDR
	}
	if strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://") {
		return IOCURL
	}
	if isHex(v) && (len(v) == 32 || len(v) == 40 || len(v) == 64) {
		return IOCHash
	}
	if domainRe.MatchString(v) {
		return IOCDomain
	}
	if len(v) >= 26 && len(v) <= 100 && alnum(v) {
		return IOCAddress
	}
	return ""
}

var domainRe = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.[a-z][a-z0-9-]*[a-z0-9]$`)

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'f') {
			return false
		}
	}
	return s != ""
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// ParseIntel reads one feed: CSV (type,value[,description[,severity]] or
// one value per line), a STIX 2.1 bundle, or MISP JSON (an event, a list of
// events, or an attribute list). Unusable entries are reported, not fatal.
func ParseIntel(name string, data []byte) ([]Indicator, []string) {
	trim := bytes.TrimSpace(data)
	if len(trim) > 0 && (trim[0] == '{' || trim[0] == '[') {
		return parseIntelJSON(name, trim)
	}
	return parseIntelCSV(name, data)
}

func parseIntelCSV(name string, data []byte) ([]Indicator, []string) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.Comment = '#'
	r.TrimLeadingSpace = true
	var out []Indicator
	var probs []string
	for line := 1; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			probs = append(probs, fmt.Sprintf("%s: %v", name, err))
			break
		}
		if len(rec) == 0 || strings.TrimSpace(rec[0]) == "" {
			continue
		}
		ind := Indicator{Source: name}
		switch t := strings.ToLower(strings.TrimSpace(rec[0])); {
		case len(rec) >= 2 && isIOCType(t):
			ind.Type, ind.Value = t, strings.TrimSpace(rec[1])
			if len(rec) >= 3 {
				ind.Description = rec[2]
			}
			if len(rec) >= 4 {
				ind.Severity = SeverityOf(rec[3])
			}
		case t == "type" || t == "indicator" || t == "value":
			continue // header
		default:
			ind.Value = strings.TrimSpace(rec[0])
			ind.Type = classify(ind.Value)
			if len(rec) >= 2 {
				ind.Description = rec[1]
			}
		}
		if ind.Type == "" || ind.Value == "" {
			probs = append(probs, fmt.Sprintf("%s:%d: cannot tell the indicator type of %q", name, line, ind.Value))
			continue
		}
		out = append(out, ind)
	}
	return out, probs
}

func isIOCType(t string) bool {
	switch t {
	case IOCIP, IOCCIDR, IOCDomain, IOCURL, IOCHash, IOCAddress:
		return true
	}
	return false
}

// stixPattern pulls comparisons out of STIX patterns such as
// [ipv4-addr:value = '203.0.113.7'] OR [file:hashes.'SHA-256' = '...'].
var stixPattern = regexp.MustCompile(`([a-z0-9-]+):([A-Za-z0-9_.'\- ]+?)\s*=\s*'((?:[^'\\]|\\.)*)'`)

func parseIntelJSON(name string, data []byte) ([]Indicator, []string) {
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, []string{fmt.Sprintf("%s: not JSON: %v", name, err)}
	}
	var out []Indicator
	var probs []string
	add := func(t, v, desc string) {
		v = strings.TrimSpace(v)
		if v == "" {
			return
		}
		if t == "" {
			t = classify(v)
		}
		if t == "" {
			probs = append(probs, fmt.Sprintf("%s: cannot tell the indicator type of %q", name, v))
			return
		}
		out = append(out, Indicator{Type: t, Value: v, Source: name, Description: desc})
	}
	var walk func(x any)
	walk = func(x any) {
		switch v := x.(type) {
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			// STIX 2.1: bundle of objects, indicators carry patterns.
			if v["type"] == "bundle" {
				walk(v["objects"])
				return
			}
			if v["type"] == "indicator" {
				pat, _ := v["pattern"].(string)
				desc, _ := v["name"].(string)
				for _, m := range stixPattern.FindAllStringSubmatch(pat, -1) {
					add(stixType(m[1], m[2]), strings.ReplaceAll(m[3], `\'`, `'`), desc)
				}
				return
			}
			// MISP: {"Event": {...}}, {"Attribute": [...]}, {"response": [...]}.
			for _, k := range []string{"Event", "response", "Attribute", "Object"} {
				if sub, ok := v[k]; ok {
					walk(sub)
				}
			}
			if t, ok := v["type"].(string); ok {
				if val, ok := v["value"].(string); ok {
					comment, _ := v["comment"].(string)
					for _, part := range strings.Split(val, "|") { // ip-dst|port, domain|ip
						if mt := mispType(t); mt != "" || classify(part) != "" {
							add(mt, strings.TrimSpace(part), comment)
						}
					}
				}
			}
		}
	}
	walk(doc)
	return out, probs
}

func stixType(object, path string) string {
	switch object {
	case "ipv4-addr", "ipv6-addr":
		if strings.Contains(path, "/") {
			return IOCCIDR
		}
		return IOCIP
	case "domain-name":
		return IOCDomain
	case "url":
		return IOCURL
	case "file":
		return IOCHash
	case "cryptocurrency-wallet", "x-crypto-address":
		return IOCAddress
	}
	return ""
}

func mispType(t string) string {
	switch {
	case strings.HasPrefix(t, "ip-"):
		return "" // classify each part (the value may carry a port)
	case t == "domain", t == "hostname":
		return IOCDomain
	case t == "url", t == "uri":
		return IOCURL
	case t == "md5", t == "sha1", t == "sha256", t == "sha512":
		return IOCHash
	case t == "btc", t == "xmr", t == "dash", strings.Contains(t, "wallet"):
		return IOCAddress
	}
	return ""
}

// Intel keeps the indicators of a set of feed folders and files, reloaded
// when they change.
type Intel struct {
	paths []string
	log   *slog.Logger

	mu      sync.RWMutex // guards set, stamp, problems
	set     *IntelSet
	stamp   string
	problem []string
}

// OpenIntel loads the feeds under paths (folders or files).
func OpenIntel(paths []string, log *slog.Logger) (*Intel, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	in := &Intel{paths: paths, log: log, set: newIntelSet(nil)}
	if _, err := in.Reload(); err != nil {
		return nil, err
	}
	return in, nil
}

// Reload rereads the feeds if any file changed and returns the indicators
// that are new since the last load.
func (in *Intel) Reload() ([]Indicator, error) {
	var files []string
	var stamp strings.Builder
	for _, p := range in.paths {
		err := filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, os.ErrNotExist) {
					return nil
				}
				return err
			}
			if d.IsDir() {
				return nil
			}
			switch strings.ToLower(filepath.Ext(path)) {
			case ".csv", ".txt", ".json":
			default:
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			files = append(files, path)
			fmt.Fprintf(&stamp, "%s|%d|%d;", path, info.Size(), info.ModTime().UnixNano())
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("load intel: %w", err)
		}
	}
	in.mu.RLock()
	same := stamp.String() == in.stamp
	old := in.set
	in.mu.RUnlock()
	if same {
		return nil, nil
	}
	sort.Strings(files)
	var all []Indicator
	var probs []string
	for _, f := range files {
		b, err := os.ReadFile(f) // #nosec G304 -- feed files come from the operator's configuration
		if err != nil {
			return nil, fmt.Errorf("load intel: %w", err)
		}
		inds, p := ParseIntel(filepath.Base(f), b)
		all = append(all, inds...)
		probs = append(probs, p...)
	}
	set := newIntelSet(all)
	var fresh []Indicator
	for _, ind := range all {
		if !old.byKey[ind.Type+"\x00"+strings.ToLower(ind.Value)] {
			fresh = append(fresh, ind)
		}
	}
	in.mu.Lock()
	in.set, in.stamp, in.problem = set, stamp.String(), probs
	in.mu.Unlock()
	in.log.Info("threat intel loaded", "indicators", set.Len(), "new", len(fresh), "files", len(files), "problems", len(probs))
	return fresh, nil
}

// Set returns the current indicator set.
func (in *Intel) Set() *IntelSet {
	in.mu.RLock()
	defer in.mu.RUnlock()
	return in.set
}

// Problems returns the feed entries that could not be used.
func (in *Intel) Problems() []string {
	in.mu.RLock()
	defer in.mu.RUnlock()
	return append([]string(nil), in.problem...)
}

// Run reloads the feeds every interval until stop is closed, calling
// onNew with indicators that appeared.
func (in *Intel) Run(stop <-chan struct{}, every time.Duration, onNew func([]Indicator)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			fresh, err := in.Reload()
			if err != nil {
				in.log.Warn("reload threat intel", "err", err)
				continue
			}
			if len(fresh) > 0 && onNew != nil {
				onNew(fresh)
			}
		}
	}
}

// Enrich checks every event against the indicators and adds threat.*
// fields to the events that hit one. It returns how many events matched.
func (s *IntelSet) Enrich(events []event.Event) int {
	if s == nil || len(s.byKey) == 0 {
		return 0
	}
	hits := 0
	for i := range events {
		if p := events[i].Partition; p == SignalsPartition || (p != "" && p[0] == '_') {
			continue // our own output and internal data
		}
		if ind := s.Match(&events[i]); ind != nil {
			e := &events[i]
			e.Fields = append(e.Fields,
				event.Field{Name: "threat.indicator.type", Value: ind.Type},
				event.Field{Name: "threat.indicator.value", Value: ind.Value},
				event.Field{Name: "threat.feed", Value: ind.Source})
			if ind.Description != "" {
				e.Fields = append(e.Fields, event.Field{Name: "threat.description", Value: ind.Description})
			}
			hits++
		}
	}
	return hits
}

// Match returns the first indicator an event contains: in a field value
// (whole value: IPs, domains and their parents, URLs, hashes, addresses)
// or in the raw message (IPv4 addresses and domain names found in it).
func (s *IntelSet) Match(e *event.Event) *Indicator {
	for _, f := range e.Fields {
		if ind := s.matchValue(f.Value); ind != nil {
			return ind
		}
	}
	return s.matchText(e.Raw)
}

func (s *IntelSet) matchValue(v string) *Indicator {
	if v == "" || len(v) > 2048 {
		return nil
	}
	lv := strings.ToLower(v)
	if ind := s.exact[lv]; ind != nil {
		return ind
	}
	if c := v[0]; c >= '0' && c <= '9' || c == ':' {
		if a, err := netip.ParseAddr(v); err == nil {
			for _, c := range s.cidrs {
				if c.p.Contains(a) {
					return c.ioc
				}
			}
			return nil
		}
	}
	if strings.HasPrefix(lv, "http://") || strings.HasPrefix(lv, "https://") {
		host := lv[strings.Index(lv, "//")+2:]
		if i := strings.IndexAny(host, "/:?#"); i >= 0 {
			host = host[:i]
		}
		return s.matchDomain(host)
	}
	if strings.IndexByte(lv, '.') > 0 && strings.IndexByte(lv, ' ') < 0 {
		if host, _, ok := strings.Cut(lv, ":"); ok { // host:port (CONNECT lines)
			lv = host
		}
		return s.matchDomain(strings.TrimSuffix(lv, "."))
	}
	return nil
}

// matchDomain checks a name and its parent domains.
func (s *IntelSet) matchDomain(name string) *Indicator {
	for name != "" {
		if ind := s.exact[name]; ind != nil && (ind.Type == IOCDomain || ind.Type == IOCIP) {
			return ind
		}
		i := strings.IndexByte(name, '.')
		if i < 0 {
			return nil
		}
		name = name[i+1:]
		if strings.IndexByte(name, '.') < 0 {
			return nil // never match a bare TLD
		}
	}
	return nil
}

// matchText scans free text for IPv4 addresses, domain-like names, hashes
// and addresses.
func (s *IntelSet) matchText(t string) *Indicator {
	i := 0
	for i < len(t) {
		for i < len(t) && !textByte(t[i]) {
			i++
		}
		j := i
		for j < len(t) && textByte(t[j]) {
			j++
		}
		if j > i {
			w := strings.Trim(t[i:j], ".-")
			if ind := s.matchValue(w); ind != nil {
				return ind
			}
		}
		i = j
	}
	return nil
}

func textByte(c byte) bool {
	return c == '.' || c == '-' || c == ':' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

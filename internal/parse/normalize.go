package parse

import (
	"math"
	"net/netip"
	"strings"

	"github.com/mamori/mamori/internal/event"
)

// ECS normalization: each format has a table from its original field names
// to Elastic Common Schema names. The ECS field is added beside the original
// (never replacing it), only when the value is valid for the ECS type (an
// IP for *.ip, a number for ports and pids), and only once per event. The
// tables are the single source of truth for docs/fields.md.

// ecsKind is the type an ECS field requires of its value.
type ecsKind uint8

const (
	ecsText  ecsKind = iota // any non-empty value except "-"
	ecsIP                   // an IPv4 or IPv6 address
	ecsInt                  // a non-negative decimal integer
	ecsLower                // text, lower-cased (ECS keywords such as network.transport)
)

// mapping maps one original field to one ECS field.
type mapping struct {
	from, to string
	kind     ecsKind
}

// fieldMap is a read-only lookup built once from a table: open addressing
// on a hash of the length and three bytes of the name, so a field costs a
// few byte loads and, when mapped, one string compare (cheaper than a Go
// map here). The mappings of one name are adjacent in ents, in table order.
type fieldMap struct {
	table []mapping // as written, for docs/fields.md
	ents  []fmEntry
	slots []uint16 // index+1 into ents of a name's first mapping; 0 = empty
	mask  uint32
}

// fmEntry is a mapping with what lookups need precomputed.
type fmEntry struct {
	mapping
	toHash uint32 // fieldHash(to)
	run    uint8  // on a name's first entry: how many mappings it has
}

func newFieldMap(ms ...mapping) *fieldMap {
	n := uint32(16)
	for n < uint32(4*len(ms)) {
		n <<= 1
	}
	fm := &fieldMap{table: ms, slots: make([]uint16, n), mask: n - 1}
	// Group the mappings by name, in table order.
	done := map[string]bool{}
	for _, x := range ms {
		if done[x.from] {
			continue
		}
		done[x.from] = true
		first := len(fm.ents)
		for _, y := range ms {
			if y.from == x.from {
				fm.ents = append(fm.ents, fmEntry{mapping: y, toHash: fieldHash(y.to)})
			}
		}
		if len(fm.ents)-first > 255 || len(fm.ents) >= 1<<16 {
			panic("BUG: fieldMap table too large")
		}
		fm.ents[first].run = uint8(len(fm.ents) - first)
		s := fieldHash(x.from) & fm.mask
		for fm.slots[s] != 0 {
			s = (s + 1) & fm.mask
		}
		fm.slots[s] = uint16(first + 1)
	}
	return fm
}

func fieldHash(s string) uint32 {
	if s == "" {
		return 0
	}
	return uint32(len(s))*0x9E3779B1 ^ uint32(s[0])*0x85EBCA6B ^ uint32(s[len(s)-1])*0xC2B2AE35 ^ uint32(s[len(s)/2])*0x27D4EB2F
}

// lookup returns the mappings of name, in table order.
func (fm *fieldMap) lookup(name string) []mapping {
	lo, hi := fm.find(name, fieldHash(name))
	var out []mapping
	for _, e := range fm.ents[lo:hi] {
		out = append(out, e.mapping)
	}
	return out
}

// find returns the range of ents that map name, whose fieldHash is h
// (empty when none).
func (fm *fieldMap) find(name string, h uint32) (lo, hi int) {
	for s := h & fm.mask; ; s = (s + 1) & fm.mask {
		e := int(fm.slots[s])
		if e == 0 {
			return 0, 0
		}
		if ent := &fm.ents[e-1]; ent.from == name {
			return e - 1, e - 1 + int(ent.run)
		}
	}
}

// normalize appends the ECS fields for ev.Fields[from:] according to fm.
// An ECS name the event already has (from the source, an earlier parser
// stage such as the syslog header, or the receiver) is not added again.
func normalize(ev *event.Event, from int, fm *fieldMap) {
	// One hash per name serves the filter and the table look-up: the names
	// at from.. are hashed once, their hashes kept for the second pass.
	var hs [64]uint32
	a := ecsAdder{ev: ev}
	// fs stays valid while ECS fields are appended: appending never
	// changes the fields already there (a grown slice copies them).
	fs := ev.Fields
	for i := range fs {
		h := fieldHash(fs[i].Name)
		a.seen.addHash(h)
		if k := i - from; k >= 0 && k < len(hs) {
			hs[k] = h
		}
	}
	for k := range fs[from:] {
		f := &fs[from+k]
		var h uint32
		if k < len(hs) {
			h = hs[k]
		} else {
			h = fieldHash(f.Name)
		}
		lo, hi := fm.find(f.Name, h)
		for j := lo; j < hi; j++ {
			m := &fm.ents[j]
			a.addHashed(m.to, m.toHash, f.Value, m.kind)
		}
	}
}

// ecsAdder appends ECS fields to one event, each name at most once, in
// time linear in the number of fields even for hostile input that repeats
// a mapped key thousands of times: a name is looked up in the fields at
// most once (then remembered in known), and the nameSet filter proves most
// names absent without any scan.
type ecsAdder struct {
	ev   *event.Event
	seen nameSet
	// known holds indexes into ev.Fields of names known to be present
	// (indexes, not names: a quarter of the size to zero per event, and
	// fields are only appended while the adder lives).
	known [64]int32
	nk    int
}

func newECSAdder(ev *event.Event) ecsAdder {
	a := ecsAdder{ev: ev}
	for i := range ev.Fields {
		a.seen.add(ev.Fields[i].Name)
	}
	return a
}

func (a *ecsAdder) add(name, value string, kind ecsKind) {
	a.addHashed(name, fieldHash(name), value, kind)
}

// addHashed is add for a name whose fieldHash is h.
func (a *ecsAdder) addHashed(name string, h uint32, value string, kind ecsKind) {
	if !validECS(value, kind) || a.present(name, h) {
		return
	}
	if kind == ecsLower {
		value = lower(value)
	}
	a.ev.Fields = append(a.ev.Fields, event.Field{Name: name, Value: value})
	a.seen.addHash(h)
	a.remember(len(a.ev.Fields) - 1)
}

// present reports whether the event has the field name, whose fieldHash
// is h.
func (a *ecsAdder) present(name string, h uint32) bool {
	// The filter first: most ECS names are new to the event, and every
	// known name is in the filter.
	if !a.seen.mayHaveHash(h) {
		return false
	}
	fs := a.ev.Fields
	for _, k := range a.known[:a.nk] {
		if fs[k].Name == name {
			return true
		}
	}
	i := indexFrom(a.ev, 0, name)
	if i < 0 {
		return false
	}
	a.remember(i)
	return true
}

func (a *ecsAdder) remember(i int) {
	if a.nk < len(a.known) && i <= math.MaxInt32 {
		a.known[a.nk] = int32(i)
		a.nk++
	}
}

// nameSet is a 256-bit filter of field names: mayHave is false only for a
// name never added.
type nameSet [4]uint64

func (s *nameSet) add(name string) { s.addHash(fieldHash(name)) }

// addHash is add for a name whose fieldHash is h.
func (s *nameSet) addHash(h uint32) {
	h &= 255
	s[h>>6] |= 1 << (h & 63)
}

func (s *nameSet) mayHave(name string) bool { return s.mayHaveHash(fieldHash(name)) }

func (s *nameSet) mayHaveHash(h uint32) bool {
	h &= 255
	return s[h>>6]&(1<<(h&63)) != 0
}

func hasFrom(ev *event.Event, from int, name string) bool {
	return indexFrom(ev, from, name) >= 0
}

// indexFrom returns the index of the first field called name at or after
// from, or -1.
func indexFrom(ev *event.Event, from int, name string) int {
	for i := from; i < len(ev.Fields); i++ {
		if ev.Fields[i].Name == name {
			return i
		}
	}
	return -1
}

// addECS appends name=value when value suits kind and ev does not already
// have name (for the few ECS fields parsers build in code).
func addECS(ev *event.Event, name, value string, kind ecsKind) {
	a := ecsAdder{ev: ev, seen: nameSet{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}}
	a.add(name, value, kind)
}

func validECS(v string, kind ecsKind) bool {
	if v == "" || v == "-" {
		return false
	}
	switch kind {
	case ecsIP:
		return isIP(v)
	case ecsInt:
		_, ok := atoi(v)
		return ok
	}
	return true
}

// isIP reports whether v is an IPv4 or IPv6 address (zones allowed).
func isIP(v string) bool {
	if len(v) < 2 || len(v) > 64 {
		return false
	}
	c := v[0]
	if !isDigit(c) && c != ':' && !(c >= 'a' && c <= 'f') && !(c >= 'A' && c <= 'F') {
		return false
	}
	if ok, sure := isIPv4Fast(v); sure {
		return ok
	}
	// Slow path: IPv6, zones.
	_, err := netip.ParseAddr(v)
	return err == nil
}

// isIPv4Fast decides dotted-quad IPv4 without netip; sure is false when v
// has bytes other than digits and dots (let netip decide).
func isIPv4Fast(v string) (ok, sure bool) {
	// Fast path: ASCII digits and dots only.
	parts, n, digits := 0, 0, 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case isDigit(c):
			if digits > 0 && n == 0 {
				return false, false // leading zero: invalid IPv4, maybe IPv6
			}
			n = n*10 + int(c-'0')
			digits++
			if n > 255 {
				return false, false // "2001" starts IPv6 too
			}
		case c == '.':
			if digits == 0 {
				return false, false
			}
			parts++
			n, digits = 0, 0
		default:
			return false, false
		}
	}
	return parts == 3 && digits > 0, true
}

var syslogMap = newFieldMap(
	mapping{fSyslogHostname, "host.name", ecsText},
	mapping{fSyslogAppname, "process.name", ecsText},
	mapping{fSyslogProcid, "process.pid", ecsInt},
	mapping{fSyslogSeverity, "log.level", ecsText},
)

// lower lower-cases v, without allocating for lower-case input and for
// the common protocol names.
func lower(v string) string {
	switch v {
	case "TCP":
		return "tcp"
	case "UDP":
		return "udp"
	case "ICMP":
		return "icmp"
	case "INFO":
		return "info"
	case "WARN":
		return "warn"
	case "ERROR":
		return "error"
	case "DEBUG":
		return "debug"
	}
	return strings.ToLower(v) // no copy when already lower-case
}

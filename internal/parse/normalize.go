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

// fieldMap is a read-only lookup built once from a table: an open hash on
// the length and three bytes of the name, so a field costs a few byte loads
// and at most a couple of string compares (cheaper than a Go map here).
type fieldMap struct {
	table   []mapping // as written, for docs/fields.md
	buckets [][]mapping
	mask    uint32
}

func newFieldMap(ms ...mapping) *fieldMap {
	n := uint32(16)
	for n < uint32(4*len(ms)) {
		n <<= 1
	}
	fm := &fieldMap{table: ms, buckets: make([][]mapping, n), mask: n - 1}
	for _, x := range ms {
		h := fieldHash(x.from) & fm.mask
		b := fm.buckets[h]
		at := len(b) // keep mappings of one name adjacent, in table order
		for i := len(b) - 1; i >= 0; i-- {
			if b[i].from == x.from {
				at = i + 1
				break
			}
		}
		b = append(b, mapping{})
		copy(b[at+1:], b[at:])
		b[at] = x
		fm.buckets[h] = b
	}
	return fm
}

func fieldHash(s string) uint32 {
	if s == "" {
		return 0
	}
	return uint32(len(s))*0x9E3779B1 ^ uint32(s[0])*0x85EBCA6B ^ uint32(s[len(s)-1])*0xC2B2AE35 ^ uint32(s[len(s)/2])*0x27D4EB2F
}

// lookup returns the mappings of name: a sub-slice of one bucket, in table order.
func (fm *fieldMap) lookup(name string) []mapping {
	b := fm.buckets[fieldHash(name)&fm.mask]
	for i := range b {
		if b[i].from == name {
			j := i + 1
			for j < len(b) && b[j].from == name {
				j++
			}
			return b[i:j]
		}
	}
	return nil
}

// normalize appends the ECS fields for ev.Fields[from:] according to fm.
// An ECS name the event already has (from the source, an earlier parser
// stage such as the syslog header, or the receiver) is not added again.
func normalize(ev *event.Event, from int, fm *fieldMap) {
	a := newECSAdder(ev)
	end := len(ev.Fields)
	for i := from; i < end; i++ {
		f := ev.Fields[i]
		for _, m := range fm.lookup(f.Name) {
			a.add(m.to, f.Value, m.kind)
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
	if !validECS(value, kind) || a.present(name) {
		return
	}
	if kind == ecsLower {
		value = lower(value)
	}
	a.ev.Fields = append(a.ev.Fields, event.Field{Name: name, Value: value})
	a.seen.add(name)
	a.remember(len(a.ev.Fields) - 1)
}

func (a *ecsAdder) present(name string) bool {
	// The filter first: most ECS names are new to the event, and every
	// known name is in the filter.
	if !a.seen.mayHave(name) {
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

func (s *nameSet) add(name string) {
	h := fieldHash(name) & 255
	s[h>>6] |= 1 << (h & 63)
}

func (s *nameSet) mayHave(name string) bool {
	h := fieldHash(name) & 255
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

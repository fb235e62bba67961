package parse

import (
	"math"
	"math/bits"
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
// few byte loads and, when it is a key, a compare of two words (cheaper
// than a Go map here). The keys are the names the table maps from and the
// ECS names it maps to (so one probe per field answers both "what does
// this name map to" and "is this one of the ECS names normalize may add").
// The mappings of one name are adjacent in ents, in table order. The
// tables have fixed sizes so that look-ups need no bounds checks.
type fieldMap struct {
	table []mapping // as written, for docs/fields.md
	ents  []fmEntry
	keys  *[fmMaxKeys]fmKey // keys[1:]; keys[0] is unused
	slots *[fmSlots]uint8   // index into keys; 0 = empty
	// lenFirst[min(len(name), 31)] has bit name[0]&63 set for every key:
	// most names that are not keys fail this before any hashing.
	lenFirst [32]uint64
	// hostTarget is the index of host.name among the ECS names (noTarget
	// when the map does not add it): normalize returns what it adds there.
	hostTarget uint8
}

// noTarget is no ECS name's index (there are at most maxTargets).
const noTarget = 255

const (
	fmMaxKeys = 128 // names per map, plus one
	fmSlots   = 512 // at least 4 per name
)

// fmEntry is a mapping with what lookups need precomputed.
type fmEntry struct {
	mapping
	toHash uint32 // fieldHash(to)
	target uint8  // index of to among the map's ECS names
}

// fmKey is a name of the map: its mappings ents[lo:hi] (empty for an ECS
// name that is not also mapped from) and, for an ECS name, its index.
type fmKey struct {
	name   string
	w0, w1 uint64 // nameWords(name)
	h      uint32 // fieldHash(name)
	lo, hi uint16
	target int8 // -1 when name is not one of the map's ECS names
}

// maxTargets bounds the ECS names of one map (normalize tracks them in a
// uint64).
const maxTargets = 64

func newFieldMap(ms ...mapping) *fieldMap {
	fm := &fieldMap{table: ms, keys: new([fmMaxKeys]fmKey), slots: new([fmSlots]uint8), hostTarget: noTarget}
	n := 0 // keys used, from 1
	key := map[string]int{}
	addKey := func(name string) *fmKey {
		if i, ok := key[name]; ok {
			return &fm.keys[i]
		}
		if n++; n == fmMaxKeys {
			panic("BUG: fieldMap has more than 127 names")
		}
		key[name] = n
		k := &fm.keys[n]
		*k = fmKey{name: name, h: fieldHash(name), target: -1}
		k.w0, k.w1 = nameWords(name)
		if name != "" {
			fm.lenFirst[min(len(name), 31)] |= 1 << (name[0] & 63)
		}
		s := k.h
		for fm.slots[s%fmSlots] != 0 {
			s++
		}
		fm.slots[s%fmSlots] = uint8(n)
		return k
	}
	// ECS names first, numbered in table order.
	ntargets := 0
	for _, m := range ms {
		if k := addKey(m.to); k.target < 0 {
			if ntargets == maxTargets {
				panic("BUG: fieldMap has more than 64 ECS names")
			}
			k.target = int8(ntargets)
			if m.to == "host.name" {
				fm.hostTarget = uint8(ntargets)
			}
			ntargets++
		}
	}
	// Then the mappings, grouped by name in table order.
	done := map[string]bool{}
	for _, x := range ms {
		if done[x.from] {
			continue
		}
		done[x.from] = true
		lo := len(fm.ents)
		for _, y := range ms {
			if y.from == x.from {
				fm.ents = append(fm.ents, fmEntry{mapping: y, toHash: fieldHash(y.to), target: uint8(fm.keys[key[y.to]].target)})
			}
		}
		if len(fm.ents) >= 1<<16 {
			panic("BUG: fieldMap table too large")
		}
		k := addKey(x.from)
		k.lo, k.hi = uint16(lo), uint16(len(fm.ents))
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
	if i := fm.key(name, h); i != 0 {
		return int(fm.keys[i%fmMaxKeys].lo), int(fm.keys[i%fmMaxKeys].hi)
	}
	return 0, 0
}

// key returns the index in keys of name, whose fieldHash is h, or 0.
func (fm *fieldMap) key(name string, h uint32) uint8 {
	for s := h; ; s++ {
		e := fm.slots[s%fmSlots]
		if e == 0 {
			return 0
		}
		// The stored hash rejects most other names without a compare.
		if k := &fm.keys[e%fmMaxKeys]; k.h == h && k.is(name) {
			return e
		}
	}
}

// is reports whether name is k's name. Fast path: names up to 16 bytes
// (nearly all) are compared as two words, without a call.
func (k *fmKey) is(name string) bool {
	switch n := len(name); {
	case n != len(k.name):
		return false
	case n >= 8 && n <= 16:
		return load64(name, 0) == k.w0 && load64(name, n-8) == k.w1
	case n >= 4 && n < 8:
		return uint64(load32(name, 0)) == k.w0 && uint64(load32(name, n-4)) == k.w1
	}
	return name == k.name // Slow path: long or very short names.
}

// nameWords packs a name into two words that, with its length, identify
// it when it is at most 16 bytes long: the first and last 8 (or 4) bytes,
// overlapping, or all bytes of a name shorter than 4.
func nameWords(s string) (w0, w1 uint64) {
	switch n := len(s); {
	case n >= 8:
		return load64(s, 0), load64(s, n-8)
	case n >= 4:
		return uint64(load32(s, 0)), uint64(load32(s, n-4))
	case n > 0:
		return uint64(s[0]) | uint64(s[n/2])<<8 | uint64(s[n-1])<<16, 0
	}
	return 0, 0
}

// load32 reads s[i:i+4] as a little-endian word.
func load32(s string, i int) uint32 {
	b := s[i : i+4]
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// pendingCap is how many mapped fields normalize remembers from its first
// pass; the rest (hostile or huge events) are looked up again.
const pendingCap = 32

// normalize appends the ECS fields for ev.Fields[from:] according to fm.
// An ECS name the event already has (from the source, an earlier parser
// stage such as the syslog header, or the receiver) is not added again.
// It returns the host.name it added ("" when none): the event had no
// host.name before, so this is the first one, the value fillHost would find.
func normalize(ev *event.Event, from int, fm *fieldMap) string {
	fs := ev.Fields
	var pending [pendingCap]uint64
	have, np := fm.scan(fs, 0, from, &pending, true)
	had := have
	// Appending never changes the fields already in fs (a grown slice
	// copies them), so fs stays valid.
	out := ev.Fields
	for {
		for _, p := range pending[:min(np, pendingCap)] {
			k := &fm.keys[p%fmMaxKeys]
			out, have = appendECS(out, fm.ents[k.lo:k.hi], fs[p>>8].Value, have)
		}
		if np <= pendingCap {
			break
		}
		// Slow path: more mapped fields than pending holds; scan on after
		// the last one it held (have already covers every field).
		_, np = fm.scan(fs, int(pending[pendingCap-1]>>8)+1, from, &pending, false)
	}
	ev.Fields = out
	// The host.name added, found after the loop: a test in the loop cost
	// other maps more than this saves.
	if hb := uint64(1) << (fm.hostTarget & 63); fm.hostTarget != noTarget && had&hb == 0 && have&hb != 0 {
		for i := len(fs); i < len(out); i++ {
			if out[i].Name == "host.name" {
				return out[i].Value
			}
		}
	}
	return ""
}

// appendECS appends to out the ECS field each mapping of ents makes of
// value, unless its ECS name is in have (one bit per name, see fmEntry.target)
// or value does not suit its kind, and returns out and have with the names
// added. (cefNormalize has its own copy of this loop for cefMap.)
func appendECS(out []event.Field, ents []fmEntry, value string, have uint64) ([]event.Field, uint64) {
	for i := range ents {
		m := &ents[i]
		bit := uint64(1) << (m.target & 63)
		if have&bit != 0 || value == "" || value == "-" || (m.kind != ecsText && !validECS(value, m.kind)) {
			continue
		}
		v := value
		if m.kind == ecsLower {
			v = lower(v)
		}
		out = append(out, event.Field{Name: m.to, Value: v})
		have |= bit
	}
	return out, have
}

// scan is normalize's first pass over the fields at start..: it returns
// which of fm's ECS names the event has (one bit per name) and, in pending,
// the mapped fields at from.. (index<<8 | key index, the first pendingCap
// of them; np counts them, or stops at pendingCap+1 unless all is set). It
// makes no calls, so the loop keeps its values in registers.
func (fm *fieldMap) scan(fs []event.Field, start, from int, pending *[pendingCap]uint64, all bool) (have uint64, np int) {
	slots, keys := fm.slots, fm.keys
	for i := start; i < len(fs); i++ {
		// fm.key, inlined by hand.
		name := fs[i].Name
		n := len(name)
		if n > 31 {
			n = 31
		}
		if n == 0 || fm.lenFirst[n]&(1<<(name[0]&63)) == 0 {
			continue // not a key
		}
		h := fieldHash(name)
		ki := uint8(0)
		for s := h; ; s++ {
			e := slots[s%fmSlots]
			if e == 0 {
				break
			}
			if k := &keys[e%fmMaxKeys]; k.h == h && len(k.name) == len(name) {
				// The stored hash rejects most other names; the same
				// name is confirmed a word at a time, without a call.
				var same bool
				switch n := len(name); {
				case n >= 8:
					same = load64(name, 0) == k.w0 && load64(name, n-8) == k.w1
					for j := 8; same && j < n-8; j += 8 {
						same = load64(name, j) == load64(k.name, j)
					}
				case n >= 4:
					same = uint64(load32(name, 0)) == k.w0 && uint64(load32(name, n-4)) == k.w1
				case n > 0:
					same = uint64(name[0])|uint64(name[n/2])<<8|uint64(name[n-1])<<16 == k.w0
				default:
					same = true
				}
				if same {
					ki = e
					break
				}
			}
		}
		if ki == 0 {
			continue
		}
		k := &keys[ki%fmMaxKeys]
		if k.target >= 0 {
			have |= 1 << (uint8(k.target) & 63)
		}
		if i >= from && k.lo < k.hi {
			if np < pendingCap {
				pending[np] = uint64(i)<<8 | uint64(ki)
			} else if !all {
				return have, np + 1 // more follow: the caller scans on
			}
			np++
		}
	}
	return have, np
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

// isIPv4Fast recognizes a dotted-quad IPv4 address (parts 0-255 without
// leading zeros) without netip. sure is false for anything else, which
// netip then decides (IPv6, zones, and every malformed address).
func isIPv4Fast(v string) (ok, sure bool) {
	n := len(v)
	if n < 8 || n > 15 {
		if n == 7 {
			return isIPv4Short(v)
		}
		return false, false
	}
	// Fast path: the bytes as two words (the second holds bytes 8.. in
	// its low bytes and zeros above), classified eight at a time: only
	// digits and exactly three dots.
	const hi = 0x8080808080808080
	a := load64(v, 0)
	b := load64(v, n-8) >> (8 * uint(16-n))
	da, db := byteMask(a, '.'), byteMask(b, '.')
	if da|digitMask(a) != hi || db|digitMask(b) != hi>>(8*uint(16-n)) || bits.OnesCount64(da|db>>7) != 3 {
		return false, false
	}
	// The dots: the first two are in a (parts have at most three digits;
	// if not, the lengths below are wrong and fail), the third in a or b.
	p1 := bits.TrailingZeros64(da) >> 3
	da &= da - 1
	p2 := bits.TrailingZeros64(da) >> 3
	da &= da - 1
	p3 := 8 + bits.TrailingZeros64(db)>>3
	if da != 0 {
		p3 = bits.TrailingZeros64(da) >> 3
	}
	ok = ipv4Part(v, 0, p1) && ipv4Part(v, p1+1, p2) && ipv4Part(v, p2+1, p3) && ipv4Part(v, p3+1, n)
	return ok, ok
}

// ipv4Part reports whether the digits v[i:j] are an IPv4 part: one to
// three digits, at most 255, no leading zero.
func ipv4Part(v string, i, j int) bool {
	switch j - i {
	case 1:
		return true
	case 2:
		return v[i] != '0'
	case 3:
		c := v[i]
		return c == '1' || (c == '2' && (v[i+1] < '5' || (v[i+1] == '5' && v[i+2] <= '5')))
	}
	return false
}

// isIPv4Short is isIPv4Fast for the shortest addresses ("1.2.3.4").
func isIPv4Short(v string) (ok, sure bool) {
	ok = len(v) == 7 && isDigit(v[0]) && v[1] == '.' && isDigit(v[2]) && v[3] == '.' && isDigit(v[4]) && v[5] == '.' && isDigit(v[6])
	return ok, ok
}

// digitMask flags (with its high bit) exactly the bytes of w that are
// ASCII digits.
func digitMask(w uint64) uint64 {
	const hi = 0x8080808080808080
	ge0 := (w | hi) - 0x3030303030303030 // high bit: the byte, less its own high bit, is >= '0'
	ge9 := (w | hi) - 0x3A3A3A3A3A3A3A3A // ... > '9'
	return ge0 &^ ge9 &^ w & hi
}

// normalizeSyslog is normalize(ev, from, syslogMap) written out: every
// syslog line passes here, and four names compared as constants cost less
// than the general look-up. FuzzNormalize keeps it equal to the table.
// It returns the host.name it added ("" when none): the event had no
// host.name before, so this is the first one, the value fillHost would find.
func normalizeSyslog(ev *event.Event, from int) (host string) {
	return appendSyslogECS(ev, from, syslogECSHave(ev.Fields))
}

// syslogECSHave is normalizeSyslog's first pass: which of its ECS names
// (bits 1 host.name, 2 process.name, 4 process.pid, 8 log.level) fs holds.
func syslogECSHave(fs []event.Field) uint8 {
	var have uint8
	for i := range fs {
		switch fs[i].Name {
		case "host.name":
			have |= 1
		case "process.name":
			have |= 2
		case "process.pid":
			have |= 4
		case "log.level":
			have |= 8
		}
	}
	return have
}

// appendSyslogECS is normalizeSyslog's second pass: it appends the ECS
// names of the syslog fields from from on that are not in have (as
// syslogECSHave gives it) and returns the host.name it added.
func appendSyslogECS(ev *event.Event, from int, have uint8) (host string) {
	fs := ev.Fields
	// Appending never changes the fields already in fs.
	out := fs
	for i := from; i < len(fs); i++ {
		var bit uint8
		var to string
		switch fs[i].Name {
		case fSyslogHostname:
			bit, to = 1, "host.name"
		case fSyslogAppname:
			bit, to = 2, "process.name"
		case fSyslogProcid:
			bit, to = 4, "process.pid"
		case fSyslogSeverity:
			bit, to = 8, "log.level"
		default:
			continue
		}
		v := fs[i].Value
		if have&bit != 0 || v == "" || v == "-" {
			continue
		}
		if bit == 4 {
			if _, ok := atoi(v); !ok {
				continue
			}
		}
		out = append(out, event.Field{Name: to, Value: v})
		have |= bit
		if bit == 1 {
			host = v
		}
	}
	ev.Fields = out
	return host
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
	// Fast path: ASCII without upper case is already lower-case.
	for i := 0; i < len(v); i++ {
		if c := v[i]; c-'A' <= 'Z'-'A' || c >= 0x80 {
			return strings.ToLower(v) // Slow path: no copy when already lower-case
		}
	}
	return v
}

package parse

import (
	"math/bits"

	"github.com/mamori/mamori/internal/event"
)

// CEF normalization: the ECS fields of a record's mapped fields, which the
// scanner listed in cefExt.pending, in field and table order, written out
// for cefMap instead of going through appendECS: no call in the loop (IP
// values are checked and lower-case ones lowered after it), and no test of
// what the scanner already knows (the values it appends are never empty).

// cefEnt is a mapping of cefMap.ents in the form cefNormalize reads.
type cefEnt struct {
	to   string
	bit  uint64 // 1 << its ECS name's index (fmEntry.target)
	kind ecsKind
	late uint8 // 1 for ecsIP, 2 for ecsLower: seen to after the appends
}

// cefEnts is cefMap.ents as cefEnts (indexed by a byte: cefKeyInfo.lo).
var cefEnts = func() (t [256]cefEnt) {
	for i, e := range cefMap.ents {
		t[i] = cefEnt{to: e.to, bit: 1 << (e.target & 63), kind: e.kind}
		switch e.kind {
		case ecsIP:
			t[i].late = 1
		case ecsLower:
			t[i].late = 2
		}
	}
	return t
}()

// cefNormalize is normalize(ev, n0, cefMap) for a CEF record whose fields
// at n0.. the parser noted in x; the fields at from..n0 are a syslog
// header's (see cefSyslogHave). from < 0 says that no field before n0 has
// one of cefMap's ECS names (cefSyslogFast's own fields).
func cefNormalize(ev *event.Event, from, n0 int, x *cefExt) {
	if x.np >= cefPendingCap || len(ev.Fields) >= 1<<16 {
		normalize(ev, n0, cefMap) // Slow path: hostile records.
		return
	}
	have := x.have
	if from > 0 {
		have |= cefPrefixHave(ev.Fields[:from])
	}
	if from >= 0 && from < n0 {
		have |= cefSyslogHave(ev.Fields[from:n0])
	}
	have0 := have // for the slow paths
	fs := ev.Fields
	n1 := len(fs)
	if cap(fs)-n1 < x.np {
		cefNormalizeExact(ev, have, x) // Slow path: appends that may grow fs.
		return
	}
	// Fast path: a loop without a call (a call spills every live
	// register). fs has room for one ECS field per pending field (the
	// first mapping of each); IP values and values to lower-case are
	// appended as they are, their kinds noted two bits each in late (the
	// last field's lowest), and seen to after the loop.
	var late uint64
	for i, p := range x.pending[:x.np] {
		v := fs[p>>16].Value
		if len(v) <= 1 && (v == "" || v == "-") {
			continue
		}
		m := &cefEnts[p&255]
		if have&m.bit == 0 && (m.kind != ecsInt || isUint(v)) {
			late = late<<2 | uint64(m.late)
			n := len(fs)
			fs = fs[:n+1]
			fs[n] = event.Field{Name: m.to, Value: v}
			have |= m.bit
		}
		if p&0xFF00 == 1<<8 {
			continue
		}
		// A key with more mappings (rare): the others, if they leave room
		// for the fields after it.
		for e, end := p&255+1, p&255+p>>8&255; e < end; e++ {
			m := &cefEnts[e&255]
			if have&m.bit != 0 || (m.kind == ecsInt && !isUint(v)) {
				continue
			}
			n := len(fs)
			if cap(fs)-n <= x.np-1-i {
				ev.Fields = fs[:n1]
				cefNormalizeExact(ev, have0, x) // Slow path: no room.
				return
			}
			late = late<<2 | uint64(m.late)
			fs = fs[:n+1]
			fs[n] = event.Field{Name: m.to, Value: v}
			have |= m.bit
		}
	}
	if late != 0 && (len(fs)-n1 > 32 || !cefNormalizeLate(fs[n1:], late)) {
		// Slow path: not an IP address (so its ECS name may come from a
		// later field), or more fields than late holds.
		ev.Fields = fs[:n1]
		cefNormalizeExact(ev, have0, x)
		return
	}
	ev.Fields = fs
}

// cefNormalizeLate checks the IP addresses among the ECS fields ecs and
// lower-cases the values to lower-case: late has two bits a field (the
// last field's lowest), 1 for ecsIP and 2 for ecsLower. It reports false
// when an IP value is not one.
func cefNormalizeLate(ecs []event.Field, late uint64) bool {
	for late != 0 {
		t := uint(bits.TrailingZeros64(late)) &^ 1
		f := &ecs[len(ecs)-1-int(t/2)]
		if late>>t&1 != 0 {
			// Fast path: a dotted quad, decided without isIP's checks.
			if ok, sure := isIPv4Fast(f.Value); !ok && (sure || !isIP(f.Value)) {
				return false
			}
		} else {
			f.Value = lower(f.Value)
		}
		late &^= 3 << t
	}
	return true
}

// cefNormalizeExact is cefNormalize's loop checking each value before it
// appends its ECS fields (have: the ECS names the event has).
func cefNormalizeExact(ev *event.Event, have uint64, x *cefExt) {
	fs := ev.Fields
	for _, p := range x.pending[:x.np] {
		v := fs[p>>16].Value
		if len(v) <= 1 && (v == "" || v == "-") {
			continue
		}
		for e, end := p&255, p&255+p>>8&255; e < end; e++ {
			m := &cefEnts[e&255]
			if have&m.bit != 0 {
				continue
			}
			w := v
			switch m.kind {
			case ecsIP:
				// Fast path: a dotted quad, decided without isIP's checks.
				if ok, sure := isIPv4Fast(v); !ok && (sure || !isIP(v)) {
					continue
				}
			case ecsInt:
				if !isUint(v) {
					continue
				}
			case ecsLower:
				w = lower(v)
			}
			fs = append(fs, event.Field{Name: m.to, Value: w})
			have |= m.bit
		}
	}
	ev.Fields = fs
}

// isUint reports whether atoi accepts v: one to nine decimal digits.
func isUint(v string) bool {
	if len(v)-1 > 8 { // also len(v) == 0
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i]-'0' > 9 {
			return false
		}
	}
	return true
}

// cefSyslogHave is cefPrefixHave for the fields of a syslog header and
// their ECS names (parseSyslog's): of those, only process.name and
// process.pid can be one of cefMap's ECS names, and normalizeSyslog adds
// them among the last four.
func cefSyslogHave(fs []event.Field) (have uint64) {
	for i := max(len(fs)-4, 0); i < len(fs); i++ {
		if name := fs[i].Name; len(name) >= len("process.") && name[0] == 'p' {
			have |= cefPrefixHave(fs[i : i+1])
		}
	}
	return have
}

package parse

import "github.com/mamori/mamori/internal/event"

// CEF normalization: the ECS fields of a record's mapped fields, which the
// scanner listed in cefExt.pending, in field and table order, written out
// for cefMap instead of going through appendECS: no call per field, the
// value checks inline, and no test of what the scanner already knows (the
// values it appends are never empty).

// cefEnt is a mapping of cefMap.ents in the form cefNormalize reads.
type cefEnt struct {
	to   string
	bit  uint64 // 1 << its ECS name's index (fmEntry.target)
	kind ecsKind
}

// cefEnts is cefMap.ents as cefEnts (indexed by a byte: cefKeyInfo.lo).
var cefEnts = func() (t [256]cefEnt) {
	for i, e := range cefMap.ents {
		t[i] = cefEnt{to: e.to, bit: 1 << (e.target & 63), kind: e.kind}
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

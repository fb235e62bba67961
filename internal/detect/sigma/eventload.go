package sigma

import (
	"slices"
	"strings"
	"unsafe"

	"github.com/mamori/mamori/internal/event"
)

// Loading an event: its fields mapped to slots, from the hunter's
// flattener (matchSlots) or through the guess tables and the name cache.

// load starts a match: it maps the event's fields to slots.
func (e *Engine) load(st *state, ev *event.Event) {
	st.next()
	st.ev = ev
	st.fieldSlot = st.fieldSlot[:0]
	st.extra = st.extra[:0]
	st.keySlots, st.needleSlots = st.keySlots[:0], st.needleSlots[:0]
	n := len(ev.Fields) + len(e.metaSlots)
	if cap(st.lowGen) < n {
		st.lowGen = make([]uint32, n, n+n/2)
		st.fieldLows = make([]string, n, n+n/2)
	}
	st.lowGen, st.fieldLows = st.lowGen[:n], st.fieldLows[:n]
	if cap(st.kwDone) < n {
		st.kwDone = make([]uint32, n, n+n/2)
	}
	st.kwDone = st.kwDone[:n]
	size := len(ev.Raw) + len(ev.Source) + len(ev.Category)
	if g := st.given; g != nil {
		nf := len(ev.Fields)
		for len(st.noSlots) < nf {
			st.noSlots = append(st.noSlots, -1)
		}
		st.fieldSlot = append(st.fieldSlot, st.noSlots[:nf]...)
		size += g.size
		for _, l := range g.live {
			st.fieldSlot[l.field] = l.slot
			if st.setGen[l.slot] != st.gen {
				st.setGen[l.slot] = st.gen
				st.vals[l.slot] = ev.Fields[l.field].Value
				st.slotField[l.slot] = l.field
				if f := e.slotFlags[l.slot]; f != 0 {
					st.listSlot(l.slot, f)
				}
			}
		}
	} else {
		e.loadGuessed(st, ev, &size)
	}
	e.loadMeta(st, ev)
	if cap(st.lowbuf) < size {
		st.lowbuf = make([]byte, 0, size+size/4)
	}
}

// loadGuessed maps the event's fields to slots through the guess tables
// (fieldguess.go) and the name cache; size grows by the values' lengths.
func (e *Engine) loadGuessed(st *state, ev *event.Event, size *int) {
	g := st.guessFor(ev)
	fields := ev.Fields
	// The hot loop works on locals: fieldSlot written by index, the
	// guess table's names and slots of equal length, the size summed in a
	// register (about half the instructions of appending per field).
	base := len(st.fieldSlot)
	st.fieldSlot = slices.Grow(st.fieldSlot, len(fields))[:base+len(fields)]
	fs := st.fieldSlot[base:]
	names := g.names
	slots := g.slots[:len(names)]
	setGen, gen, flags := st.setGen, st.gen, e.slotFlags
	total := 0
	for i := range fields {
		f := &fields[i]
		total += len(f.Value)
		var slot int32
		// Fast path: the name seen at this position in the last event
		// of this shape. A live event's names are its parser's strings,
		// never the cache's copies, and a call of memequal costs more
		// than comparing a name of 8 bytes or more a word at a time in
		// line (on the architectures with unaligned loads, see wordAt).
		hit := false
		if i < len(names) && len(names[i]) == len(f.Name) {
			if len(f.Name) >= 8 && unalignedWords {
				hit = sameWords(names[i], f.Name)
			} else {
				hit = names[i] == f.Name
			}
		}
		if hit {
			slot = slots[i]
		} else {
			slot = e.slotOf(st, f.Name)
			g.remember(i, st.lastName, slot)
			names, slots = g.names, g.slots[:len(g.names)]
			st.guessMisses++
		}
		fs[i] = slot
		if slot >= 0 && setGen[slot] != gen {
			setGen[slot] = gen
			st.vals[slot] = f.Value
			st.slotField[slot] = int32(i)
			if f := flags[slot]; f != 0 {
				st.listSlot(slot, f)
			}
		}
	}
	*size += total
	if len(fields) > 0 && g.first == "" {
		g.first = g.names[0] // equal to ev.Fields[0].Name, kept by the cache
	}
}

// loadMeta loads the event's metadata (source, category) into their
// pseudo-field slots.
func (e *Engine) loadMeta(st *state, ev *event.Event) {
	for i, meta := range [...]string{ev.Source, ev.Category} {
		// Metadata counts as a field after the event's own (which win).
		if slot := e.metaSlots[i]; slot >= 0 && meta != "" && st.setGen[slot] != st.gen {
			j := len(ev.Fields) + len(st.extra)
			st.extra = append(st.extra, meta)
			st.fieldSlot = append(st.fieldSlot, slot)
			st.setGen[slot] = st.gen
			st.vals[slot] = meta
			st.slotField[slot] = int32(j)
			if f := e.slotFlags[slot]; f != 0 {
				st.listSlot(slot, f)
			}
		}
	}
}

// listSlot lists a slot the event just set by its flags (slotFlags).
func (st *state) listSlot(s int32, f uint8) {
	if f&flagKey != 0 {
		st.keySlots = append(st.keySlots, s)
	}
	if f&flagNeedles != 0 {
		st.needleSlots = append(st.needleSlots, s)
	}
}

// sameString is a == b, without a call when both share their memory (the
// flattener's and the cache's interned names).
func sameString(a, b string) bool {
	return len(a) == len(b) && (unsafe.StringData(a) == unsafe.StringData(b) || a == b) // #nosec G103 -- address compare only
}

// sameWords is a == b for strings of one length, at least 8 (see
// unalignedWords).
func sameWords(a, b string) bool {
	n := len(a)
	for i := 0; i+8 < n; i += 8 {
		if wordAt(a, i) != wordAt(b, i) {
			return false
		}
	}
	return wordAt(a, n-8) == wordAt(b, n-8)
}

// slotOf resolves an event field name through the cache; st.lastName is
// then the cache's copy of the name.
func (e *Engine) slotOf(st *state, name string) int32 {
	c, ok := st.cache[name]
	if !ok {
		// A copy: the caller's name may live in a buffer it reuses.
		c = cachedName{name: strings.Clone(name), slot: e.resolve.slot(name)}
		if len(st.cache) >= maxCachedNames {
			clear(st.cache)
		}
		st.cache[c.name] = c
	}
	st.lastName = c.name
	return c.slot
}

// cachedName is a resolved event field name (the cache's own copy).
type cachedName struct {
	name string
	slot int32
}

package sigma

import "github.com/mamori/mamori/internal/event"

// Field-slot guessing: load resolves each event field name to a slot
// through a map (slotOf); before that it tries the name seen at the same
// position in an earlier event of the same shape. Streams mix shapes
// (Sysmon, firewall, web access, JSON application logs interleaved), so a
// scratch space keeps a few guess tables, one per recent shape, keyed by
// the number of fields and the first field's name.

// shapeGuesses is the number of guess tables per scratch space (a stream
// mixing ten sources of a few shapes each still guesses ~96% of fields).
const shapeGuesses = 32

// maxPredFields bounds each guess table (field positions).
const maxPredFields = 512

// shapeGuess remembers, per field position, the last name seen there in
// events of one shape and its slot. Names are the name cache's copies.
type shapeGuess struct {
	n     int    // number of fields of the shape
	first string // name of the first field ("" when none)
	used  uint32 // gen of the last event that used this table
	names []string
	slots []int32
}

// guessFor returns the guess table for ev's shape. On a miss it takes the
// least recently used table and starts it from the closest known shape
// (same first field, else the last one used), so an event of a new shape
// guesses as well as it would from the previous event.
func (st *state) guessFor(ev *event.Event) *shapeGuess {
	n, first := len(ev.Fields), ""
	if n > 0 {
		first = ev.Fields[0].Name
	}
	// Events of one source come in batches: the last table is tried first.
	if g := st.lastGuess; g != nil && g.n == n && g.used != 0 && sameString(g.first, first) {
		g.used = st.gen
		return g
	}
	var victim, like, last *shapeGuess
	for i := range st.guesses {
		g := &st.guesses[i]
		if g.n == n && g.used != 0 && sameString(g.first, first) {
			g.used = st.gen
			st.lastGuess = g
			return g
		}
		if victim == nil || g.used < victim.used {
			victim = g
		}
		if g.used != 0 && g.first == first && (like == nil || g.used > like.used) {
			like = g
		}
		if last == nil || g.used > last.used {
			last = g
		}
	}
	if like == nil {
		like = last
	}
	if like != victim && like.used != 0 {
		victim.names = append(victim.names[:0], like.names...)
		victim.slots = append(victim.slots[:0], like.slots...)
	}
	// first is set by load once field 0 is resolved (the cache's copy).
	victim.n, victim.first, victim.used = n, "", st.gen
	st.lastGuess = victim
	return victim
}

// remember records the name (see shapeGuess.names) and slot of field i.
func (g *shapeGuess) remember(i int, name string, slot int32) {
	if i >= maxPredFields {
		return
	}
	for len(g.names) <= i {
		g.names = append(g.names, "")
		g.slots = append(g.slots, -1)
	}
	g.names[i], g.slots[i] = name, slot
}

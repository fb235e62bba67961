package sigma

// The flattener's memory of line shapes: steps and object contexts.

// flatStep is one step of a line: the text from the end of a value (or the
// line's start) to the start of the next member's value, as written (white
// space, closing braces, a separator, keys, colons and opening braces:
// `},"event":{"action":`), and the member it leads to; or, for the end
// step, the text from the last value to the line's end. What a text gives
// depends only on the object the previous value was in (its context), so
// steps are remembered per context by text, and each step keeps the step
// that followed it last (next): a line of a known shape is read by
// comparing each guessed text in place.
type flatStep struct {
	// pre is the text compared (a copy): the step's text, and the
	// value's opening quote when str; n is its length, vn the step's
	// text's (where the value starts), fn n when the text is compared as
	// words (up to 32 bytes), else noStep.
	pre       []byte
	n, vn, fn int
	// pre's first eight bytes (padded with zeros; mask covers the pre),
	// last eight bytes, and bytes 8-16 and 16-24, as words
	p0, p1, pm, pm2, mask uint64
	name                  string   // the member's interned full name
	slot                  int32    // its slot in the bound engine (-1: none, or unbound; deadSlot: packed)
	ctx                   *flatCtx // the object holding the member (after its value)
	next                  *flatStep
	// alts are other steps seen after this one (most recent first),
	// tried in place when next is not the step here (altStep).
	alts [maxStepAlts]*flatStep
	str  bool // the member's value was a string when the step was made
	end  bool // the end step: the text runs to the line's end
}

// maxStepAlts is the number of other steps a step remembers after it.
const maxStepAlts = 3

// noStep is the length of a step that never matches in place: the end
// step's, and unknownStep's.
const noStep = 1 << 30

// unknownStep is the next step of a step made last: it never matches.
var unknownStep = &flatStep{n: noStep, fn: noStep}

// flatCtx is an object as reached from the line's start: its full name
// (the prefix of its members' names), the contexts of its member objects
// by key, and the steps from a value in it by text. The state before a
// line is a context too (flatten's head step's).
type flatCtx struct {
	parent *flatCtx
	name   string
	depth  int32
	kids   map[string]*flatCtx
	steps  map[string]*flatStep
}

// Bounds of the remembered shapes: steps and contexts together before all
// are dropped (a stream of ever new shapes must not grow them without
// end), and the longest text remembered as a step.
const (
	maxFlatSteps = 1 << 14
	maxGuessPre  = 128
)

// reset drops every remembered step and context.
func (f *jsonFlattener) reset() {
	f.head = &flatStep{ctx: &flatCtx{depth: -1}, next: unknownStep}
	f.root = &flatCtx{}
	f.nsteps = 0
}

// at reports whether s holds the step's text at i (what run inlines).
func (t *flatStep) at(s string, i int) bool {
	if n := t.fn; len(s)-i >= n+8 {
		return (load64(s, i)^t.p0)&t.mask == 0 && (n <= 8 || load64(s, i+n-8) == t.p1 &&
			(n <= 16 || load64(s, i+8) == t.pm && (n <= 24 || load64(s, i+16) == t.pm2)))
	}
	return t.atSlow(s, i)
}

// atSlow is at for texts longer than 32 bytes and the line's last bytes.
func (t *flatStep) atSlow(s string, i int) bool {
	return len(s)-i >= t.n && s[i:i+t.n] == bytesView(t.pre)
}

// setPre remembers pre (a copy) as the text compared; the step's own text
// is its first vn bytes.
func (t *flatStep) setPre(pre string, vn int) {
	t.pre = append(t.pre[:0], pre...)
	t.n, t.vn, t.fn = len(pre), vn, len(pre)
	if t.n > 32 {
		t.fn = noStep
	}
	var w [8]byte
	copy(w[:], pre)
	t.p0, t.mask = load64(bytesView(w[:]), 0), ^uint64(0)
	if n := len(pre); n < 8 {
		t.mask = 1<<(8*n) - 1
	}
	t.p1, t.pm, t.pm2 = 0, 0, 0
	if n := len(pre); n >= 8 {
		t.p1 = load64(pre, n-8)
	}
	if len(pre) >= 16 {
		t.pm = load64(pre, 8)
	}
	if len(pre) >= 24 {
		t.pm2 = load64(pre, 16)
	}
}

// slowStep reads the step after cur's value (after the line's start when
// cur is f.head) at pos: the text up to the next member's value, or up to
// the line's end after the line's object closed. It returns the step
// remembered for that text in cur's context, or a new one (then kept, and
// set as cur's next, while the bounds allow). f.pos is then after the
// text.
func (f *jsonFlattener) slowStep(cur *flatStep, pos int) (*flatStep, error) {
	f.pos = pos
	o := cur.ctx
	open := false // after an object's brace (else after a value)
	if cur == f.head {
		f.space()
		if f.pos >= len(f.s) || f.s[f.pos] != '{' {
			return nil, f.errf("want an object")
		}
		f.pos++
		o, open = f.root, true
	}
	for {
		f.ws()
		if f.pos < len(f.s) && f.s[f.pos] == '}' {
			f.pos++
			if o = o.parent; o == nil {
				// The line's object is closed.
				f.space()
				if f.pos < len(f.s) {
					return nil, f.errf("data after the object")
				}
				return f.step(cur, pos, &flatStep{end: true, slot: -1}), nil
			}
			open = false
			continue
		}
		if !open {
			switch {
			case f.pos >= len(f.s):
				return nil, f.errf("unexpected end in object")
			case f.s[f.pos] != ',':
				return nil, f.errf("want ',' or '}'")
			}
			f.pos++
		}
		if !f.at('"') {
			return nil, f.errf("want a member name")
		}
		key, err := f.str()
		if err != nil {
			return nil, err
		}
		if !f.at(':') {
			return nil, f.errf("want ':'")
		}
		f.pos++
		f.ws()
		if f.pos < len(f.s) && f.s[f.pos] == '{' {
			if o.depth >= maxFlatDepth {
				return nil, f.errf("nested too deep")
			}
			f.pos++
			o, open = f.kid(o, key), true
			continue
		}
		if t := cur.ctx.steps[f.s[pos:f.pos]]; t != nil {
			cur.follow(t)
			return t, nil
		}
		n := f.intern(o, key)
		return f.step(cur, pos, &flatStep{name: n.name, slot: n.slot, ctx: o}), nil
	}
}

// step returns the step remembered in cur's context for the text from pos
// to f.pos, else t with that text (kept when the bounds allow): the
// text compared in place is followed by the value's quote when the value
// is a string; the end step's never matches in place.
func (f *jsonFlattener) step(cur *flatStep, pos int, t *flatStep) *flatStep {
	key := f.s[pos:f.pos]
	if old := cur.ctx.steps[key]; old != nil {
		cur.follow(old)
		return old
	}
	t.next = unknownStep
	switch {
	case t.end:
		t.setPre(key, len(key))
		t.n, t.fn = noStep, noStep
	case f.pos < len(f.s) && f.s[f.pos] == '"':
		t.str = true
		t.setPre(f.s[pos:f.pos+1], len(key))
	default:
		t.setPre(key, len(key))
	}
	if len(key) <= maxGuessPre && f.nsteps < maxFlatSteps {
		if cur.ctx.steps == nil {
			cur.ctx.steps = map[string]*flatStep{}
		}
		cur.ctx.steps[bytesView(t.pre[:t.vn])] = t // t.pre is a copy, never changed
		cur.follow(t)
		f.nsteps++
	}
	return t
}

// follow makes t the step guessed after c, and keeps the one guessed
// before as an alternative.
func (c *flatStep) follow(t *flatStep) {
	if c.next != unknownStep && c.next != t {
		copy(c.alts[1:], c.alts[:maxStepAlts-1])
		c.alts[0] = c.next
	}
	c.next = t
}

// altStep tries cur's alternative steps in place at pos: the first that
// matches (see run) becomes cur's next, and is returned with where its
// value starts; none: nil, -1.
func (f *jsonFlattener) altStep(cur *flatStep, pos int) (*flatStep, int) {
	s := f.s
	for i, t := range cur.alts {
		if t == nil {
			break
		}
		if !t.at(s, pos) {
			continue
		}
		p := pos + t.vn
		if !t.str && (p >= len(s) || s[p] <= ' ' || s[p] == '{') {
			continue
		}
		cur.alts[i], cur.next = cur.next, t
		return t, p
	}
	return nil, -1
}

// kid returns the context of o's member object with this key.
func (f *jsonFlattener) kid(o *flatCtx, key string) *flatCtx {
	if k := o.kids[key]; k != nil {
		return k
	}
	k := &flatCtx{parent: o, name: f.intern(o, key).name, depth: o.depth + 1}
	if f.nsteps < maxFlatSteps {
		if o.kids == nil {
			o.kids = map[string]*flatCtx{}
		}
		o.kids[k.name[len(k.name)-len(key):]] = k
		f.nsteps++
	}
	return k
}

// intern returns the interned full name (and slot) of o's member with this
// key: o's name, a dot when that is not empty, and the key.
func (f *jsonFlattener) intern(o *flatCtx, key string) flatName {
	f.name = append(f.name[:0], o.name...)
	if len(o.name) > 0 {
		f.name = append(f.name, '.')
	}
	f.name = append(f.name, key...)
	n, ok := f.names[string(f.name)]
	if !ok {
		n = flatName{name: string(f.name), slot: -1}
		if f.eng != nil {
			n.slot = f.eng.resolve.slot(n.name)
		}
		if n.slot < 0 && f.pack {
			if _, ok := timeRank[n.name]; !ok {
				n.slot = deadSlot
			}
		}
		if len(f.names) < 1<<16 {
			f.names[n.name] = n
		}
	}
	return n
}

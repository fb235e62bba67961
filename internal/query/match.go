package query

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
	"github.com/mamori/mamori/internal/token"
)

// blockView is a decoded block with the columns the compiled query needs
// resolved by slot, so the per-row loop does no name lookups.
type blockView struct {
	b      *store.Block
	raw    *store.Column
	fields []*store.Column // non-metadata columns, for bare terms
	cols   []*store.Column // by slot; nil when absent or metadata
	// colSlot is the slot of each of fields (-1: no stage refers to it);
	// slotIsCol marks the slots that are columns of this block.
	colSlot   []int
	slotIsCol []bool
	tv        tmplView // _raw as templates (tmpl_view.go)
	// ips are IPv4 columns read by the terms as numbers (run_needle.go),
	// not among fields.
	ips []*store.IPv4Column
	ref store.BlockRef // the block b came from (nil: none known)
}

func (bv *blockView) reset(b *store.Block, names []string, slots map[string]int) {
	bv.b = b
	bv.raw = b.Column(event.FieldRaw)
	bv.tv.tmpl = nil
	bv.ips = bv.ips[:0]
	bv.fields = bv.fields[:0]
	bv.colSlot = bv.colSlot[:0]
	if cap(bv.cols) < len(names) {
		bv.cols = make([]*store.Column, len(names))
		bv.slotIsCol = make([]bool, len(names))
	}
	bv.cols = bv.cols[:len(names)]
	bv.slotIsCol = bv.slotIsCol[:len(names)]
	clear(bv.cols)
	clear(bv.slotIsCol)
	for i := range b.Cols {
		col := &b.Cols[i]
		s, ok := slots[col.Name]
		if !ok {
			s = -1
		}
		if s == slotTime || s == slotSource || s == slotHost || s == slotPartition {
			continue // these come from the block header
		}
		if s >= 0 {
			bv.cols[s] = col
			bv.slotIsCol[s] = true
		}
		if !isMetaColumn(col.Name) {
			bv.fields = append(bv.fields, col)
			bv.colSlot = append(bv.colSlot, s)
		}
	}
}

// value returns the value of slot in row i.
func (bv *blockView) value(slot, i int) (string, bool) {
	switch slot {
	case slotTime:
		return event.FormatTime(bv.b.Times[i]), true
	case slotSource:
		return bv.b.Source, bv.b.Source != ""
	case slotHost:
		return bv.b.Host, bv.b.Host != ""
	case slotPartition:
		return bv.b.Partition, bv.b.Partition != ""
	}
	c := bv.cols[slot]
	if c == nil {
		if slot == slotRaw && bv.tv.tmpl != nil {
			// Slow path: _raw loaded as templates; expand the row.
			return bv.rawValue(i)
		}
		return "", false
	}
	if !c.Has(i) {
		return "", false
	}
	return c.Values[i], true
}

// matcher is a compiled search expression.
type matcher interface {
	matchRow(bv *blockView, i int) bool
	matchEvent(e *event.Event) bool
}

type andMatcher []matcher
type orMatcher []matcher
type notMatcher struct{ m matcher }

func (a andMatcher) matchRow(bv *blockView, i int) bool {
	for _, m := range a {
		if !m.matchRow(bv, i) {
			return false
		}
	}
	return true
}

func (a andMatcher) matchEvent(e *event.Event) bool {
	for _, m := range a {
		if !m.matchEvent(e) {
			return false
		}
	}
	return true
}

func (o orMatcher) matchRow(bv *blockView, i int) bool {
	for _, m := range o {
		if m.matchRow(bv, i) {
			return true
		}
	}
	return false
}

func (o orMatcher) matchEvent(e *event.Event) bool {
	for _, m := range o {
		if m.matchEvent(e) {
			return true
		}
	}
	return false
}

func (n notMatcher) matchRow(bv *blockView, i int) bool { return !n.m.matchRow(bv, i) }
func (n notMatcher) matchEvent(e *event.Event) bool     { return !n.m.matchEvent(e) }

// termMatcher matches a term or phrase in _raw or any field value.
type termMatcher struct {
	text string
	wild *regexp.Regexp // for terms with wildcards
	fold textFinder
	tf   *tmplFinder // for _raw templates; nil with wildcards
	// ipKind says how the term meets a canonical dotted quad (a value of
	// an IPv4 column): 1, the term is one and matches only an equal
	// value (ip); -1, it has a byte other than a digit or a dot and
	// matches none; 0, it must be matched as text.
	ipKind int8
	ip     uint32
}

func (t *termMatcher) matchString(s string) bool {
	if t.wild != nil {
		return t.wild.MatchString(s)
	}
	return t.fold.match(s)
}

func (t *termMatcher) matchRow(bv *blockView, i int) bool {
	if bv.raw != nil && bv.raw.Has(i) && t.matchString(bv.raw.Values[i]) {
		return true
	}
	if bv.tv.tmpl != nil && bv.termInTemplate(t, i) {
		return true
	}
	for _, c := range bv.fields {
		if c.Has(i) && t.matchString(c.Values[i]) {
			return true
		}
	}
	if t.ipKind == 1 {
		for _, c := range bv.ips {
			if c.Addrs[i] == t.ip && (c.Absent == nil || !c.Absent[i]) {
				return true
			}
		}
	}
	return false
}

func (t *termMatcher) matchEvent(e *event.Event) bool {
	if t.matchString(e.Raw) {
		return true
	}
	for i := range e.Fields {
		if t.matchString(e.Fields[i].Value) {
			return true
		}
	}
	return false
}

// textFinder is token.Match with the term prepared once: it jumps between
// candidate positions with IndexByte on both cases of the term's rarest
// byte (by typical log text frequency), then checks the whole term.
type textFinder struct {
	term            string
	k               int  // anchor offset in term
	lo, up          byte // the anchor byte in both cases
	wantL, wantR    bool
	caseInsensitive bool
}

// byteRank orders bytes by how common they are in log text: lower is rarer.
var byteRank = func() [256]uint8 {
	var r [256]uint8
	for i := range r {
		r[i] = 10
	}
	const common = " etaoinsrhldcumfpgwybv0123456789.:-/_=" // most common first
	for i := 0; i < len(common); i++ {
		r[common[i]] = uint8(250 - i)
		if c := common[i]; c >= 'a' && c <= 'z' {
			r[c-32] = uint8(250 - i)
		}
	}
	return r
}()

func newTextFinder(term string) textFinder {
	f := textFinder{term: term}
	if term == "" {
		return f
	}
	for i := 1; i < len(term); i++ {
		if byteRank[term[i]] < byteRank[term[f.k]] {
			f.k = i
		}
	}
	c := term[f.k]
	f.lo, f.up = c, c
	if c >= 'A' && c <= 'Z' {
		f.lo = c + 32
	} else if c >= 'a' && c <= 'z' {
		f.up = c - 32
	}
	f.wantL = token.IsWordByte(term[0])
	f.wantR = token.IsWordByte(term[len(term)-1])
	for i := 0; i < len(term); i++ {
		if c := term[i] | 0x20; c >= 'a' && c <= 'z' {
			f.caseInsensitive = true
			break
		}
	}
	return f
}

// match reports token.Match(text, f.term).
func (f *textFinder) match(text string) bool {
	m := len(f.term)
	if m == 0 {
		return true
	}
	if len(text) < m {
		return false
	}
	// Anchor positions are searched in text[k : len-m+k+1].
	end := len(text) - m + f.k + 1
	nextLo, nextUp := -2, -2 // -2: not searched yet, -1: none left
	if f.lo == f.up {
		nextUp = -1
	}
	i := f.k
	for i < end {
		// Fast path: the next anchor byte in either case, each searched
		// once and reused until passed.
		if nextLo != -1 && nextLo < i {
			if j := strings.IndexByte(text[i:end], f.lo); j >= 0 {
				nextLo = i + j
			} else {
				nextLo = -1
			}
		}
		if nextUp != -1 && nextUp < i {
			if j := strings.IndexByte(text[i:end], f.up); j >= 0 {
				nextUp = i + j
			} else {
				nextUp = -1
			}
		}
		p := nextLo
		if p < 0 || (nextUp >= 0 && nextUp < p) {
			p = nextUp
		}
		if p < 0 {
			return false
		}
		s := p - f.k
		if (!f.wantL || s == 0 || !token.IsWordByte(text[s-1])) &&
			(!f.wantR || s+m == len(text) || !token.IsWordByte(text[s+m])) {
			if f.caseInsensitive {
				if token.EqualFold(text[s:s+m], f.term) {
					return true
				}
			} else if text[s:s+m] == f.term {
				return true
			}
		}
		i = p + 1
	}
	return false
}

// fieldMatcher evaluates a predicate on one field's value.
type fieldMatcher struct {
	slot    int
	name    string
	pred    func(v string) bool
	missing bool // the result when the field is absent
	// lit, for _raw only, is text every value pred accepts contains
	// (case-sensitive): rows of templates that cannot contain it are
	// ruled out without expanding them.
	lit *tmplFinder
	// win, for a regexp on _raw with lit, lets rows of skeletons be
	// decided on windows around lit (tmpl_regex.go); nil: whole rows.
	win *regexWindow
}

func (f *fieldMatcher) matchRow(bv *blockView, i int) bool {
	if f.lit != nil && bv.tv.tmpl != nil && f.slot == slotRaw && bv.tv.tmpl.Has(i) && !bv.rawMayContain(f.lit, i) {
		return false
	}
	v, ok := bv.value(f.slot, i)
	if !ok {
		return f.missing
	}
	return f.pred(v)
}

func (f *fieldMatcher) matchEvent(e *event.Event) bool {
	v, ok := e.Get(f.name)
	if !ok {
		return f.missing
	}
	return f.pred(v)
}

type trueMatcher struct{}

func (trueMatcher) matchRow(*blockView, int) bool { return true }
func (trueMatcher) matchEvent(*event.Event) bool  { return true }

// compileMatcher compiles a search expression. needRaw/needAll report
// which columns evaluation reads besides the slots it registers.
func (c *compiler) compileMatcher(e Expr) (matcher, error) {
	need := c.need
	switch e := e.(type) {
	case nil:
		return trueMatcher{}, nil
	case *Term:
		if need != nil {
			need.all = true
		}
		t := &termMatcher{text: e.Text, fold: newTextFinder(e.Text)}
		if !e.Quoted && hasWildcard(e.Text) {
			if strings.Trim(e.Text, "*") == "" {
				return trueMatcher{}, nil
			}
			re, err := termRegexp(e.Text)
			if err != nil {
				return nil, fmt.Errorf("term %q: %w", e.Text, err)
			}
			t.wild = re
		} else {
			t.tf = newTmplFinder(e.Text, true)
			t.ipKind, t.ip = ipTermKind(e.Text)
		}
		return t, nil
	case *Compare:
		return c.compileCompare(e)
	case *Subquery:
		return nil, fmt.Errorf("subquery %s: subqueries run only in searches, not event by event (live tail, detection)", e)
	case *In:
		vals := append([]string(nil), e.Values...)
		if len(vals) > 8 {
			// Long lists (subquery results): a set instead of a scan.
			set := make(map[string]struct{}, len(vals))
			for _, v := range vals {
				set[v] = struct{}{}
			}
			return &fieldMatcher{slot: c.slot(e.Field), name: e.Field, pred: func(v string) bool {
				_, ok := set[v]
				return ok
			}}, nil
		}
		return &fieldMatcher{slot: c.slot(e.Field), name: e.Field, pred: func(v string) bool {
			for _, x := range vals {
				if v == x {
					return true
				}
			}
			return false
		}}, nil
	case *Matches:
		var re *regexp.Regexp
		var err error
		if e.Regex {
			re, err = regexp.Compile(e.Pattern)
		} else {
			re, err = globRegexp(e.Pattern, false)
		}
		if err != nil {
			return nil, fmt.Errorf("%s matches: %w", e.Field, err)
		}
		pred := re.MatchString
		f := &fieldMatcher{slot: c.slot(e.Field), name: e.Field}
		if lit := requiredLiteral(e.Pattern); e.Regex && lit != "" {
			// Fast path: a value without the text every match holds is
			// ruled out by a substring search, without the regexp engine.
			sets := beyond(requiredSets(e.Pattern), lit) // the other literals (tmpl_expand_lits.go)
			pred = func(v string) bool { return strings.Contains(v, lit) && holdsSets(v, sets) && re.MatchString(v) }
			if f.slot == slotRaw {
				f.lit = newTmplFinder(lit, false)
				f.win = newRegexWindow(e.Pattern, lit)
			}
		} else if e.Regex {
			// Case-insensitive text every match holds (tmpl_regex_fold.go).
			if fl := foldLiteral(e.Pattern); fl != "" {
				pred = func(v string) bool { return foldContains(v, fl) && re.MatchString(v) }
			}
		}
		f.pred = pred
		return f, nil
	case *And:
		out := make(andMatcher, 0, len(e.Kids))
		for _, k := range e.Kids {
			m, err := c.compileMatcher(k)
			if err != nil {
				return nil, err
			}
			if _, ok := m.(trueMatcher); !ok {
				out = append(out, m)
			}
		}
		if len(out) == 0 {
			return trueMatcher{}, nil
		}
		if len(out) == 1 {
			return out[0], nil
		}
		return out, nil
	case *Or:
		out := make(orMatcher, 0, len(e.Kids))
		for _, k := range e.Kids {
			m, err := c.compileMatcher(k)
			if err != nil {
				return nil, err
			}
			if _, ok := m.(trueMatcher); ok {
				return m, nil
			}
			out = append(out, m)
		}
		return out, nil
	case *Not:
		m, err := c.compileMatcher(e.Kid)
		if err != nil {
			return nil, err
		}
		return notMatcher{m}, nil
	}
	return nil, fmt.Errorf("BUG: unknown search node %T", e)
}

func (c *compiler) compileCompare(e *Compare) (matcher, error) {
	f := &fieldMatcher{slot: c.slot(e.Field), name: e.Field}
	want := e.Value
	switch e.Op {
	case "=", "!=":
		pred, err := equalPred(want, e.Quoted)
		if err != nil {
			return nil, fmt.Errorf("%s%s%s: %w", e.Field, e.Op, want, err)
		}
		f.pred = pred
		if e.Op == "!=" {
			f.pred = func(v string) bool { return !pred(v) }
			f.missing = true
		}
	default:
		op := e.Op
		if n, ok := parseNum(want); ok {
			f.pred = func(v string) bool {
				x, ok := parseNum(v)
				if !ok {
					return false
				}
				return cmpHolds(op, cmpFloat(x, n))
			}
		} else {
			f.pred = func(v string) bool { return cmpHolds(op, strings.Compare(v, want)) }
		}
	}
	return f, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// equalPred returns the predicate of field=value: exact text, a glob when
// the unquoted value has wildcards, or a CIDR range (which also accepts the
// exact text).
func equalPred(want string, quoted bool) (func(string) bool, error) {
	if !quoted && hasWildcard(want) {
		re, err := globRegexp(want, false)
		if err != nil {
			return nil, err
		}
		return re.MatchString, nil
	}
	if strings.IndexByte(want, '/') > 0 {
		if pfx, err := netip.ParsePrefix(want); err == nil {
			pfx = pfx.Masked()
			slow := func(v string) bool {
				ip, err := netip.ParseAddr(v)
				return err == nil && pfx.Contains(ip.Unmap())
			}
			if !pfx.Addr().Is4() {
				return func(v string) bool { return v == want || slow(v) }, nil
			}
			a4 := pfx.Addr().As4()
			base := uint32(a4[0])<<24 | uint32(a4[1])<<16 | uint32(a4[2])<<8 | uint32(a4[3])
			mask := uint32(0)
			if pfx.Bits() > 0 {
				mask = ^uint32(0) << (32 - pfx.Bits())
			}
			return func(v string) bool {
				// Fast path: a dotted quad, parsed without netip.
				if ip, ok := parseIPv4(v); ok {
					return ip&mask == base || v == want
				}
				// Slow path: IPv6 text, IPv4-mapped addresses, or the
				// exact text of the range.
				return v == want || slow(v)
			}, nil
		}
	}
	return func(v string) bool { return v == want }, nil
}

// globRegexp compiles an anchored glob: '*' any run, '?' one character.
func globRegexp(glob string, fold bool) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	if fold {
		b.WriteString("(?i)")
	}
	b.WriteString("(?s)")
	for _, r := range glob {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// termRegexp compiles a search term with wildcards: case-insensitive, '*'
// any run of non-space characters, '?' one; word ends of the term must be
// word boundaries in the text, as for plain terms.
func termRegexp(term string) (*regexp.Regexp, error) {
	const word = `0-9A-Za-z_\x{80}-\x{10FFFF}\x{FFFD}`
	var b strings.Builder
	b.WriteString("(?i)")
	if token.IsWordByte(term[0]) {
		b.WriteString("(?:^|[^" + word + "])")
	}
	for _, r := range term {
		switch r {
		case '*':
			b.WriteString(`\S*`)
		case '?':
			b.WriteString(`\S`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	if token.IsWordByte(term[len(term)-1]) {
		b.WriteString("(?:$|[^" + word + "])")
	}
	return regexp.Compile(b.String())
}

// colNeed collects the columns evaluation reads.
type colNeed struct {
	all   bool // every column (bare terms, event output)
	names []string
}

func (n *colNeed) add(name string) {
	for _, x := range n.names {
		if x == name {
			return
		}
	}
	n.names = append(n.names, name)
}

// isMetaColumn reports whether name is one of the metadata fields the
// executor handles itself (the rest, like _parse_error, are plain fields).
func isMetaColumn(name string) bool {
	for _, m := range metaSlotNames {
		if name == m {
			return true
		}
	}
	return false
}

// parseIPv4 parses a dotted-quad IPv4 address the way netip.ParseAddr
// does (four decimal octets, no leading zeros); ok is false for anything
// else, including IPv6 forms.
func parseIPv4(s string) (uint32, bool) {
	if len(s) < 7 || len(s) > 15 {
		return 0, false
	}
	var ip uint32
	octets, n, digits := 0, uint32(0), 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 || octets == 4 {
				return 0, false
			}
			ip = ip<<8 | n
			octets++
			n, digits = 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' || (digits == 1 && n == 0) {
			return 0, false // not a digit, or a leading zero
		}
		n = n*10 + uint32(c-'0')
		digits++
		if n > 255 {
			return 0, false
		}
	}
	return ip, octets == 4
}

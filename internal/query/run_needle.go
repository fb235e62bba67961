package query

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

// Needle searches (a rare term, one address) keep blocks that hold a
// match in a handful of their rows. Once the search has picked those
// rows, a block that implements store.RowLoader is materialized row-wise:
// the columns the search did not read are decoded for the picked rows
// only (their bodies decompressed only as far as the last picked row),
// into a compact block of just those rows.

// planNeedle lets a search whose terms read every column leave out the
// field columns that cannot contain a term for event rows too (planDict
// does for aggregations): the matching rows' values of those columns are
// loaded afterwards, row-wise when few rows match (compactRows).
func (p *plan) planNeedle() {
	d := &p.dict
	if p.matchNeed.all && p.outAll && !d.pruneField {
		d.terms, d.pruneField = plainTerms(p.q.Search, nil)
	}
}

// taken returns the rows of sel the caller will take: with a limit and
// no row stage, the first or last takeLimit rows.
func (w *worker) taken(sel []int) []int {
	n := w.takeLimit
	if !w.compact || n <= 0 || len(sel) <= n || len(w.ex.p.prefix) > 0 {
		return sel
	}
	if w.takeAsc {
		return sel[:n]
	}
	return sel[len(sel)-n:]
}

// ipTermKind returns termMatcher.ipKind and ip for a term's text. A
// term matches a value at word boundaries (token.Match), and inside a
// dotted quad only a whole dotted quad lies between boundaries that
// leave three dots to it.
func ipTermKind(text string) (int8, uint32) {
	if ip, ok := parseIPv4(text); ok {
		return 1, ip
	}
	for i := 0; i < len(text); i++ {
		if c := text[i]; c != '.' && (c < '0' || c > '9') {
			return -1, 0
		}
	}
	return 0, 0
}

// ipTerms reports whether a term of m is a dotted quad and every term is
// decided on IPv4 columns by number (ipKind != 0), so that such columns
// read only by terms need not be loaded as text for the search. (Terms
// that match no dotted quad alone leave them to the load's pruning,
// which drops them without decoding.)
func ipTerms(m matcher) bool {
	quad, all := false, true
	for _, t := range termsOf(m, nil) {
		all = all && t.wild == nil && t.ipKind != 0
		quad = quad || t.ipKind == 1
	}
	return quad && all
}

// ipColumns returns the columns of names (read only by terms) that the
// search decides without loading them as text: those the block stores
// as IPv4 numbers, loaded into w.ips, and _raw when the block's refs
// summary shows that the terms match it only inside values of names'
// columns (rawLeftOut, needle_raw.go). When the terms compare one address
// only (ipNeedle), the rows holding it are found on the stored planes
// (store.IPv4EqualRower) and w.ips gets one column that holds the address
// in those rows only, which the terms cannot tell from the real ones.
func (w *worker) ipColumns(ref store.BlockRef, names []string) ([]string, error) {
	w.ips = w.ips[:0]
	nip := &w.nip
	nip.hits, nip.marked = nip.hits[:0], false
	var out []string
	if il, ok := ref.(store.IPv4Loader); ok && w.ex.p.ipTerms {
		er, _ := ref.(store.IPv4EqualRower)
		addr, one := ipNeedle(w.terms())
		for _, n := range names {
			if one && er != nil {
				hits, ok, err := er.IPv4EqualRows(n, addr, nip.hits, &nip.buf)
				if err != nil {
					return nil, err
				}
				if ok {
					nip.hits, nip.marked, nip.addr = hits, true, addr
					out = append(out, n)
				}
				continue // not stored as IPv4 here: LoadIPv4 has nothing either
			}
			col, err := il.LoadIPv4(n)
			if err != nil {
				return nil, err
			}
			if col != nil {
				w.ips = append(w.ips, col)
				out = append(out, n)
			}
		}
		if nip.marked {
			w.ips = append(w.ips, nip.column(ref.Rows()))
		}
	}
	left, err := w.rawLeftOut(ref, names)
	if err != nil {
		return nil, err
	}
	if left {
		out = append(out, event.FieldRaw)
	}
	return out, nil
}

// needleIPs holds a worker's IPv4 columns of a block found by address
// (ipColumns).
type needleIPs struct {
	addr   uint32
	hits   []int // rows of the block holding addr in a marked column (unsorted across columns)
	marked bool  // hits is set: a column was searched on its planes
	addrs  []uint32
	col    store.IPv4Column
	buf    store.DictBuf
	// rawCheck: whether and with which terms rawLeftOut asks blocks
	// whether _raw may be left out (needle_raw.go), decided once.
	rawCheck rawCheck
}

// column returns the IPv4 column of a block of rows rows holding addr in
// the rows of hits and 0 (no address a term of ipNeedle compares) in the
// others.
func (n *needleIPs) column(rows int) *store.IPv4Column {
	n.addrs = slices.Grow(n.addrs[:0], rows)[:rows]
	clear(n.addrs)
	for _, r := range n.hits {
		if r < rows {
			n.addrs[r] = n.addr
		}
	}
	n.col = store.IPv4Column{Addrs: n.addrs}
	return &n.col
}

// ipNeedle returns the address when every one of terms that is a dotted
// quad (ipKind 1) is the same one, other than 0.0.0.0: the IPv4 columns
// are then read by the terms only through "holds addr".
func ipNeedle(terms []*termMatcher) (uint32, bool) {
	var addr uint32
	n := 0
	for _, t := range terms {
		if t.ipKind != 1 {
			continue
		}
		if n > 0 && t.ip != addr {
			return 0, false
		}
		addr = t.ip
		n++
	}
	return addr, n > 0 && addr != 0
}

// needleRows returns the rows in [lo, hi) that are candidates (w.keep)
// and match m, when m is one term whose only columns in the block are
// those of termDicts (nf fields before them: none) and of ipColumns found
// by address: a row can match only where such a column holds a value
// (the rows found by address; the rows of a non-empty value), so only
// those rows are matched. The result is valid until the next call; false:
// select the usual way.
func (w *worker) needleRows(m matcher, nf, lo, hi int) ([]int, bool) {
	nip := &w.nip
	t, ok := m.(*termMatcher)
	if !ok || nf > 0 || w.bv.raw != nil || w.bv.tv.tmpl != nil || len(w.bv.ips) > 0 && !nip.marked || len(w.bv.ips) > 1 {
		return nil, false
	}
	cand := w.sel[:0]
	if nip.marked && t.ipKind == 1 {
		for _, r := range nip.hits {
			if r >= lo && r < hi {
				cand = append(cand, r)
			}
		}
	}
	for i := range w.td.n {
		vals := w.td.cols[i].Values
		for r := lo; r < hi && r < len(vals); r++ {
			if vals[r] != "" {
				cand = append(cand, r)
			}
		}
	}
	slices.Sort(cand)
	cand = slices.Compact(cand)
	w.sel = cand[:0]
	for _, r := range cand {
		if (w.keep == nil || w.keep[r]) && t.matchRow(&w.bv, r) {
			w.sel = append(w.sel, r)
		}
	}
	return w.sel, true
}

// termDicts decides the columns of names (read only by the search's
// terms) that the block stores as dictionaries on their distinct values
// (store.TermDictLoader): it returns those it decided, to be left out of
// the load. Those holding a value that a term matches are kept in w.td
// as columns of only such values, for the terms to read (addTermDicts).
func (w *worker) termDicts(ref store.BlockRef, names []string) ([]string, error) {
	td := &w.td
	td.n = 0
	tl, ok := ref.(store.TermDictLoader)
	if !ok || len(names) == 0 {
		return nil, nil
	}
	if td.match == nil {
		terms := w.terms()
		td.match = func(v string) bool {
			for _, t := range terms {
				if t.matchString(v) {
					return true
				}
			}
			return false
		}
	}
	cols, out, err := tl.LoadTermDicts(names, w.ex.p.dict.terms, td.match, td.cols[:0], nil, &td.buf)
	if err != nil {
		return nil, err
	}
	for _, c := range cols {
		if len(c.Values) != ref.Rows() {
			return nil, fmt.Errorf("malformed block: column %q has %d values for %d rows", c.Name, len(c.Values), ref.Rows())
		}
	}
	td.cols, td.n = cols, len(cols)
	return out, nil
}

// termDictCols is a worker's columns of termDicts for the current block.
type termDictCols struct {
	cols  []store.Column // the block's; their Values are reused
	n     int            // len(cols), 0 between blocks
	buf   store.DictBuf
	match func(string) bool // a term of the search matches
	terms []*termMatcher    // of the search (w.terms)
	set   bool              // terms is set
	// bodies: what the loads of the current block checked and
	// decompressed (store.BodyKeeper, blockRows).
	bodies store.BlockBodies
}

// terms returns the term matchers of the search.
func (w *worker) terms() []*termMatcher {
	td := &w.td
	if !td.set {
		td.terms, td.set = termsOf(w.ex.p.m, nil), true
	}
	return td.terms
}

// termsOf appends the term matchers of m to out.
func termsOf(m matcher, out []*termMatcher) []*termMatcher {
	switch m := m.(type) {
	case *termMatcher:
		out = append(out, m)
	case andMatcher:
		for _, k := range m {
			out = termsOf(k, out)
		}
	case orMatcher:
		for _, k := range m {
			out = termsOf(k, out)
		}
	case notMatcher:
		out = termsOf(m.m, out)
	}
	return out
}

// addTermDicts adds the columns of termDicts to the view's fields (read by
// the terms only: no slot) and returns the number of fields before them,
// for dropTermDicts.
func (w *worker) addTermDicts() int {
	bv := &w.bv
	n := len(bv.fields)
	for i := range w.td.n {
		bv.fields = append(bv.fields, &w.td.cols[i])
		bv.colSlot = append(bv.colSlot, -1)
	}
	return n
}

// dropTermDicts takes the columns of addTermDicts out of the view again:
// they are not the columns' values.
func (w *worker) dropTermDicts(n int) {
	bv := &w.bv
	bv.fields, bv.colSlot = bv.fields[:n], bv.colSlot[:n]
}

// needleNoTimes reports whether the search of block ref may load no
// times (store.LoadOptions.NoTimes): the block lies inside the time range
// (so no row is cut by time), the search reads no time, and the rows it
// keeps are loaded row-wise (store.RowLoader), which decodes the times only
// up to the last kept row. A block that keeps too many rows for that
// loads its times after the search (scan).
func (w *worker) needleNoTimes(ref store.BlockRef) bool {
	p := w.ex.p
	if !w.compact || !inRange(ref, w.ex.opts.From, w.ex.opts.To) || slices.Contains(p.matchNeed.names, event.FieldTime) {
		return false
	}
	_, ok := ref.(store.RowLoader)
	return ok
}

// compactShare: a block is materialized row-wise when at most one row in
// compactShare matches (more rows decode most of every column anyway).
const compactShare = 8

// rowLoader returns the block's RowLoader when the event rows of a
// selection of n of its rows are worth materializing row-wise.
func (w *worker) rowLoader(ref store.BlockRef, n, rows int) store.RowLoader {
	if !w.compact || n*compactShare > rows {
		return nil
	}
	rl, _ := ref.(store.RowLoader)
	return rl
}

// compactRows makes the block of the selected rows sel of b (loaded for
// the search; its _raw as templates tmpl when not nil): the columns of b,
// the expanded _raw when the stages read it, and need (loaded through
// rl), in the order of the plain path. It resets the worker's view to it
// and returns its rows (0, 1, ...).
func (w *worker) compactRows(ref store.BlockRef, rl store.RowLoader, b *store.Block, tmpl *store.RawTemplates, sel []int, need []string) ([]int, error) {
	p := w.ex.p
	rows := slices.Clone(sel)
	order := loadList(ref, &p.matchNeed, false, nil)
	order = append(order, loadList(ref, &p.stageNeed, p.outAll, order)...)
	wantRaw := tmpl != nil && (p.outAll || p.stageNeed.all || slices.Contains(p.stageNeed.names, event.FieldRaw))
	// With skeletons, the row-wise load expands _raw itself: from the
	// variables the search decompressed, or streaming them only up to the
	// last row's (not the whole block's for a template).
	loadRaw := wantRaw && tmpl.Skeletons() > 0
	var names []string // loaded row-wise
	for _, n := range order {
		if slices.Contains(need, n) && b.Column(n) == nil && (n != event.FieldRaw || tmpl == nil) {
			names = append(names, n)
		}
	}
	if loadRaw && !slices.Contains(names, event.FieldRaw) {
		names = append(names, event.FieldRaw)
	}
	var raws []rawRow
	if wantRaw && !loadRaw {
		var err error
		if raws, err = w.splitRows(tmpl, rows); err != nil {
			return nil, err
		}
		for _, r := range raws {
			for _, n := range r.refs {
				if b.Column(n) == nil && !slices.Contains(names, n) {
					names = append(names, n)
				}
			}
		}
	}
	if tmpl != nil {
		rl = tmpl // reuses the search's load: its columns and pruned bodies
	}
	var nb *store.Block
	var err error
	if trl, ok := rl.(store.TimesRowLoader); ok {
		nb, err = trl.LoadRowsTimes(names, rows, b.Times) // the search's times: not decoded again
	} else {
		nb, err = rl.LoadRows(names, rows)
	}
	if err != nil {
		return nil, err
	}
	if nb.Rows() != len(rows) {
		return nil, fmt.Errorf("%d rows loaded for %d", nb.Rows(), len(rows))
	}
	loaded := nb.Cols
	nb.Cols = make([]store.Column, 0, len(order))
	for _, n := range order {
		switch {
		case b.Column(n) != nil:
			nb.Cols = append(nb.Cols, pickRows(b.Column(n), rows))
		case n == event.FieldRaw && loadRaw:
			if k := slices.IndexFunc(loaded, func(c store.Column) bool { return c.Name == n }); k >= 0 {
				nb.Cols = append(nb.Cols, loaded[k])
			}
		case n == event.FieldRaw && wantRaw:
			col, err := joinRaws(raws, rows, b, loaded)
			if err != nil {
				return nil, err
			}
			nb.Cols = append(nb.Cols, col)
		case slices.Contains(need, n):
			if k := slices.IndexFunc(loaded, func(c store.Column) bool { return c.Name == n }); k >= 0 {
				nb.Cols = append(nb.Cols, loaded[k])
			}
		}
	}
	if err := checkBlock(nb); err != nil {
		return nil, err
	}
	w.bv.reset(nb, p.c.names, p.c.slots)
	return w.allRows(len(rows)), nil
}

// pickRows returns the values of c in rows.
func pickRows(c *store.Column, rows []int) store.Column {
	out := store.Column{Name: c.Name, Values: make([]string, len(rows))}
	for j, r := range rows {
		out.Values[j] = c.Values[r]
		if !c.Has(r) {
			if out.Absent == nil {
				out.Absent = make([]bool, len(rows))
			}
			out.Absent[j] = true
		}
	}
	return out
}

// rawRow is one row's _raw template split: the text is pieces[0], the
// value of column refs[0], pieces[1], ...; absent: the row has no _raw.
type rawRow struct {
	pieces []string
	refs   []string
	absent bool
}

// splitRows splits the templates of rows, with copies of the pieces.
func (w *worker) splitRows(tmpl *store.RawTemplates, rows []int) ([]rawRow, error) {
	out := make([]rawRow, len(rows))
	var pieces []string
	var refs []int
	var buf []byte
	for j, r := range rows {
		if !tmpl.Has(r) {
			out[j].absent = true
			continue
		}
		var err error
		pieces, refs, buf, err = tmpl.Split(r, pieces[:0], refs[:0], buf[:0])
		if err != nil {
			return nil, err
		}
		rr := &out[j]
		rr.pieces = make([]string, len(pieces))
		for i, pc := range pieces {
			rr.pieces[i] = strings.Clone(pc)
		}
		rr.refs = make([]string, len(refs))
		for i, k := range refs {
			rr.refs[i] = tmpl.Name(k)
		}
	}
	return out, nil
}

// joinRaws writes the values into the split templates: the _raw column of
// the compact block. A value comes from b (block rows) or from loaded
// (compact rows).
func joinRaws(raws []rawRow, rows []int, b *store.Block, loaded []store.Column) (store.Column, error) {
	col := store.Column{Name: event.FieldRaw, Values: make([]string, len(rows))}
	var sb strings.Builder
	for j, rr := range raws {
		if rr.absent {
			if col.Absent == nil {
				col.Absent = make([]bool, len(rows))
			}
			col.Absent[j] = true
			continue
		}
		sb.Reset()
		for i, pc := range rr.pieces {
			sb.WriteString(pc)
			if i == len(rr.refs) {
				break
			}
			v, ok := "", false
			if c := b.Column(rr.refs[i]); c != nil {
				v, ok = c.Values[rows[j]], c.Has(rows[j])
			} else if k := slices.IndexFunc(loaded, func(c store.Column) bool { return c.Name == rr.refs[i] }); k >= 0 {
				v, ok = loaded[k].Values[j], loaded[k].Has(j)
			}
			if !ok {
				return store.Column{}, fmt.Errorf("_raw template of row %d refers to column %s, which the row lacks", rows[j], rr.refs[i])
			}
			sb.WriteString(v)
		}
		col.Values[j] = sb.String()
	}
	return col, nil
}

package query

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

// dictPlan lets a scan decide search conjuncts and count groups by
// dictionary code on blocks that store a column as a constant or a
// dictionary (store.ColumnLoader), and skip decoding what the query does
// not read: the columns so decided and, for the columnar aggregations, the
// per-row times of blocks inside the time range.
type dictPlan struct {
	conj   []matcher       // the top-level conjuncts of the search
	fields []*fieldMatcher // conj[j] when it compares one column by value, else nil
	// allFields: every conjunct is a fieldMatcher, so the search reads no
	// column besides theirs and a decided one need not be loaded.
	allFields bool
	noTimes   bool   // the aggregation reads no per-row time
	byName    string // count by this one field: by code where it is coded
	// terms are the texts of the search's terms when they are why every
	// column is read (matchNeed.all) and all are plain texts: a field
	// column that contains none of them cannot make a term match, so it
	// is not loaded for the search.
	terms      []string
	pruneField bool // terms is valid (possibly empty: only "*" terms)

	// ip[j] decides fields[j] on blocks that store its column as IPv4
	// numbers (store.IPv4Loader), nil when it cannot (run_ip.go).
	ip []*ipPred
	// exact[j] holds the values fields[j] accepts, all of them and only
	// them (field=value, field in (...)), nil when not known so.
	exact [][]string
	// ipAgg names the column of a count by one field or of a lone
	// count_distinct (ipDistinct) that is counted by number on blocks
	// storing it as IPv4, when every conjunct is a field comparison.
	ipAgg      string
	ipDistinct bool
	// ipTop > 0: the count by is followed by a sort by count, descending,
	// keeping ipTop rows (fuseSortLimit).
	ipTop int
	// codeAgg: the aggregation is a count, or a count by byName, so a
	// block inside the time range whose conjuncts are all decided by code
	// is counted from the codes alone (worker.dictBlock).
	codeAgg bool
}

func (p *plan) planDict() {
	d := &p.dict
	switch m := p.m.(type) {
	case trueMatcher:
	case andMatcher:
		d.conj = m
	default:
		d.conj = []matcher{m}
	}
	d.allFields = !p.matchNeed.all
	if p.matchNeed.all && !p.outAll {
		// Event rows need every column of a block with a match anyway
		// (needle searches mostly keep blocks with one): loading the
		// pruned columns again would cost more than it saves.
		d.terms, d.pruneField = plainTerms(p.q.Search, nil)
	}
	for _, m := range d.conj {
		f, _ := m.(*fieldMatcher)
		d.fields = append(d.fields, f)
		if f == nil {
			d.allFields = false
		}
	}
	d.planIP(p.q.Search)
	a, ok := p.agg.(*aggregateOp)
	if !ok || len(p.prefix) > 0 || slices.Contains(p.matchNeed.names, event.FieldTime) || slices.Contains(p.stageNeed.names, event.FieldTime) {
		return
	}
	// The cases worker.columnar handles without per-row records.
	switch {
	case len(a.by) == 0 && a.onlyCount():
		d.noTimes = true
	case len(a.by) == 1 && a.onlyCount():
		s := a.by[0]
		if s >= numMetaSlots || s == slotCategory {
			d.noTimes, d.byName = true, p.c.names[s]
			if s >= numMetaSlots {
				d.ipAgg = p.c.names[s]
				if so, ok := p.postSort(); ok && so.limit > 0 && len(so.slots) == 1 && !so.asc[0] && len(a.calls) == 1 && so.slots[0] == a.calls[0].out {
					d.ipTop = so.limit
				}
			}
		} else if s == slotRaw || s == slotSource || s == slotHost || s == slotPartition {
			d.noTimes = true
		}
	case len(a.by) == 0 && len(a.calls) == 1 && a.calls[0].fn == "count_distinct" && a.calls[0].field >= numMetaSlots:
		d.noTimes = true
		d.ipAgg, d.ipDistinct = p.c.names[a.calls[0].field], true
	}
	if slices.Contains(d.fields, nil) {
		d.ipAgg = "" // a conjunct needs columns: the usual way
	}
	d.codeAgg = d.noTimes && a.onlyCount() && (len(a.by) == 0 || d.byName != "")
}

// postSort returns the sort that first follows the aggregation.
func (p *plan) postSort() (*sortOp, bool) {
	if len(p.post) == 0 {
		return nil, false
	}
	s, ok := p.post[0].(*sortOp)
	return s, ok
}

// filter is dictFilter remembered for the current block (worker.pre):
// a fast path that decides the conjuncts and then leaves the block to
// scan does not decode the codes twice.
func (w *worker) filter(cl store.ColumnLoader, rows int) (matcher, []string, bool, error) {
	if w.pre.set {
		return w.pre.m, w.pre.skip, true, nil
	}
	m, skip, ok, err := w.dictFilter(cl, rows)
	if err == nil && ok {
		w.pre = preFilter{set: true, m: m, skip: skip}
	}
	return m, skip, ok, err
}

// preFilter is a dictFilter result kept for the rest of a block's work.
type preFilter struct {
	set  bool
	m    matcher
	skip []string
}

// dictBlock counts a block inside the time range from dictionary codes
// alone when the aggregation is a count or a count by a coded field
// (dictPlan.codeAgg) and every conjunct is decided by code: no other
// column is loaded. It reports false when the block must be scanned.
func (w *worker) dictBlock(ref store.BlockRef) (bool, error) {
	if r, ok := ref.(*summedRef); ok {
		return true, w.addSummed(r)
	}
	p := w.ex.p
	d := &p.dict
	cl, ok := ref.(store.ColumnLoader)
	sh, ok2 := w.shard.(*aggShardImpl)
	if !ok || !ok2 || !d.codeAgg || len(p.prefix) > 0 || !inRange(ref, w.ex.opts.From, w.ex.opts.To) {
		return false, nil
	}
	rows := ref.Rows()
	if d.byName == "" && len(d.conj) == 1 && d.fields[0] != nil && !w.pre.set {
		// field=value | count: the codes are counted, no row is marked.
		done, err := w.countOne(sh, cl, rows)
		if err != nil {
			err = fmt.Errorf("load block %s/%s/%s: %w", ref.Partition(), ref.Source(), ref.Host(), err)
		}
		if done || err != nil {
			return true, err
		}
	}
	m, _, ok, err := w.filter(cl, rows)
	if err != nil || !ok {
		if err != nil {
			err = fmt.Errorf("load block %s/%s/%s: %w", ref.Partition(), ref.Source(), ref.Host(), err)
		}
		return true, err
	}
	if !isTrue(m) || (w.keep != nil && len(w.keep) != rows) {
		return false, nil
	}
	var by *store.DictColumn
	if d.byName != "" {
		ds := getDictScratch() // by is used up in countCodes
		defer putDictScratch(ds)
		if by, err = loadDictTo(cl, d.byName, &ds.buf); err != nil {
			return true, fmt.Errorf("load block %s/%s/%s: %w", ref.Partition(), ref.Source(), ref.Host(), err)
		}
		if by == nil || (by.Codes != nil && len(by.Codes) != rows) {
			return false, nil
		}
	}
	w.ex.scanned.Add(int64(rows))
	if err := w.ex.budget.addRows(int64(rows)); err != nil {
		return true, err
	}
	n := int64(rows)
	if w.keep != nil {
		n = 0
		for _, k := range w.keep {
			if k {
				n++
			}
		}
	}
	w.ex.matched.Add(n)
	if by == nil {
		sh.one.addCount(n)
		return true, nil
	}
	return true, w.countCodes(sh, by, n)
}

// countOne counts a block inside the time range for a count whose search
// is one conjunct on a coded column (field=value | count): the rows whose
// code passes, without marking candidates. It reports false when the
// block does not code the column.
func (w *worker) countOne(sh *aggShardImpl, cl store.ColumnLoader, rows int) (bool, error) {
	d := &w.ex.p.dict
	f := d.fields[0]
	w.keep = nil // no candidates are marked
	ds := getDictScratch()
	defer putDictScratch(ds)
	if vc, ok := cl.(store.ValueCounter); ok && d.exact[0] != nil {
		// The codes are counted as stored; a block whose dictionary
		// lacks the values is not read further.
		n, ok, err := vc.CountValues(f.name, d.exact[0], &ds.buf)
		if err != nil || !ok {
			return err != nil, err
		}
		return true, w.addCount(sh, rows, int64(n))
	}
	dc, codes8, err := loadDictBytes(cl, f.name, &ds.buf)
	if err != nil || dc == nil || (dc.Codes != nil && len(dc.Codes) != rows) || (codes8 != nil && len(codes8) != rows) {
		return err != nil, err
	}
	var n int64
	switch {
	case codes8 != nil:
		n = countAllowed(codes8, w.allowOf(f, dc))
	case len(dc.Dict) == 0:
		if f.missing {
			n = int64(rows)
		}
	case dc.Codes == nil:
		if f.pred(dc.Dict[0]) {
			n = int64(rows)
		}
	default:
		n = countAllowed(dc.Codes, w.allowOf(f, dc))
	}
	return true, w.addCount(sh, rows, n)
}

// addCount adds n matching rows of a block of rows to the count.
func (w *worker) addCount(sh *aggShardImpl, rows int, n int64) error {
	if n == 0 {
		return nil // as dictFilter: a block without candidates is not scanned
	}
	w.ex.scanned.Add(int64(rows))
	if err := w.ex.budget.addRows(int64(rows)); err != nil {
		return err
	}
	w.ex.matched.Add(n)
	sh.one.addCount(n)
	return nil
}

// allowOf returns whether each code of dc passes f (code 0: rows without
// the field), in w.allow.
func (w *worker) allowOf(f *fieldMatcher, dc *store.DictColumn) []bool {
	allow := append(w.allow[:0], f.missing)
	for _, v := range dc.Dict {
		allow = append(allow, f.pred(v))
	}
	w.allow = allow
	return allow
}

// countCodes adds the candidate rows (w.keep; n of them) to the groups
// of their coded values; rows without the field are not counted (as in
// countByDict).
func (w *worker) countCodes(sh *aggShardImpl, dc *store.DictColumn, n int64) error {
	if dc.Codes == nil {
		if len(dc.Dict) == 1 && n > 0 {
			return sh.addCountText(dc.Dict[0], n)
		}
		return nil
	}
	counts := w.codeCounts(dc)
	if keep := w.keep; keep != nil {
		for i, c := range dc.Codes {
			if keep[i] && int(c) < len(counts) {
				counts[c]++
			}
		}
	} else {
		for _, c := range dc.Codes {
			if int(c) < len(counts) {
				counts[c]++
			}
		}
	}
	return addCodeCounts(sh, dc, counts)
}

// dictFilter decides the conjuncts whose column the block stores coded.
// It returns the matcher left for the rows, the columns no longer to load,
// and false when no row can match; w.keep then marks the candidate rows
// (nil: all).
func (w *worker) dictFilter(cl store.ColumnLoader, rows int) (matcher, []string, bool, error) {
	d := &w.ex.p.dict
	w.keep = nil
	var left andMatcher
	var skip []string
	// Each conjunct's column is used up before the next is loaded.
	ds := getDictScratch()
	defer putDictScratch(ds)
	for j, m := range d.conj {
		f := d.fields[j]
		var (
			dc     *store.DictColumn
			codes8 []byte
			packed *store.PackedCodes
		)
		if f != nil {
			var err error
			if dc, codes8, packed, err = loadDictCodes(cl, f.name, &ds.buf); err != nil {
				return nil, nil, false, err
			}
		}
		if dc == nil && f != nil && d.ip[j] != nil {
			if il, ok := cl.(store.IPv4Loader); ok {
				decided, hit, err := w.ipFilter(il, j, rows, &ds.buf)
				if err != nil {
					return nil, nil, false, err
				}
				if decided {
					if !hit {
						return nil, nil, false, nil
					}
					if d.allFields {
						skip = append(skip, f.name)
					}
					continue
				}
			}
		}
		if dc == nil {
			left = append(left, m)
			continue
		}
		if d.allFields {
			skip = append(skip, f.name)
		}
		switch {
		case packed != nil:
			if packed.Len() != rows {
				left = append(left, m) // not what the block says: decide per row
				continue
			}
		case codes8 != nil:
			if len(codes8) != rows {
				left = append(left, m) // not what the block says: decide per row
				continue
			}
		case len(dc.Dict) == 0:
			if !f.missing {
				return nil, nil, false, nil
			}
			continue
		case dc.Codes == nil:
			if !f.pred(dc.Dict[0]) {
				return nil, nil, false, nil
			}
			continue
		case len(dc.Codes) != rows:
			left = append(left, m) // not what the block says: decide per row
			continue
		}
		allow := w.allowOf(f, dc)
		first := w.keep == nil
		if first {
			// The first decided conjunct sets the candidates.
			w.keepBuf = slices.Grow(w.keepBuf[:0], rows)[:rows]
			w.keep = w.keepBuf
		}
		var hit bool
		if packed != nil {
			if one, ok := oneAllowed(allow); ok && one < 256 {
				hit = packed.MarkEq(w.keep, byte(one), first)
			} else {
				hit = markCodes(w.keep, packed.Bytes(), allow, first)
			}
		} else if codes8 != nil {
			hit = markCodes(w.keep, codes8, allow, first)
		} else {
			hit = markCodes(w.keep, dc.Codes, allow, first)
		}
		if !hit {
			return nil, nil, false, nil
		}
	}
	switch len(left) {
	case 0:
		return trueMatcher{}, skip, true, nil
	case 1:
		return left[0], skip, true, nil
	}
	return left, skip, true, nil
}

// countByDict adds the selected rows to the groups of their coded values;
// rows without the field are not counted (as in columnar).
func (w *worker) countByDict(sh *aggShardImpl, dc *store.DictColumn, sel []int) error {
	if dc.Codes == nil {
		if len(dc.Dict) == 1 {
			return sh.addCountText(dc.Dict[0], int64(len(sel)))
		}
		return nil
	}
	counts := w.codeCounts(dc)
	for _, i := range sel {
		if c := int(dc.Codes[i]); c < len(counts) {
			counts[c]++
		}
	}
	return addCodeCounts(sh, dc, counts)
}

// codeCounts returns w.counts zeroed for the codes of dc (0 and one per
// value).
func (w *worker) codeCounts(dc *store.DictColumn) []int64 {
	n := len(dc.Dict) + 1
	w.counts = slices.Grow(w.counts[:0], n)[:n]
	clear(w.counts)
	return w.counts
}

// addCodeCounts adds counts (by code; code 0, rows without the field, is
// not counted) to the groups of dc's values.
func addCodeCounts(sh *aggShardImpl, dc *store.DictColumn, counts []int64) error {
	// dc's values may be views of a buffer that is reused (store.DictBuf):
	// the shard must not remember the last group by one.
	defer func() { sh.last, sh.lastKey = nil, "" }()
	for c := 1; c < len(counts); c++ {
		if counts[c] > 0 {
			if err := sh.addCountText(dc.Dict[c-1], counts[c]); err != nil {
				return err
			}
		}
	}
	return nil
}

// without returns names minus drop (names itself when drop is empty).
func without(names, drop []string) []string {
	if len(drop) == 0 {
		return names
	}
	out := names[:0:0]
	for _, n := range names {
		if !slices.Contains(drop, n) {
			out = append(out, n)
		}
	}
	return out
}

// inRange reports whether every row of ref lies in [from, to).
func inRange(ref store.BlockRef, from, to int64) bool {
	return (from == 0 || ref.MinTime() >= from) && (to == 0 || ref.MaxTime() < to)
}

// plainTerms collects the texts of the terms of e; false (and nil) when a
// term is empty or a wildcard pattern, which a substring cannot rule out.
func plainTerms(e Expr, out []string) ([]string, bool) {
	ok := true
	var walk func(e Expr)
	walk = func(e Expr) {
		switch e := e.(type) {
		case *Term:
			if !e.Quoted && e.Text != "" && strings.Trim(e.Text, "*") == "" {
				return // matches every row and reads nothing
			}
			if e.Text == "" || (!e.Quoted && hasWildcard(e.Text)) {
				ok = false
				return
			}
			if !slices.Contains(out, e.Text) {
				out = append(out, e.Text)
			}
		case *And:
			for _, k := range e.Kids {
				walk(k)
			}
		case *Or:
			for _, k := range e.Kids {
				walk(k)
			}
		case *Not:
			walk(e.Kid)
		}
	}
	walk(e)
	if !ok {
		return nil, false
	}
	return out, true
}

// pruneList returns the field columns of the block that only the
// search's terms read: the store may leave out those that contain none
// of the terms (store.LoadOptions.PruneCols).
func (w *worker) pruneList(ref store.BlockRef) []string {
	p := w.ex.p
	var out []string
	for _, n := range ref.Columns() {
		if !isMetaColumn(n) && !slices.Contains(p.matchNeed.names, n) {
			out = append(out, n)
		}
	}
	return out
}

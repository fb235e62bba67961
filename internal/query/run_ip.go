package query

import (
	"cmp"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/mamori/mamori/internal/store"
)

// This file lets a scan work on IPv4 columns as numbers on blocks that
// store them so (store.IPv4Loader): field=a.b.c.d, CIDR ranges and
// field in (...) are decided by comparing uint32s, and count by and
// count_distinct of such a column count addresses, formatting each
// distinct one as text only once.

// ipPred is a search conjunct on one field decided on IPv4 numbers: the
// value lies in one of ranges (inclusive, sorted, disjoint), negated by
// not. Rows without the field answer the fieldMatcher's missing.
type ipPred struct {
	ranges []ipRange
	not    bool
}

type ipRange struct{ lo, hi uint32 }

// match reports whether the present address a passes.
func (p *ipPred) match(a uint32) bool {
	in := false
	switch r := p.ranges; len(r) {
	case 0:
	case 1:
		in = a >= r[0].lo && a <= r[0].hi
	default:
		i, _ := slices.BinarySearchFunc(r, a, func(r ipRange, a uint32) int {
			if r.hi < a {
				return -1
			}
			if r.lo > a {
				return 1
			}
			return 0
		})
		in = i < len(r) && r[i].lo <= a && a <= r[i].hi
	}
	return in != p.not
}

// newIPPred returns the predicate of e on a column of canonical dotted
// quads, or nil when e is not one decided by number: it must give exactly
// what the text predicate of compileMatcher gives on those values.
func newIPPred(e Expr) *ipPred {
	p := &ipPred{}
	switch e := e.(type) {
	case *Compare:
		if e.Op != "=" && e.Op != "!=" {
			return nil
		}
		p.not = e.Op == "!="
		want := e.Value
		if !e.Quoted && hasWildcard(want) {
			return nil // a glob
		}
		if strings.IndexByte(want, '/') > 0 {
			if pfx, err := netip.ParsePrefix(want); err == nil {
				if !pfx.Addr().Is4() {
					return nil
				}
				pfx = pfx.Masked()
				a4 := pfx.Addr().As4()
				base := uint32(a4[0])<<24 | uint32(a4[1])<<16 | uint32(a4[2])<<8 | uint32(a4[3])
				span := uint32(0)
				if pfx.Bits() < 32 {
					span = ^uint32(0) >> pfx.Bits()
				}
				p.ranges = []ipRange{{base, base | span}}
				return p
			}
		}
		// The exact text: no dotted quad equals a value that is not one.
		if a, ok := parseIPv4(want); ok {
			p.ranges = []ipRange{{a, a}}
		}
		return p
	case *In:
		for _, v := range e.Values {
			if a, ok := parseIPv4(v); ok {
				p.ranges = append(p.ranges, ipRange{a, a})
			}
		}
		slices.SortFunc(p.ranges, func(x, y ipRange) int { return cmp.Compare(x.lo, y.lo) })
		p.ranges = slices.Compact(p.ranges)
		return p
	}
	return nil
}

// planIP pairs the search's field conjuncts with their expressions
// (pairExprs), and gives those it can number predicates and exact
// values.
func (d *dictPlan) planIP(search Expr) {
	d.ip = make([]*ipPred, len(d.fields))
	d.exact = make([][]string, len(d.fields))
	for j, e := range d.pairExprs(search) {
		if e == nil {
			continue
		}
		d.ip[j] = newIPPred(e)
		if vals, _ := exactValues(e); len(vals) > 0 && len(vals) <= maxExact {
			d.exact[j] = vals
		}
	}
}

// maxExact is the most values of a conjunct counted by value
// (store.ValueCounter).
const maxExact = 8

// pairExprs returns, for each field conjunct, its expression in the
// search: a fieldMatcher gets one when it is the only conjunct on its
// field both in the compiled search and in the search expression, so the
// two are known to be the same.
func (d *dictPlan) pairExprs(search Expr) []Expr {
	out := make([]Expr, len(d.fields))
	exprs := map[string][]Expr{}
	for _, e := range conjuncts(search) {
		switch e := e.(type) {
		case *Compare:
			exprs[e.Field] = append(exprs[e.Field], e)
		case *In:
			exprs[e.Field] = append(exprs[e.Field], e)
		case *Matches:
			exprs[e.Field] = append(exprs[e.Field], e)
		}
	}
	for j, f := range d.fields {
		if f == nil || len(exprs[f.name]) != 1 || isMetaColumn(f.name) {
			continue
		}
		n := 0
		for _, g := range d.fields {
			if g != nil && g.name == f.name {
				n++
			}
		}
		if n == 1 {
			out[j] = exprs[f.name][0]
		}
	}
	return out
}

// keepAll makes w.keep (in w.keepBuf) keep all rows rows.
func (w *worker) keepAll(rows int) {
	w.keepBuf = slices.Grow(w.keepBuf[:0], rows)[:rows]
	for i := range w.keepBuf {
		w.keepBuf[i] = true
	}
	w.keep = w.keepBuf
}

// ipFilter decides conjunct j on the block's IPv4 column (decoded into
// buf), narrowing w.keep; it reports false when the column is not stored
// as IPv4, and hit false when no row is left.
func (w *worker) ipFilter(il store.IPv4Loader, j, rows int, buf *store.DictBuf) (decided, hit bool, err error) {
	d := &w.ex.p.dict
	f, pr := d.fields[j], d.ip[j]
	if m, ok := il.(store.IPv4EqualMarker); ok && !pr.not && len(pr.ranges) == 1 && pr.ranges[0].lo == pr.ranges[0].hi {
		// field=address (a needle): decided on the stored planes
		// without decoding the block's addresses.
		filled := w.keep == nil
		if filled {
			w.keepAll(rows)
		}
		hit, ok, err := m.MarkIPv4Equal(f.name, pr.ranges[0].lo, f.missing, w.keep, buf)
		if err != nil || ok {
			return ok, hit, err
		}
		if filled {
			w.keep = nil
		}
	}
	col, err := loadIPv4To(il, f.name, buf)
	if err != nil || col == nil {
		return false, false, err
	}
	if len(col.Addrs) != rows || (col.Absent != nil && len(col.Absent) != rows) {
		return false, false, nil // not what the block says: decide per row
	}
	if w.keep == nil {
		w.keepAll(rows)
	}
	keep := w.keep
	if col.Absent == nil {
		for i, a := range col.Addrs {
			k := keep[i] && pr.match(a)
			keep[i] = k
			hit = hit || k
		}
		return true, hit, nil
	}
	for i, a := range col.Addrs {
		var k bool
		if col.Absent[i] {
			k = keep[i] && f.missing
		} else {
			k = keep[i] && pr.match(a)
		}
		keep[i] = k
		hit = hit || k
	}
	return true, hit, nil
}

// ipAgg is one worker's state for count by / count_distinct of an IPv4
// column (dictPlan.ipAgg): the addresses and their counts over the
// worker's blocks, added to its shard as text once, at the end.
type ipAgg struct {
	table  ipTable
	text   []byte
	noDict bool // a dictionary held a value that is not an address
	// misses counts blocks in a row that stored the column neither as
	// IPv4 nor as a dictionary of addresses; after maxIPMisses the worker
	// stops trying (the usual way gives the same answer).
	misses int
	// fromDict's buffers.
	dict   []uint32
	addrs  []uint32
	absent []bool
	buf    store.DictBuf // the column as loaded (store.BufLoader)
	cand   []uint32      // count's candidate addresses
}

// aggBlock aggregates one block by number when the block stores the
// column as IPv4 and the search is decided without loading any column;
// it reports false when the block must go the usual way.
func (ia *ipAgg) aggBlock(w *worker, ref store.BlockRef) (bool, error) {
	p := w.ex.p
	d := &p.dict
	il, ok := ref.(store.IPv4Loader)
	cl, ok2 := ref.(store.ColumnLoader)
	sh, ok3 := w.shard.(*aggShardImpl)
	if !ok || !ok2 || !ok3 {
		return false, nil
	}
	rows := ref.Rows()
	// The conjuncts first: a block without candidates loads no column
	// (the result is kept for the usual way, worker.filter).
	m, _, ok, err := w.filter(cl, rows)
	if err != nil || !ok {
		return true, err
	}
	if !isTrue(m) {
		return false, nil
	}
	if ia.misses >= maxIPMisses {
		return false, nil
	}
	lo, hi := 0, rows
	if !inRange(ref, w.ex.opts.From, w.ex.opts.To) {
		b, err := cl.LoadWith([]string{}, store.LoadOptions{})
		if err != nil {
			return true, err
		}
		if len(b.Times) != rows {
			return false, nil
		}
		lo, hi = timeRange(b.Times, w.ex.opts.From, w.ex.opts.To)
	}
	if bl, ok := il.(store.BufLoader); ok && lo == 0 && hi == rows {
		// Only the candidates' addresses are decoded.
		addrs, marked, ok, err := bl.LoadIPv4Where(d.ipAgg, w.keep, &ia.buf)
		if err != nil {
			return true, err
		}
		if ok {
			ia.misses = 0
			w.ex.scanned.Add(int64(rows))
			if err := w.ex.budget.addRows(int64(rows)); err != nil {
				return true, err
			}
			w.ex.matched.Add(int64(marked))
			return true, ia.countAddrs(sh, addrs)
		}
	}
	col, err := loadIPv4To(il, d.ipAgg, &ia.buf)
	if err == nil && col == nil && !ia.noDict {
		col, err = ia.fromDict(cl, d.ipAgg, rows)
	}
	if err != nil || col == nil {
		if err == nil && ia.noDict {
			ia.misses++
		}
		return err != nil, err
	}
	ia.misses = 0
	if len(col.Addrs) != rows || (col.Absent != nil && len(col.Absent) != rows) {
		return false, nil
	}
	w.ex.scanned.Add(int64(hi - lo))
	if err := w.ex.budget.addRows(int64(hi - lo)); err != nil {
		return true, err
	}
	return true, ia.count(w, sh, col, lo, hi)
}

// maxIPMisses is how many blocks in a row without the column as
// addresses make an ipAgg stop trying: a column of host names, say.
const maxIPMisses = 16

// count adds the candidate rows (w.keep) of [lo, hi) to the table.
func (ia *ipAgg) count(w *worker, sh *aggShardImpl, col *store.IPv4Column, lo, hi int) error {
	addrs, matched := col.Addrs[lo:hi], int64(hi-lo)
	if w.keep != nil || col.Absent != nil {
		addrs, matched = ia.gather(w.keep, col, lo, hi)
	}
	w.ex.matched.Add(matched)
	return ia.countAddrs(sh, addrs)
}

// countAddrs counts addresses.
func (ia *ipAgg) countAddrs(sh *aggShardImpl, addrs []uint32) error {
	if added := ia.table.countEach(addrs); added > 0 {
		return sh.mem.add(12 * int64(added))
	}
	return nil
}

// gather returns the addresses of the candidate rows (keep; nil: all) of
// [lo, hi) that have the field, and the number of candidate rows. keep
// and col.Absent are not both nil.
func (ia *ipAgg) gather(keep []bool, col *store.IPv4Column, lo, hi int) ([]uint32, int64) {
	addrs, absent := col.Addrs[lo:hi], col.Absent
	cand := slices.Grow(ia.cand[:0], len(addrs))[:len(addrs)]
	ia.cand = cand
	j, m := 0, 0
	// Without branches on the rows' values: every address is written,
	// and the next overwrites it unless it counts. Bools are bytes of 0
	// or 1.
	switch {
	case keep != nil && absent != nil:
		k8, a8 := boolBytes(keep[lo:hi]), boolBytes(absent[lo:hi])
		k8, a8 = k8[:len(addrs)], a8[:len(addrs)]
		for i, a := range addrs {
			cand[j] = a
			k := int(k8[i])
			m += k
			j += k &^ int(a8[i])
		}
	case keep != nil:
		k8 := boolBytes(keep[lo:hi])[:len(addrs)]
		for i, a := range addrs {
			cand[j] = a
			j += int(k8[i])
		}
		m = j
	default:
		a8 := boolBytes(absent[lo:hi])[:len(addrs)]
		for i, a := range addrs {
			cand[j] = a
			j += 1 &^ int(a8[i])
		}
		m = len(addrs)
	}
	return cand[:j], int64(m)
}

// fromDict returns a coded column of dotted quads (store.ColumnLoader) as
// numbers, or nil when the block does not code it or a value is not a
// canonical dotted quad.
func (ia *ipAgg) fromDict(cl store.ColumnLoader, name string, rows int) (*store.IPv4Column, error) {
	dc, err := loadDictTo(cl, name, &ia.buf) // used up here
	if err != nil || dc == nil || (dc.Codes != nil && len(dc.Codes) != rows) {
		return nil, err
	}
	ia.dict = ia.dict[:0]
	for _, v := range dc.Dict {
		a, ok := parseIPv4(v)
		if !ok {
			// Not a column of addresses (or not only): the usual way
			// decodes the dictionary again, so stop trying.
			ia.noDict = true
			return nil, nil
		}
		ia.dict = append(ia.dict, a)
	}
	col := &store.IPv4Column{Name: name, Addrs: ia.addrs[:0]}
	switch {
	case len(dc.Dict) == 0:
		col.Addrs = slices.Grow(col.Addrs, rows)[:rows]
		col.Absent = slices.Grow(ia.absent[:0], rows)[:rows]
		clear(col.Addrs)
		for i := range col.Absent {
			col.Absent[i] = true
		}
	case dc.Codes == nil:
		for range rows {
			col.Addrs = append(col.Addrs, ia.dict[0])
		}
	default:
		for i, c := range dc.Codes {
			if c == 0 {
				if col.Absent == nil {
					col.Absent = slices.Grow(ia.absent[:0], rows)[:rows]
					clear(col.Absent)
				}
				col.Absent[i] = true
				col.Addrs = append(col.Addrs, 0)
				continue
			}
			col.Addrs = append(col.Addrs, ia.dict[c-1])
		}
	}
	ia.addrs = col.Addrs
	if col.Absent != nil {
		ia.absent = col.Absent
	}
	return col, nil
}

// flushIP merges the workers' addresses by number and adds them to the
// first shard as text. When only the top groups by count are wanted
// (dictPlan.ipTop), the groups that cannot be among them are left out:
// groups of blocks counted by text join the table first when their text
// is an address, and the others cannot merge with an address's group.
func flushIP(ips []ipAgg, shards []aggShard, d *dictPlan) error {
	s, ok := shards[0].(*aggShardImpl)
	if !ok {
		return errors.New("BUG: ipv4 aggregation without its shard")
	}
	if d.ipTop > 0 && !d.ipDistinct {
		for _, sh := range shards {
			sh, ok := sh.(*aggShardImpl)
			if !ok || len(sh.o.calls) != 1 {
				return errors.New("BUG: ipv4 top without its shard")
			}
			for k, g := range sh.strGroups {
				if a, ok := parseIPv4(k); ok {
					ips[0].table.add(a, g.st[0].n)
					delete(sh.strGroups, k)
				}
			}
			sh.last, sh.lastKey = nil, ""
		}
		if done, err := flushTop(ips, s, d.ipTop); done || err != nil {
			return err
		}
	}
	for k := 1; k < len(ips); k++ {
		ips[k].table.each(func(a uint32, n int64) { ips[0].table.add(a, n) })
		ips[k].table = ipTable{}
	}
	least := int64(0)
	if d.ipTop > 0 && !d.ipDistinct && ips[0].table.len() > d.ipTop {
		least = ips[0].table.topCount(d.ipTop)
	}
	return ips[0].flush(s, d.ipDistinct, least, len(ips) > 1)
}

// maxTopCandidates bounds the addresses flushTop sums; with more (counts
// too even for a top to stand out) the tables are merged instead.
const maxTopCandidates = 4096

// flushTop adds to sh the addresses whose summed counts over the
// workers' tables are among the k largest (topSums), and reports false,
// having added nothing, when topSums gives up.
func flushTop(ips []ipAgg, sh *aggShardImpl, k int) (bool, error) {
	tables := make([]*ipTable, len(ips))
	for i := range ips {
		tables[i] = &ips[i].table
	}
	keys, sums, ok := topSums(tables, k)
	if !ok {
		return false, nil
	}
	// One string for all: the shard keeps views of its texts.
	var text []byte
	for _, a := range keys {
		text = store.AppendIPv4(text, a)
	}
	all, start := string(text), 0
	for _, a := range keys {
		end := start + ipTextLen(a)
		if err := sh.addCountText(all[start:end], sums[a]); err != nil {
			return true, err
		}
		start = end
	}
	return true, nil
}

// topSums returns, in order, the addresses whose counts summed over
// tables are among the k largest (all of those equal to the k-th), and
// the sums, without merging the tables: the k-th largest count of any
// one table is at most the k-th largest sum, and an address whose sum
// reaches it has at least its share of it in some table, so only those
// addresses are summed. It gives up (false) when they are more than
// maxTopCandidates.
func topSums(tables []*ipTable, k int) ([]uint32, map[uint32]int64, bool) {
	// The tables are large (one per worker, a cache miss per slot): each
	// is read on its own goroutine (eachTable), in both passes.
	tops := make([]int64, len(tables))
	eachTable(tables, func(j int, t *ipTable) {
		if t.len() > k {
			tops[j] = t.topCount(k)
		}
	})
	lb := slices.Max(tops)
	share := (lb + int64(len(tables)) - 1) / int64(len(tables))
	cands := make([][]uint32, len(tables))
	eachTable(tables, func(j int, t *ipTable) {
		var c []uint32
		t.each(func(a uint32, n int64) {
			if n >= share && len(c) <= maxTopCandidates {
				c = append(c, a)
			}
		})
		cands[j] = c
	})
	sums := map[uint32]int64{}
	for _, c := range cands {
		for _, a := range c {
			if len(sums) > maxTopCandidates {
				return nil, nil, false
			}
			if _, ok := sums[a]; ok {
				continue
			}
			var sum int64
			for _, u := range tables {
				sum += u.get(a)
			}
			sums[a] = sum
		}
	}
	if len(sums) > maxTopCandidates {
		return nil, nil, false
	}
	least := int64(0)
	if len(sums) > k {
		counts := make([]int64, 0, len(sums))
		for _, n := range sums {
			counts = append(counts, n)
		}
		slices.Sort(counts)
		least = counts[len(counts)-k]
	}
	var keys []uint32
	for a, n := range sums {
		if n >= least {
			keys = append(keys, a)
		}
	}
	slices.Sort(keys)
	return keys, sums, true
}

// appendTexts appends the dotted-quad text of every address, in the
// order of each. With par, a table of many addresses is written in two
// halves, the second on its own goroutine (a cache miss per slot).
func (t *ipTable) appendTexts(dst []byte, par bool) []byte {
	if !par || t.len() < 2*minParallelTable {
		t.each(func(a uint32, _ int64) { dst = store.AppendIPv4(dst, a) })
		return dst
	}
	if t.zero {
		dst = store.AppendIPv4(dst, 0)
	}
	slotTexts := func(dst []byte, slots []uint64) []byte {
		for _, s := range slots {
			if s != 0 {
				dst = store.AppendIPv4(dst, uint32(s>>32))
			}
		}
		return dst
	}
	mid := len(t.slots) / 2
	var second []byte
	var wg sync.WaitGroup
	wg.Go(func() { second = slotTexts(make([]byte, 0, 8*t.n), t.slots[mid:]) })
	dst = slotTexts(dst, t.slots[:mid])
	wg.Wait()
	return append(dst, second...)
}

// minParallelTable is the least number of addresses for which eachTable
// reads tables on goroutines of their own.
const minParallelTable = 4096

// eachTable calls fn on every table, on a goroutine per table when there
// are several large ones (fn must only write its own j's results).
func eachTable(tables []*ipTable, fn func(j int, t *ipTable)) {
	big := 0
	for _, t := range tables {
		if t.len() >= minParallelTable {
			big++
		}
	}
	if big < 2 {
		for j, t := range tables {
			fn(j, t)
		}
		return
	}
	var wg sync.WaitGroup
	for j, t := range tables[1:] {
		wg.Go(func() { fn(j+1, t) })
	}
	fn(0, tables[0])
	wg.Wait()
}

// flush adds the addresses counted by number to the shard, as text: to
// the distinct set of count_distinct, or to the groups of count by.
// With par, a large table's texts are written on two goroutines.
func (ia *ipAgg) flush(sh *aggShardImpl, distinct bool, least int64, par bool) error {
	if ia.table.len() == 0 {
		return nil
	}
	var errs []error
	if !distinct {
		// One string for all: the shard keeps views of its texts. Counts
		// below least are left out.
		ia.text = ia.text[:0]
		ia.table.each(func(a uint32, n int64) {
			if n >= least {
				ia.text = store.AppendIPv4(ia.text, a)
			}
		})
		all, start := string(ia.text), 0
		ia.table.each(func(a uint32, n int64) {
			if n < least {
				return
			}
			end := start + ipTextLen(a)
			if err := sh.addCountText(all[start:end], n); err != nil && len(errs) == 0 {
				errs = append(errs, err)
			}
			start = end
		})
		return errors.Join(errs...)
	}
	// A set sized once, and one string for all its new keys.
	st := &sh.one.st[0]
	set := make(map[string]struct{}, len(st.set)+ia.table.len())
	for v := range st.set {
		set[v] = struct{}{}
	}
	st.set = set
	ia.text = ia.table.appendTexts(ia.text[:0], par)
	all, start := string(ia.text), 0
	ia.table.each(func(a uint32, _ int64) {
		end := start + ipTextLen(a)
		n := len(set)
		set[all[start:end]] = struct{}{}
		if len(set) > n {
			if err := sh.mem.add(int64(end - start + 48)); err != nil && len(errs) == 0 {
				errs = append(errs, err)
			}
		}
		start = end
	})
	return errors.Join(errs...)
}

// ipTextLen returns the length of a's dotted-quad text.
func ipTextLen(a uint32) int {
	n := 3
	for sh := 0; sh < 32; sh += 8 {
		switch o := a >> sh & 0xff; {
		case o >= 100:
			n += 3
		case o >= 10:
			n += 2
		default:
			n++
		}
	}
	return n
}

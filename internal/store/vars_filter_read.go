package store

// Reading the variables of a framed vars body group by group (the
// filters are in vars_filter.go): a needle's search decodes only the
// groups whose filter may hold its longest run, and the rows it then
// reads take their variables from their own groups.

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/mamori/mamori/internal/token"
)

// varGroups reads a skeleton block's framed variables by groups into
// sb.voff and sb.vb (sb.loaded stays false until a whole load).
type varGroups struct {
	ft     frameTable
	f      varsFilter
	filter bool // the body has a filter item
	groups int  // groups of variables (the filter's not counted)
	nv     int
	bytes0 int    // where the bytes section starts in body
	body   []byte // the body's length: the groups in done are decoded
	done   []bool
	loaded int // groups of variables loaded
}

var varGroupsPool = sync.Pool{New: func() any { return new(varGroups) }}

// openVarGroups returns sb's variables for group-wise reads: nil (and no
// error) when they are not framed.
func openVarGroups(sb *skelBlock) (*varGroups, error) {
	if err := sb.count(); err != nil {
		return nil, err
	}
	vars := sb.vars
	if len(vars) < 2 || vars[1] != codecFramed {
		return nil, nil
	}
	if vars[0] != kindSkeleton {
		return nil, fmt.Errorf("%w: variables of kind %d", errSkeleton, vars[0])
	}
	n, k := binary.Uvarint(vars[2:])
	if k <= 0 || n > maxChunkBytes {
		return nil, fmt.Errorf("skeleton variables: bad body length")
	}
	vg := varGroupsPool.Get().(*varGroups)
	if err := vg.open(sb, vars[2+k:], n); err != nil {
		vg.release()
		return nil, err
	}
	return vg, nil
}

func (vg *varGroups) open(sb *skelBlock, data []byte, n uint64) error {
	ft := &vg.ft
	if err := ft.parse(data, n); err != nil {
		return fmt.Errorf("skeleton variables: %w", err)
	}
	vg.nv = int(sb.vstart[len(sb.vstart)-1])
	initCodecs()
	// parse bounded n by the frames' sizes.
	vg.body = growTo(vg.body, int(n))
	g, err := varsFilterGroups(ft, vg.nv)
	if err != nil {
		return err
	}
	vg.groups, vg.filter = g, g < len(ft.itemEnds)
	all := len(ft.itemEnds)
	vg.done = growTo(vg.done, all)
	clear(vg.done)
	vg.loaded = 0
	vg.bytes0 = ft.start(all)
	end := int(n)
	if vg.filter {
		fb, err := vg.filterItem()
		if err != nil {
			return err
		}
		if err := vg.f.parse(fb, g); err != nil {
			return err
		}
		end = ft.start(2*all - 1)
	}
	sb.voff = growTo(sb.voff, vg.nv+1)
	sb.vb = bytesToString(vg.body[vg.bytes0:end])
	return nil
}

// varsFilterGroups returns the groups of variables of a vars body of nv
// variables with table ft: all of them, or all but the last when that
// one holds the filter item alone.
func varsFilterGroups(ft *frameTable, nv int) (int, error) {
	g := len(ft.itemEnds)
	switch items := ft.itemEnds[g-1]; {
	case items == nv:
		return g, nil
	case items == nv+1 && g >= 2 && ft.itemEnds[g-2] == nv:
		return g - 1, nil
	default:
		return 0, fmt.Errorf("%w: %d items for %d variables", errVarsFilter, items, nv)
	}
}

// filterItem decodes the filter group's two frames and returns the
// filter item.
func (vg *varGroups) filterItem() (string, error) {
	ft, all := &vg.ft, len(vg.ft.itemEnds)
	if err := vg.decode(all - 1); err != nil {
		return "", err
	}
	lens := vg.body[ft.start(all-1):ft.ends[all-1]]
	l, w := binary.Uvarint(lens)
	fb := vg.body[ft.start(2*all-1):ft.ends[2*all-1]]
	if w != len(lens) || l != uint64(len(fb)) {
		return "", fmt.Errorf("%w: item of %d bytes in a frame of %d, length in %d bytes", errVarsFilter, l, len(fb), len(lens))
	}
	return bytesToString(fb), nil
}

// decode decodes group g's two frames.
func (vg *varGroups) decode(g int) error {
	all := len(vg.ft.itemEnds)
	if err := vg.ft.decodeInto(g, vg.body); err != nil {
		return fmt.Errorf("skeleton variables: %w", err)
	}
	if err := vg.ft.decodeInto(all+g, vg.body); err != nil {
		return fmt.Errorf("skeleton variables: %w", err)
	}
	vg.done[g] = true
	return nil
}

// load decodes group g of the variables and sets their offsets in
// sb.voff (and the offset past its last).
func (vg *varGroups) load(sb *skelBlock, g int) error {
	if vg.done[g] {
		return nil
	}
	if err := vg.decode(g); err != nil {
		return err
	}
	ft, all := &vg.ft, len(vg.ft.itemEnds)
	first := 0
	if g > 0 {
		first = ft.itemEnds[g-1]
	}
	last := ft.itemEnds[g]
	body, pos, lend := vg.body, ft.start(g), ft.ends[g]
	at, bend := ft.start(all+g)-vg.bytes0, ft.ends[all+g]-vg.bytes0
	voff := sb.voff[:vg.nv+1]
	for j := first; j < last; j++ {
		if pos >= lend {
			return fmt.Errorf("%w: group %d: lengths of %d variables in %d bytes", errSkeleton, g, last-first, lend-ft.start(g))
		}
		l := uint64(body[pos])
		if l < 0x80 {
			pos++
		} else {
			var w int
			if l, w = binary.Uvarint(body[pos:lend]); w <= 0 {
				return fmt.Errorf("%w: group %d: length of variable %d", errSkeleton, g, j)
			}
			pos += w
		}
		if l == 0 || l > uint64(bend-at) {
			return fmt.Errorf("%w: group %d: variable %d of %d bytes, %d left", errSkeleton, g, j, l, bend-at)
		}
		voff[j] = int32(at)
		at += int(l)
	}
	if pos != lend || at != bend {
		return fmt.Errorf("%w: group %d: %d variables end at %d of %d length bytes, %d of %d bytes", errSkeleton, g, last-first, pos-ft.start(g), lend-ft.start(g), at, bend)
	}
	voff[last] = int32(at)
	vg.loaded++
	if vg.loaded == vg.groups {
		// Every group read and checked: the variables are whole.
		sb.loaded = true
	}
	return nil
}

// ensure loads the groups of variables lo..hi-1.
func (vg *varGroups) ensure(sb *skelBlock, lo, hi int) error {
	if hi <= lo {
		return nil
	}
	ie := vg.ft.itemEnds[:vg.groups]
	g := sort.SearchInts(ie, lo+1)
	for ; g < vg.groups; g++ {
		if err := vg.load(sb, g); err != nil {
			return err
		}
		if ie[g] >= hi {
			return nil
		}
	}
	return fmt.Errorf("%w: variables %d to %d of %d", errSkeleton, lo, hi, vg.nv)
}

// rowsWith calls fn once for each row (ascending) with a variable equal
// to v under ASCII case folding, decoding only the groups whose filter
// may hold v. False (nothing called) when the filters cannot decide v.
func (vg *varGroups) rowsWith(sb *skelBlock, v string, fn func(row int)) (bool, error) {
	if !vg.filter {
		return false, nil
	}
	var h uint64
	if len(v) >= vg.f.minLen {
		h = varHash(v)
	}
	last := -1
	for g := range vg.groups {
		if !vg.f.mayHold(g, v, h) {
			continue
		}
		if err := vg.load(sb, g); err != nil {
			return true, err
		}
		first := 0
		if g > 0 {
			first = vg.ft.itemEnds[g-1]
		}
		last = scanVars(sb, first, vg.ft.itemEnds[g], v, last, fn)
	}
	return true, nil
}

// scanVars calls fn for each row with a variable among lo..hi-1 equal to
// v (ASCII case-folded) other than row last (the last row called), and
// returns the last row called.
func scanVars(sb *skelBlock, lo, hi int, v string, last int, fn func(row int)) int {
	n := int32(len(v))
	voff, vstart, vb := sb.voff, sb.vstart, sb.vb
	for j := lo; j < hi; j++ {
		if voff[j+1]-voff[j] != n || !token.EqualFold(vb[voff[j]:voff[j+1]], v) {
			continue
		}
		// The row of variable j: vstart[r] <= j < vstart[r+1] (the
		// first index past j, less one).
		r, _ := slices.BinarySearch(vstart, int32(j)+1)
		r--
		if r != last {
			fn(r)
			last = r
		}
	}
	return last
}

func (vg *varGroups) release() {
	vg.ft.frames = nil
	vg.f.words = ""
	varGroupsPool.Put(vg)
}

// varsFilterItem checks the filter item of a whole vars body (loadVars):
// body's nv lengths end at base and their variables take off bytes, and
// more follows. It returns the length in bytes of the filter item's
// length (the variables' bytes start past it).
func varsFilterItem(vars []byte, body string, base, off, nv int) (int, error) {
	l, w := binary.Uvarint(stringBytes(body[base:]))
	if w <= 0 || l > uint64(len(body)) || uint64(len(body)-base-w-off) != l {
		return 0, fmt.Errorf("%w: variables hold %d bytes, %d left", errSkeleton, off, len(body)-base)
	}
	if len(vars) < 2 || vars[1] != codecFramed {
		return 0, fmt.Errorf("%w: a filter in variables of codec %d", errVarsFilter, vars[1])
	}
	n, k := binary.Uvarint(vars[2:])
	var ft frameTable
	if k <= 0 || n != uint64(len(body)) {
		return 0, fmt.Errorf("%w: body length", errVarsFilter)
	}
	if err := ft.parse(vars[2+k:], n); err != nil {
		return 0, err
	}
	g, err := varsFilterGroups(&ft, nv)
	if err != nil {
		return 0, err
	}
	if g == len(ft.itemEnds) {
		return 0, fmt.Errorf("%w: variables hold %d bytes, %d left", errSkeleton, off, len(body)-base)
	}
	var f varsFilter
	if err := f.parse(body[len(body)-int(l):], g); err != nil {
		return 0, err
	}
	return w, nil
}

// checkVarsFilter checks the filter of the variables of column chunk ch
// of a block of rows rows (verify): nil unless ch is a kindSkeleton chunk
// whose variables carry a filter that is malformed or misses a variable
// (a search would then skip its row), else an error naming the group.
func checkVarsFilter(ch []byte, rows int, pool *partPool) error {
	if len(ch) < 2 || ch[0] != kindSkeleton || ch[1] != codecNone {
		return nil
	}
	sb, err := decodeSkeletonHead(ch, rows, pool)
	if err != nil {
		return err
	}
	defer sb.release()
	vg, err := openVarGroups(sb)
	if err != nil || vg == nil {
		return err
	}
	defer vg.release()
	if !vg.filter {
		return nil
	}
	f := &vg.f
	for g := range vg.groups {
		if err := vg.load(sb, g); err != nil {
			return err
		}
		first := 0
		if g > 0 {
			first = vg.ft.itemEnds[g-1]
		}
		longest := 0
		for j := first; j < vg.ft.itemEnds[g]; j++ {
			v := sb.vb[sb.voff[j]:sb.voff[j+1]]
			longest = max(longest, len(v))
			var h uint64
			if len(v) >= f.minLen {
				h = varHash(v)
			}
			if !f.mayHold(g, v, h) {
				return fmt.Errorf("%w: group %d lacks variable %d (%d bytes)", errVarsFilter, g, j, len(v))
			}
		}
		if longest != f.maxLens[g] {
			return fmt.Errorf("%w: group %d: longest variable %d bytes, filter says %d", errVarsFilter, g, longest, f.maxLens[g])
		}
	}
	return checkRefs(f, sb.skels)
}

// checkRefs checks the refs summary of filter f, if any, against the
// block's skeletons (verify): it may say more than they do, never less,
// and lists only skeletons of the block.
func checkRefs(f *varsFilter, skels []string) error {
	if !f.hasRefs {
		return nil
	}
	if d := f.refs.dirty; len(d) > 0 && int(d[len(d)-1]) >= len(skels) {
		return fmt.Errorf("%w: refs summary: dirty skeleton %d of %d", errVarsFilter, d[len(d)-1], len(skels))
	}
	var rr rawRefs
	rr.summarize(skels)
	if !f.refs.covers(&rr) {
		return fmt.Errorf("%w: refs summary lacks what the skeletons hold", errVarsFilter)
	}
	return nil
}

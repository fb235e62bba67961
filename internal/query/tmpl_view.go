package query

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"unsafe"

	"github.com/mamori/mamori/internal/store"
)

// tmplView is the part of a blockView that reads _raw as templates
// (store.LoadOptions.RawTemplates): the matchers decide what they can on
// the templates and expand only the rows they must.
type tmplView struct {
	tmpl *store.RawTemplates // nil: _raw is a column (or absent)
	// covered marks, by block column, the columns whose values the term
	// matcher reads anyway (loaded field columns, and field columns left
	// out because they cannot contain any term), so a term inside such a
	// value needs no look at _raw.
	covered []bool
	pieces  []string
	refs    []int
	buf     []byte // pieces that needed copying
	raw     []byte // an expanded row
	// merge's buffers: the pieces with values written in.
	mbuf    []byte
	ends    []int
	pieces2 []string
	refs2   []int
	err     error   // the first error of the block (matchers return bools)
	budget  *budget // the query's: the literal memo's records are charged to it
	hits    []streamHit
	litTF   *tmplFinder // litMay is for its literal
	litMay  []int8      // by block column: 0 unknown, 1 may hold it, -1 cannot
	// Blocks with skeletons (tmpl_skel.go): answers by finder and
	// skeleton.
	skels    []skelAnswers
	lastSkel *skelAnswers
	skelOff  []int32 // by skeleton and one more: where its rows start in skelRows
	skelRows []int32
	full     store.Column // _raw expanded by expandAll
	jb       []byte       // joinBytes's buffer
	verdict  []uint8      // selectBySkeletons's, by skeleton
	// With noRows, skelValues answers true without reading the rows and
	// sets deferred (skelPrepass).
	noRows, deferred bool
	// While the prepass records a decision (tmpl_skel_memo.go): the
	// facts it asks.
	recOn, recBad bool
	recTF         *tmplFinder
	recMemo       *skelPoolMemo
	recMask       factMask
	digit         digitState // terms with digits on skeletons (tmpl_digit.go)
	cover         coverBytes // the block's coverage keys (cover_lacks.go)
	// Regexp windows (tmpl_regex.go): plans by skeleton, the literal's
	// offsets in the skeletons, the pieces before an offset.
	winPlan  []skelWindow
	winWalk  *walkScratch // the walks' buffers (tmpl_regex_walk.go)
	winOcc   []int32
	winHB    []int32 // by winOcc: for a hole, how far before it an occurrence may start
	winBack  []string
	winHoles []int32
	winIP    []byte // addresses formatted for a window
	// IPv4 columns read as numbers for windows, by block column: state
	// 0 not asked, 1 in winIPCols, -1 not stored so.
	winIPCols  []*store.IPv4Column
	winIPState []int8
	// Dictionary columns read row by row from their codes (colValue),
	// by block column.
	sparse []sparseCol
	vmemo  []uint32 // skelValues's answers by code: vgen<<1 | yes
	vgen   uint32
	// skelRowsOf's rows of one skeleton, and how many times the block
	// has listed them so.
	oneRows  []int32
	oneCalls int
	// The prepass's skeletons to compare starts with, and skelScan's
	// leading holes known to answer no (phrase_holes.go).
	prefixRefs        []prefixRef
	skipNoTo, noUntil int
	skipHoles         []int32 // the earlier skeleton's holes (skelScan)
	scanHoles         []int32 // the holes skelScan looked at
	// Skeletons whose rows the prepass deferred to (by skeleton), how
	// many, and their rows once listed (skelRowsOf).
	want       []bool
	wantN      int
	wantListed bool
	wantList   []int32
	wantRows   []int32 // the rows of skeleton wantLast, from wantList
	wantLast   int
}

// sparseCol reads the values of a dictionary column from its stored
// codes (store.RawTemplates.DictCodes) without decoding the column into
// strings: the skeleton decisions of a search often need the values of a
// handful of rows of one skeleton (`for invalid {user} user from`), and
// a window the values of one skeleton's rows.
//
// The codes are first kept as stored (state 2, raw): the skeleton
// decisions read those of one skeleton's rows (seek) without decoding
// the rest; anything that reads them by row decodes them all (state 1).
type sparseCol struct {
	state int8 // 0 not asked yet, 1 read from codes, 2 codes kept in raw, -1 through Value
	// absent: some row lacks the field (code 0); in state 2, some row
	// may (a zero byte).
	absent bool
	dict   []string
	codes  []uint32 // by row (state 1): 0 absent, c dict[c-1]
	raw    string   // state 2: the stored codes, one uvarint a row
	// seek's place in raw: the codes that end before off.
	off, ended int
}

// sparseOf returns block column k read from its codes, decoded by row,
// or nil when it is read through Value.
func (bv *blockView) sparseOf(k int) *sparseCol {
	sc := bv.sparseCodes(k)
	if sc != nil && sc.state == 2 {
		sc.full(bv.tv.tmpl.Rows())
	}
	if sc == nil || sc.state != 1 {
		return nil
	}
	return sc
}

// sparseCodes returns block column k read from its codes, decoded (state
// 1) or kept as stored (state 2), or nil when it is read through Value.
func (bv *blockView) sparseCodes(k int) *sparseCol {
	if _, _, err := bv.colValue(k, -1); err != nil {
		return nil
	}
	tv := &bv.tv
	if k < 0 || k >= len(tv.sparse) || tv.sparse[k].state <= 0 {
		return nil
	}
	return &tv.sparse[k]
}

// full decodes the raw codes of rows rows (state 2 to 1, or -1 when
// they are not that).
func (sc *sparseCol) full(rows int) {
	sc.state = -1
	if sc.decode(sc.raw, rows) {
		sc.state = 1
	}
	sc.raw = ""
}

const (
	lowBytes  = 0x0101010101010101
	highBytes = 0x8080808080808080
)

// check reports whether b holds rows uvarints (as many bytes below 0x80
// as rows, the last one such), eight bytes at a time, and notes whether
// a code may be 0 (a zero byte): b is then kept as the codes (state 2),
// each read when asked (seek, which checks its value).
func (sc *sparseCol) check(b string, rows int) bool {
	n, zero, off := 0, false, 0
	for ; off+8 <= len(b); off += 8 {
		x := binary.LittleEndian.Uint64([]byte(b[off : off+8]))
		n += bits.OnesCount64(^x & highBytes)
		zero = zero || (x-lowBytes)&^x&highBytes != 0
	}
	for ; off < len(b); off++ {
		if b[off] < 0x80 {
			n++
		}
		zero = zero || b[off] == 0
	}
	if n != rows || len(b) > 0 && b[len(b)-1] >= 0x80 {
		return false
	}
	sc.absent = zero
	return true
}

// codesAt appends to dst the codes of rows (ascending) from the raw
// codes (seek; tests); false when a code read is no code of the dictionary, or
// the rows do not ascend (decode then tells, or Value).
func (sc *sparseCol) codesAt(rows []int32, dst []uint32) ([]uint32, bool) {
	sc.off, sc.ended = 0, 0
	for _, r := range rows {
		if int(r) < sc.ended {
			return dst, false
		}
		c, ok := sc.seek(int(r))
		if !ok {
			return dst, false
		}
		dst = append(dst, c)
	}
	return dst, true
}

// seek returns the code of row r from the raw codes, read on from the
// last one read when r lies after it (else from the start): whole words
// of codes before r are skipped by counting their last bytes. False when
// the code is no code of the dictionary (decode then tells, or Value).
func (sc *sparseCol) seek(r int) (uint32, bool) {
	b := sc.raw
	off, ended := sc.off, sc.ended // ended: codes that end before off
	if r < ended {
		off, ended = 0, 0
	}
	for off+8 <= len(b) {
		n := bits.OnesCount64(^binary.LittleEndian.Uint64([]byte(b[off:off+8])) & highBytes)
		if ended+n >= r {
			break
		}
		ended += n
		off += 8
	}
	for ended < r {
		if off >= len(b) {
			return 0, false
		}
		if b[off] < 0x80 {
			ended++
		}
		off++
	}
	var c uint64
	switch {
	case off < len(b) && b[off] < 0x80:
		c = uint64(b[off])
		off++
	case off+1 < len(b) && b[off+1] < 0x80:
		c = uint64(b[off]&0x7f) | uint64(b[off+1])<<7
		off += 2
	default:
		var ok bool
		if c, off, ok = uvarintAt(b, off); !ok {
			return 0, false
		}
	}
	if c > uint64(len(sc.dict)) {
		return 0, false
	}
	sc.off, sc.ended = off, r+1
	return uint32(c), true
}

// colValue is store.RawTemplates.Value for the skeleton decisions and
// windows: a dictionary column not decoded yet is read from its codes.
func (bv *blockView) colValue(k, i int) (string, bool, error) {
	tv := &bv.tv
	n := tv.tmpl.Columns()
	if len(tv.sparse) != n {
		tv.sparse = slices.Grow(tv.sparse[:0], n)[:n]
		for j := range tv.sparse {
			tv.sparse[j].state = 0
		}
	}
	if k < 0 || k >= n {
		return tv.tmpl.Value(k, i)
	}
	sc := &tv.sparse[k]
	if sc.state == 0 {
		sc.state = -1
		dict, codes, ok, err := tv.tmpl.DictCodes(k, sc.dict[:0])
		sc.dict = dict
		if err != nil {
			return "", false, err
		}
		switch {
		case !ok:
		case sc.check(codes, tv.tmpl.Rows()):
			sc.state, sc.raw, sc.off, sc.ended = 2, codes, 0, 0
		case sc.decode(codes, tv.tmpl.Rows()):
			sc.state = 1
		}
	}
	if i < 0 || i >= tv.tmpl.Rows() {
		if i == -1 {
			return "", false, nil // sparseOf: only set up
		}
		return tv.tmpl.Value(k, i)
	}
	if sc.state == 2 {
		// Rows asked one by one (a skeleton's rows in order): read on.
		c, ok := sc.seek(i)
		if ok {
			if c > 0 {
				return sc.dict[c-1], true, nil
			}
			return "", false, nil
		}
		sc.full(tv.tmpl.Rows())
	}
	if sc.state > 0 {
		if c := sc.codes[i]; c > 0 {
			return sc.dict[c-1], true, nil
		}
		return "", false, nil
	}
	return tv.tmpl.Value(k, i)
}

// decode reads the codes of rows rows; false when they are not that
// (Value then reports why). Codes of one and two bytes (dictionaries of
// up to 16,383 values) are read inline, longer ones by uvarintAt.
func (sc *sparseCol) decode(b string, rows int) bool {
	codes := slices.Grow(sc.codes[:0], rows)[:rows]
	sc.codes = codes
	nd := uint64(len(sc.dict))
	off := 0
	absent := false
	for r := range codes {
		var c uint64
		switch {
		case off < len(b) && b[off] < 0x80:
			c = uint64(b[off])
			off++
		case off+1 < len(b) && b[off+1] < 0x80:
			c = uint64(b[off]&0x7f) | uint64(b[off+1])<<7
			off += 2
		default:
			var ok bool
			if c, off, ok = uvarintAt(b, off); !ok {
				return false
			}
		}
		if c > nd {
			return false
		}
		if c == 0 {
			absent = true
		}
		codes[r] = uint32(c)
	}
	sc.absent = absent
	return off == len(b)
}

// uvarintAt reads the uvarint at b[off:] as binary.Uvarint does: the
// value and the offset after it; false when it runs past b or overflows
// 64 bits.
func uvarintAt(b string, off int) (uint64, int, bool) {
	var c uint64
	for sh := 0; ; sh += 7 {
		if off >= len(b) || sh > 63 {
			return 0, off, false
		}
		x := b[off]
		off++
		if x < 0x80 {
			if sh == 63 && x > 1 {
				return 0, off, false
			}
			return c | uint64(x)<<sh, off, true
		}
		c |= uint64(x&0x7f) << sh
	}
}

// setTemplates makes the view read _raw from t; pruned lists the field
// columns the load left out because they cannot contain any of the
// search's terms.
func (bv *blockView) setTemplates(t *store.RawTemplates, pruned []string) {
	tv := &bv.tv
	tv.tmpl, tv.err, tv.hits, tv.litTF = t, nil, tv.hits[:0], nil
	tv.full = store.Column{}
	tv.cover.reset()
	tv.sparse = tv.sparse[:0]
	tv.resetSkeletons()
	if t == nil {
		return
	}
	n := t.Columns()
	tv.covered = slices.Grow(tv.covered[:0], n)[:n]
	for k := range n {
		name := t.Name(k)
		tv.covered[k] = !isMetaColumn(name) && (slices.Contains(pruned, name) || bv.hasField(name))
	}
}

func (bv *blockView) hasField(name string) bool {
	for _, c := range bv.fields {
		if c.Name == name {
			return true
		}
	}
	return false
}

// split splits row i's template into tv.pieces and tv.refs; false after
// an error (kept in tv.err).
func (bv *blockView) split(i int) bool {
	tv := &bv.tv
	var err error
	tv.pieces, tv.refs, tv.buf, err = tv.tmpl.Split(i, tv.pieces[:0], tv.refs[:0], tv.buf)
	if err != nil {
		tv.fail(err)
		return false
	}
	return true
}

func (tv *tmplView) fail(err error) {
	if tv.err == nil {
		tv.err = err
	}
}

// rawValue returns the expanded raw text of row i (a copy).
func (bv *blockView) rawValue(i int) (string, bool) {
	s, ok := bv.rawView(i)
	return strings.Clone(s), ok
}

// rawView returns the expanded raw text of row i as a view of tv.raw,
// valid until the next expansion (for predicates that keep nothing).
func (bv *blockView) rawView(i int) (string, bool) {
	tv := &bv.tv
	if !tv.tmpl.Has(i) {
		return "", false
	}
	var err error
	if tv.raw, err = tv.tmpl.AppendRaw(tv.raw[:0], i); err != nil {
		tv.fail(err)
		return "", false
	}
	return unsafe.String(unsafe.SliceData(tv.raw), len(tv.raw)), true // #nosec G103 -- zero-copy view of tv.raw, valid until the next expansion (documented above)
}

// termInTemplate reports whether term t matches row i's raw text,
// leaving out matches inside one value of a covered column (the caller
// finds those in the field columns).
func (bv *blockView) termInTemplate(t *termMatcher, i int) bool {
	tv := &bv.tv
	if !tv.tmpl.Has(i) || bv.raw != nil {
		return false // with bv.raw (expandAll), the caller matched it
	}
	if t.tf == nil {
		// Slow path: a wildcard term; match the expanded text.
		s, ok := bv.rawValue(i)
		return ok && t.matchString(s)
	}
	if tv.tmpl.Skeletons() > 0 {
		switch bv.skelAnswer(t.tf, i) {
		case tmplYes:
			return true
		case tmplNo:
			return false
		}
	}
	switch bv.quick(t.tf, i) {
	case tmplYes:
		return true
	case tmplNo:
		return false
	}
	if !bv.split(i) {
		return false
	}
	for {
		ans, unsure := t.tf.decide(tv.pieces)
		if ans == tmplYes {
			return true
		}
		// Values next to unsure pieces, and those of columns the term
		// matcher does not read, are written into the pieces and the
		// row decided again, until nothing is unsure.
		need := unsure | unsure>>1
		for j, k := range tv.refs {
			if k >= len(tv.covered) || !tv.covered[k] {
				need |= 1 << min(j, 63)
			}
		}
		if need == 0 || len(tv.refs) == 0 {
			return false
		}
		if !bv.merge(i, need) {
			return false
		}
	}
}

// merge writes the values of the references marked in need (bit j for
// reference j; 63 on share bit 63) into the pieces of row i.
func (bv *blockView) merge(i int, need uint64) bool {
	tv := &bv.tv
	buf, ends, refs := tv.mbuf[:0], tv.ends[:0], tv.refs2[:0]
	for j, p := range tv.pieces {
		buf = append(buf, p...)
		if j == len(tv.refs) {
			break
		}
		k := tv.refs[j]
		if need&(1<<min(j, 63)) == 0 {
			ends, refs = append(ends, len(buf)), append(refs, k)
			continue
		}
		v, ok, err := bv.colValue(k, i)
		if err == nil && !ok {
			err = fmt.Errorf("_raw template of row %d refers to column %s, which the row lacks", i, tv.tmpl.Name(k))
		}
		if err != nil {
			tv.fail(err)
			return false
		}
		buf = append(buf, v...)
	}
	all, start := string(buf), 0
	pieces := tv.pieces2[:0]
	for _, e := range ends {
		pieces = append(pieces, all[start:e])
		start = e
	}
	pieces = append(pieces, all[start:])
	tv.mbuf, tv.ends = buf, ends
	tv.pieces, tv.pieces2 = pieces, tv.pieces
	tv.refs, tv.refs2 = refs, tv.refs
	return true
}

// rawMayContain reports whether row i's raw text may contain lit (case-
// sensitive); false is certain. Only rows that may are expanded.
func (bv *blockView) rawMayContain(tf *tmplFinder, i int) bool {
	tv := &bv.tv
	if bv.raw != nil {
		return true // expanded (expandAll)
	}
	if tv.tmpl.Skeletons() == 0 {
		bv.expandAll()
		return true
	}
	// Once per skeleton from its text; the caller's substring search on
	// the expanded text decides the rows that may.
	return bv.skelMayContain(tf, i)
}

// hasTemplateTerm reports whether m has a term decided on templates, or
// a regexp on _raw with a required literal (decided per skeleton; blocks
// without skeletons expand _raw for it, see rawMayContain). Other field
// predicates on _raw load it expanded.
func hasTemplateTerm(m matcher) bool {
	switch m := m.(type) {
	case *termMatcher:
		return m.tf != nil
	case *fieldMatcher:
		return m.lit != nil && m.slot == slotRaw
	case andMatcher:
		return slices.ContainsFunc(m, hasTemplateTerm)
	case orMatcher:
		return slices.ContainsFunc(m, hasTemplateTerm)
	case notMatcher:
		return hasTemplateTerm(m.m)
	}
	return false
}

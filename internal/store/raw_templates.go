package store

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mamori/mamori/internal/event"
)

// RawTemplates is the _raw column of a part block as stored, for searches
// that decide most rows without expanding the raw text
// (LoadOptions.RawTemplates). Each row's template is its raw text with
// field values replaced by references to the block's columns
// (docs/format/store.md): Split gives a row's known text (the literal
// text, with the stream's host and source written in) and the columns its
// references point to, Value a referenced value, AppendRaw and Column the
// expanded text.
//
// A RawTemplates decodes the columns the references need on first use,
// reusing what the load that made it decoded. It is not safe for
// concurrent use (one query worker owns it). Release gives its buffers
// back; without Release they are left to the garbage collector.
type RawTemplates struct {
	host, source string
	rows         int
	texts        []string // per row; "" where absent (or not built yet; nil: none built)
	absent       []bool   // nil: every row present
	l            *blockLoader
	mays         []mayEntry // MayContain's answers
	err          error      // the first error building a template
	// With skeletons (kindSkeleton), texts are built on first use.
	sb    *skelBlock
	col   int // the block column of sb
	built []bool
	tbuf  []byte // built templates; grows in new arrays, never moves a text
	// The variables read by groups (vars_filter_read.go), once a needle
	// used the filters: then rows read their variables from their groups.
	vg *varGroups
}

type mayEntry struct {
	k    int
	text string
	may  bool
}

// rawTemplates returns the _raw column of the loader's block as
// templates, or nil when the block stores it otherwise (or lacks it).
// The RawTemplates takes over the loader: the caller must not release it.
func (l *blockLoader) rawTemplates() (*RawTemplates, error) {
	k := -1
	for j, c := range l.bm.cols {
		if l.p.names[c.name] == event.FieldRaw && c.size > 0 && isTemplateKind(l.p.data[c.off]) {
			k = j
		}
	}
	if k < 0 {
		return nil, nil
	}
	// Through the block's bodies: a search that looked at the chunk's
	// summary first (TermsOnlyInValues) checked its CRC already.
	ch, err := l.bb.chunk(l.p, l.i, l.bm.cols[k])
	if err != nil {
		return nil, err
	}
	sk := l.p.streams[l.bm.stream]
	if ch[0] == kindSkeleton {
		sb, err := decodeSkeletonHead(ch, int(l.bm.rows), l.p.pool)
		if err != nil {
			return nil, fmt.Errorf("part %s block %d column %s: %w", l.p.path, l.i, event.FieldRaw, err)
		}
		t := &RawTemplates{host: sk.host, source: sk.source, rows: len(sb.ids), l: l, sb: sb, col: k}
		for i, id := range sb.ids {
			if id == 0 {
				t.absent = setAbsent(t.absent, len(sb.ids), i)
			}
		}
		return t, nil
	}
	sc := l.newScratch()
	vals, absent, err := decodeColumnTo(ch, int(l.bm.rows), sc, true)
	if err != nil {
		return nil, fmt.Errorf("part %s block %d column %s: %w", l.p.path, l.i, event.FieldRaw, err)
	}
	return &RawTemplates{host: sk.host, source: sk.source, rows: len(vals), texts: vals, absent: absent, l: l}, nil
}

// Rows returns the number of rows.
func (t *RawTemplates) Rows() int { return t.rows }

// Has reports whether row has a raw text.
func (t *RawTemplates) Has(row int) bool { return t.absent == nil || !t.absent[row] }

// Columns returns the number of columns of the block: references are
// below it.
func (t *RawTemplates) Columns() int { return len(t.l.bm.cols) }

// Name returns the name of block column k (a reference from Split).
func (t *RawTemplates) Name(k int) string { return t.l.p.names[t.l.bm.cols[k].name] }

// Template returns the stored template of row ("" where absent): the raw
// text in which byte TemplateEscape starts a two-byte reference (see
// docs/format/store.md): TemplateEscape again is a literal TemplateEscape,
// TemplateHost and TemplateSource the stream's host and source, and
// TemplateColumn0+k the value of block column k in the same row. Split
// decodes it. A template of a block with skeletons is built on the first
// call for its row; an error doing so (bad variables) is kept for Err and
// gives "".
func (t *RawTemplates) Template(row int) string {
	if t.sb == nil || (t.built != nil && t.built[row]) {
		return t.texts[row]
	}
	return t.build(row)
}

func (t *RawTemplates) build(row int) string {
	if t.built == nil {
		t.texts, t.built = make([]string, t.rows), make([]bool, t.rows)
	}
	t.built[row] = true
	if t.sb.ids[row] == 0 {
		return ""
	}
	if err := t.rowVars(row); err != nil {
		if t.err == nil {
			t.err = err
		}
		return ""
	}
	if len(t.tbuf)+256 > cap(t.tbuf) {
		// A new array: the texts built so far keep pointing into the old.
		t.tbuf = make([]byte, 0, max(64<<10, 2*cap(t.tbuf)))
	}
	a := len(t.tbuf)
	buf := t.sb.appendTemplate(t.tbuf, row)
	if cap(buf) != cap(t.tbuf) {
		// Outgrew the array (a long row): it has its own.
		t.texts[row] = bytesToString(buf[a:])
		return t.texts[row]
	}
	t.tbuf = buf
	t.texts[row] = bytesToString(buf[a:])
	return t.texts[row]
}

// Err returns the first error building a template (Template).
func (t *RawTemplates) Err() error { return t.err }

// Skeletons returns the number of distinct skeletons of the block: 0
// when it stores no skeletons (then SkeletonOf and Skeleton must not be
// called).
func (t *RawTemplates) Skeletons() int {
	if t.sb == nil {
		return 0
	}
	return len(t.sb.skels)
}

// SkeletonOf returns the skeleton of row: -1 when absent.
func (t *RawTemplates) SkeletonOf(row int) int { return int(t.sb.ids[row]) - 1 }

// Var returns variable j (from 0, in text order) of row, which has a
// skeleton: the text of its j-th TemplateVar placeholder. The first call
// decodes the block's variables. RowVars gives all of a row's variables
// at once, for less.
func (t *RawTemplates) Var(row, j int) (string, error) {
	sb := t.sb
	if err := t.rowVars(row); err != nil {
		return "", err
	}
	v := int(sb.vstart[row]) + j
	if j < 0 || v >= int(sb.vstart[row+1]) {
		return "", fmt.Errorf("part %s block %d column %s: %w: variable %d of row %d", t.l.p.path, t.l.i, event.FieldRaw, errSkeleton, j, row)
	}
	return sb.vb[sb.voff[v]:sb.voff[v+1]], nil
}

// rowVars makes the variables of row readable in sb.voff and sb.vb: all
// of the block's, or its groups' once a needle read the variables by
// groups.
func (t *RawTemplates) rowVars(row int) error {
	sb := t.sb
	if sb.loaded {
		return nil
	}
	if t.vg == nil {
		return t.loadVars()
	}
	if err := t.vg.ensure(sb, int(sb.vstart[row]), int(sb.vstart[row+1])); err != nil {
		return fmt.Errorf("part %s block %d column %s: %w", t.l.p.path, t.l.i, event.FieldRaw, err)
	}
	return nil
}

// RowVars returns the variables of row, which has a skeleton (SkeletonOf
// >= 0), in O(1): variable j (from 0, in text order: the text of the
// j-th TemplateVar placeholder of the row's skeleton) is
// vb[offs[j]:offs[j+1]], for j < len(offs)-1, so len(offs)-1 is the
// row's number of variables (offs is never empty). vb holds the bytes of
// all the block's variables; the variables of a row are consecutive in
// it (vb[offs[0]:offs[len(offs)-1]] is their concatenation). offs is a
// view of the block's offsets: read it only. Both are valid until
// Release.
//
// The first call of a block decompresses its variables and computes
// every variable's offset (one pass); Var and RowVars share that work.
func (t *RawTemplates) RowVars(row int) (vb string, offs []int32, err error) {
	sb := t.sb
	if err := t.rowVars(row); err != nil {
		return "", nil, err
	}
	return sb.vb, sb.voff[sb.vstart[row] : sb.vstart[row+1]+1], nil
}

// RowsWithVar calls fn once for each row (ascending) that has a
// variable equal to v under ASCII case folding (token.EqualFold), for
// blocks with skeletons (Skeletons > 0). It compares every variable of
// the block in one pass, by length first, with no call per row (a
// needle's candidate rows, tmpl_digit_scan.go in package query). When
// the block's variables have filters that decide v (part version 5,
// vars_filter.go), only the groups of variables that may hold it are
// decompressed, and later reads of a row's variables (RowVars, Var,
// AppendRaw, Template) decompress only that row's groups; else, like
// RowVars, the first call decompresses all of them.
func (t *RawTemplates) RowsWithVar(v string, fn func(row int)) error {
	sb := t.sb
	if v == "" {
		return nil // variables are never empty
	}
	if !sb.loaded {
		if t.vg == nil {
			vg, err := openVarGroups(sb)
			if err != nil {
				return fmt.Errorf("part %s block %d column %s: %w", t.l.p.path, t.l.i, event.FieldRaw, err)
			}
			t.vg = vg
		}
		if t.vg != nil {
			done, err := t.vg.rowsWith(sb, v, fn)
			if err != nil {
				return fmt.Errorf("part %s block %d column %s: %w", t.l.p.path, t.l.i, event.FieldRaw, err)
			}
			if done {
				return nil
			}
		}
		if err := t.loadVars(); err != nil {
			return err
		}
	}
	scanVars(sb, 0, len(sb.voff)-1, v, -1, fn)
	return nil
}

func (t *RawTemplates) loadVars() error {
	if err := t.sb.loadVars(); err != nil {
		return fmt.Errorf("part %s block %d column %s: %w", t.l.p.path, t.l.i, event.FieldRaw, err)
	}
	return nil
}

// Skeleton returns skeleton id: a template (see Template) in which
// TemplateEscape TemplateVar stands for a variable, a maximal run of
// word bytes (token.IsWordByte) of the literal text that holds an ASCII
// digit. Every row of the skeleton has such a run there; the runs of its
// literal text without a digit are the skeleton's.
func (t *RawTemplates) Skeleton(id int) string { return t.sb.skels[id] }

// SkeletonKey returns a key of skeleton id (as Skeleton) that is the
// same for every block of the part holding the same skeleton and
// different for different skeletons of the process's open parts, so
// decisions per skeleton can be kept across the blocks of a part; 0 when
// the block's skeletons are not in a pool (part versions before 6, heads
// past a pool's cap): key by text then. Pooled skeletons of one part are
// also the same strings (same data pointer) in each block, while the
// pool's frames stay cached (budget permitting).
func (t *RawTemplates) SkeletonKey(id int) uint64 {
	if t.sb == nil || t.sb.pool == nil || id < 0 || id >= len(t.sb.pidx) {
		return 0
	}
	return t.sb.pool.id<<32 | (uint64(t.sb.pidx[id]) + 1)
}

// Host returns the stream's host (the value of TemplateHost references).
func (t *RawTemplates) Host() string { return t.host }

// Source returns the stream's source (the value of TemplateSource
// references).
func (t *RawTemplates) Source() string { return t.source }

// The template codes (RawTemplates.Template).
const (
	TemplateEscape  = tmplEsc
	TemplateHost    = tmplHost
	TemplateSource  = tmplSource
	TemplateColumn0 = tmplColBase
	TemplateVar     = tmplVar // in skeletons only
)

// Split returns the known text of row's template as pieces separated by
// references, appended to pieces, and the block columns of the references,
// appended to refs: the raw text is pieces[0] + the value of column
// refs[0] + pieces[1] + ... + pieces[len(refs)], so there is always one
// piece more than references (pieces may be empty). Escapes are resolved
// and the stream's host and source written in, into buf when needed; the
// pieces point into buf (returned, maybe grown) and the block's memory,
// so they are valid until buf is reused or Release.
func (t *RawTemplates) Split(row int, pieces []string, refs []int, buf []byte) ([]string, []int, []byte, error) {
	s := t.Template(row)
	if t.err != nil {
		return pieces, refs, buf, t.err
	}
	ncols := len(t.l.bm.cols)
	// Fast path: only column references; the pieces are views of s.
	if !hasSpecial(s) {
		for {
			i := strings.IndexByte(s, tmplEsc)
			if i < 0 {
				return append(pieces, s), refs, buf, nil
			}
			if i+1 >= len(s) {
				return pieces, refs, buf, errTemplate
			}
			k := int(s[i+1] - tmplColBase)
			if k >= ncols {
				return pieces, refs, buf, &missingColError{k: k, row: row}
			}
			pieces, refs = append(pieces, s[:i]), append(refs, k)
			s = s[i+2:]
		}
	}
	// Slow path: escapes or stream references; the pieces are built in
	// buf, and cut once it no longer moves.
	buf = buf[:0]
	var ends []int
	for {
		i := strings.IndexByte(s, tmplEsc)
		if i < 0 {
			buf = append(buf, s...)
			break
		}
		buf = append(buf, s[:i]...)
		if i+1 >= len(s) {
			return pieces, refs, buf, errTemplate
		}
		switch code := s[i+1]; {
		case code == tmplEsc:
			buf = append(buf, tmplEsc)
		case code == tmplHost:
			buf = append(buf, t.host...)
		case code == tmplSource:
			buf = append(buf, t.source...)
		case code >= tmplColBase:
			k := int(code - tmplColBase)
			if k >= ncols {
				return pieces, refs, buf, &missingColError{k: k, row: row}
			}
			ends, refs = append(ends, len(buf)), append(refs, k)
		default:
			return pieces, refs, buf, fmt.Errorf("%w: code %d", errTemplate, code)
		}
		s = s[i+2:]
	}
	all, start := bytesToString(buf), 0
	for _, e := range ends {
		pieces = append(pieces, all[start:e])
		start = e
	}
	pieces = append(pieces, all[start:])
	return pieces, refs, buf, nil
}

// hasSpecial reports whether template s has an escape or a stream
// reference (codes below tmplColBase).
func hasSpecial(s string) bool {
	for {
		i := strings.IndexByte(s, tmplEsc)
		if i < 0 || i+1 >= len(s) {
			return i >= 0
		}
		if s[i+1] < tmplColBase {
			return true
		}
		s = s[i+2:]
	}
}

// Value returns the value of block column k (a reference from Split) in
// row; ok is false when the row lacks it. The first call for a column
// decodes it; the value is valid until Release.
func (t *RawTemplates) Value(k, row int) (v string, ok bool, err error) {
	if k < 0 || k >= len(t.l.cols) {
		return "", false, &missingColError{k: k, row: row}
	}
	c, err := t.l.col(k)
	if err != nil {
		return "", false, err
	}
	if row < 0 || row >= len(c.Values) || !c.Has(row) {
		return "", false, nil
	}
	return c.Values[row], true, nil
}

// MayContain reports whether some value of block column k may contain
// text (ASCII case-insensitively, so also case-sensitively): false is
// certain, true may be wrong. It looks at the column's stored bytes once
// per column and text.
func (t *RawTemplates) MayContain(k int, text string) (bool, error) {
	l := t.l
	if k < 0 || k >= len(l.cols) {
		return true, nil
	}
	for _, e := range t.mays {
		if e.k == k && e.text == text {
			return e.may, nil
		}
	}
	may, err := t.mayContain(k, text)
	if err != nil {
		return false, err
	}
	t.mays = append(t.mays, mayEntry{k: k, text: text, may: may})
	return may, nil
}

func (t *RawTemplates) mayContain(k int, text string) (bool, error) {
	l := t.l
	if c := l.cols[k]; c.Values != nil {
		// Decoded already: ask the values.
		for i, v := range c.Values {
			if c.Has(i) && containsFold(v, text) {
				return true, nil
			}
		}
		return false, nil
	}
	if l.pre != nil && l.pre[k].sc != nil {
		return containsFold(l.pre[k].body, text), nil
	}
	c := l.bm.cols[k]
	if c.size == 0 {
		return true, nil
	}
	switch kind := l.p.data[c.off]; kind {
	case kindInt:
		return maybeInt(text), nil
	case kindConst, kindDict, kindPlain:
		pb, err := l.preBody(k)
		if err != nil {
			return false, err
		}
		// Keep the body for a later decode of the column (as
		// pruneColumns does), unless the caller asked for the column.
		if !l.want[k] {
			l.keepPre(k, pb)
		}
		return containsFold(pb.body, text), nil
	case kindAlias:
		// Same values as an earlier column of the block (checked by
		// aliasTarget): ask that one.
		tk, err := l.p.blockAliasTarget(l.bm, k)
		if err != nil {
			return false, fmt.Errorf("part %s block %d column %s: %w", l.p.path, l.i, l.p.names[c.name], err)
		}
		return t.MayContain(tk, text)
	case kindIPv4:
		return maybeIPv4(text), nil // dotted quads: digits and dots
	}
	return true, nil // kinds without a cheap check
}

// MayHoldAny reports whether some present value of block column k may
// be empty or hold one of the bytes of set: false is certain, true may be
// wrong. Only columns whose values are never empty and take few bytes
// (ints, IPv4 addresses, and aliases of them) answer false, from the
// column's kind alone; a search asks before it decodes a column to look
// at the bytes next to its values.
func (t *RawTemplates) MayHoldAny(k int, set string) bool {
	l := t.l
	if k < 0 || k >= len(l.cols) || l.cols[k].Values != nil {
		return true
	}
	c := l.bm.cols[k]
	if c.size == 0 {
		return true
	}
	var may func(string) bool
	switch l.p.data[c.off] {
	case kindInt:
		may = maybeInt
	case kindIPv4:
		may = maybeIPv4
	case kindAlias:
		tk, err := l.p.blockAliasTarget(l.bm, k)
		if err != nil || tk == k {
			return true
		}
		return t.MayHoldAny(tk, set)
	default:
		return true
	}
	for i := 0; i < len(set); i++ {
		if may(set[i : i+1]) {
			return true
		}
	}
	return false
}

// AppendRaw appends the raw text of row to dst (nothing when the row has
// none).
//
// With skeletons the text is written straight from the row's skeleton,
// variables and referenced values (no template is built or kept), so a
// caller that wants the texts of many rows, once each, should call it
// rather than Template or Split.
func (t *RawTemplates) AppendRaw(dst []byte, row int) ([]byte, error) {
	if !t.Has(row) {
		return dst, nil
	}
	if sb := t.sb; sb != nil {
		vb, offs, err := t.RowVars(row)
		if err != nil {
			return dst, err
		}
		out, err := sb.appendRaw(dst, row, vb, offs, t.host, t.source, t.l.cols, t.l.col)
		if err != nil {
			return out[:len(dst)], fmt.Errorf("part %s block %d column %s: %w", t.l.p.path, t.l.i, event.FieldRaw, err)
		}
		return out, nil
	}
	if t.Template(row); t.err != nil {
		return dst, t.err
	}
	dst, err := expandLazy(dst, t.Template(row), t.host, t.source, t.l.cols, row, t.l.col)
	if err != nil {
		return dst, fmt.Errorf("part %s block %d column %s: %w", t.l.p.path, t.l.i, event.FieldRaw, err)
	}
	return dst, nil
}

// Column returns the _raw column with the raw text of rows (ascending)
// and the other rows empty, as a load with LoadOptions.Rows gives it; nil
// rows means every row. The texts do not point into the RawTemplates'
// buffers, so they stay valid after Release.
func (t *RawTemplates) Column(rows []int) (Column, error) {
	n := t.rows
	if len(rows) > 0 && (rows[0] < 0 || rows[len(rows)-1] >= n || !slices.IsSorted(rows)) {
		return Column{}, fmt.Errorf("rows to expand: %d rows out of order or outside the block of %d", len(rows), n)
	}
	count := n
	if rows != nil {
		count = len(rows)
	}
	size := 0
	for j := range count {
		r := j
		if rows != nil {
			r = rows[j]
		}
		size += t.sizeHint(r) + 16
	}
	buf := make([]byte, 0, size+size/2)
	ends := make([]int, count)
	for j := range count {
		r := j
		if rows != nil {
			r = rows[j]
		}
		var err error
		if buf, err = t.AppendRaw(buf, r); err != nil {
			return Column{}, err
		}
		ends[j] = len(buf)
	}
	col := Column{Name: event.FieldRaw, Values: make([]string, n)}
	if t.absent != nil {
		col.Absent = slices.Clone(t.absent)
	}
	all, start := bytesToString(buf), 0
	for j, e := range ends {
		r := j
		if rows != nil {
			r = rows[j]
		}
		col.Values[r] = all[start:e]
		start = e
	}
	return col, nil
}

// sizeHint is about the size of row's raw text without its references'
// values (0 when it has none or its variables cannot be had).
func (t *RawTemplates) sizeHint(row int) int {
	sb := t.sb
	if sb == nil {
		return len(t.texts[row])
	}
	if !t.Has(row) {
		return 0
	}
	if _, offs, err := t.RowVars(row); err == nil {
		return len(sb.skels[sb.ids[row]-1]) + int(offs[len(offs)-1]-offs[0])
	}
	return 0
}

// Release gives the buffers back; the templates, pieces and values must
// not be used after it. It may be called more than once.
func (t *RawTemplates) Release() {
	if t.l != nil {
		t.l.release()
	}
	if t.sb != nil {
		t.sb.release()
		t.sb = nil
	}
	if t.vg != nil {
		t.vg.release()
		t.vg = nil
	}
	t.texts, t.absent, t.mays, t.built, t.tbuf = nil, nil, nil, nil, nil
}

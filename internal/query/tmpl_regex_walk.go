package query

import (
	"math"
	"strings"
	"unsafe"

	"github.com/mamori/mamori/internal/store"
)

// Window walks: a window's regexp decided by walking its program
// (rxAuto) over the row's text from the window's start, writing in the
// values the walk reaches, without building the window or running the
// regexp.
//
// Why it is exact: every match of a row holds its required literal at
// an occurrence the plan lists (in the skeleton's literal text, at
// offset o) or one overlapping a listed hole; such a match lies in the
// window around it (regexWindow) and starts at or before the
// occurrence (at or before the hole's end). A walk from the window's
// start (or earlier) that starts threads at every position up to there
// finds every such match, and a match it finds lies in the row's text
// (the regexp has no assertions): a walk accepts only on a match it
// found. So a row matches exactly when some window's walk finds a
// match. The last start only lets a walk stop early (threads started
// later would find matches of the row too): when no thread is left past
// it, often right after a value (`invalid user {user} from`). A byte
// outside ASCII, or a value that cannot be had, hands the window to the
// regexp (walkBail).
//
// Per block and occurrence, the walk up to the first hole whose value
// varies by row is done once; when that hole is a dictionary column, the
// walk over its value and the text after it up to the next such hole is
// done once per code, and when every occurrence of a skeleton is keyed
// by the same column, so is the row's answer (rowByCode): most rows are
// decided by their code alone, and nothing after the value (an address
// column, the variables) is read for them.

// occWalk is the plan of one occurrence's walk for the block.
type occWalk struct {
	state uint8  // walkOn: walk from w at q; walkMatch, walkNone: every row; walkBail: the window
	w     rxWalk // the walk at q
	q     int32  // offset in the skeleton of the first hole that varies by row
	at    walkLim
	key   *sparseCol
	memo  []uint32 // by code: 0 not walked yet, else index+1 in ents
	ents  []codeWalk
}

// walkLim is where in the skeleton a walk's last start lies: at the
// occurrence of the literal at offset occ, or after the hole at offset
// hole (the other one is -1). Until the walk gets there, every position
// is a start.
type walkLim struct{ occ, hole int }

// codeWalk is the walk after a value of the key column and the text
// after it, up to the next hole that varies by row (q).
type codeWalk struct {
	w rxWalk
	q int32
	v uint8
}

// resetWalks makes p's walk plans unplanned, one per occurrence.
func (p *skelWindow) resetWalks() {
	n := int(p.hi - p.lo)
	if cap(p.walks) < n {
		p.walks = append(p.walks[:cap(p.walks)], make([]occWalk, n-cap(p.walks))...)
	}
	p.walks = p.walks[:n]
	for j := range p.walks {
		p.walks[j].state = 0xff
	}
	p.rowState, p.rowKey = 0, nil
}

// rowByCode decides row i of plan p by its code in the one dictionary
// column that every occurrence's walk is keyed by, when the walks of
// that code decide each occurrence without the row's other values:
// walkMatch or walkNone, remembered by code; walkOn when the row must be
// walked occurrence by occurrence.
func (bv *blockView) rowByCode(rx *fieldMatcher, p *skelWindow, sk string, i int) uint8 {
	if p.rowState == 0 {
		p.rowState = 2
		for x := range p.walks {
			ow := bv.occWalkOf(rx, p, sk, x)
			switch {
			case ow.state == walkBail || ow.state == walkOn && ow.key == nil:
				return walkOn
			case ow.state == walkOn && p.rowKey == nil:
				p.rowKey = ow.key
			case ow.state == walkOn && ow.key != p.rowKey:
				return walkOn
			}
		}
		if p.rowKey == nil {
			return walkOn // decided alike for every row: the walks say so
		}
		p.rowState = 1
		p.rowMemo = append(p.rowMemo[:0], make([]uint8, len(p.rowKey.dict)+1)...)
	}
	if p.rowState != 1 {
		return walkOn
	}
	c := p.rowKey.codes[i]
	if c == 0 || int(c) >= len(p.rowMemo) {
		return walkOn
	}
	if v := p.rowMemo[c]; v != 0 {
		return v
	}
	v := uint8(walkNone)
	for x := range p.walks {
		ow := &p.walks[x]
		r := ow.state
		if r == walkOn {
			e := ow.memo[c]
			if e == 0 {
				e = bv.codeWalkOf(rx.win.auto, ow, sk, c)
			}
			r = ow.ents[e-1].v
		}
		if r == walkMatch {
			v = walkMatch
			break
		}
		if r != walkNone {
			v = walkOn
		}
	}
	p.rowMemo[c] = v
	return v
}

// codeVerdict reports, after a row of skeleton id went through
// windowMatch, how selectBySkeletons asks its other rows: 3 when
// rowByCode settles them by code (settledByCode), 4 when they go row by
// row, 0 when not known yet (no plan made).
func (bv *blockView) codeVerdict(id int) uint8 {
	tv := &bv.tv
	if len(tv.winPlan) != tv.tmpl.Skeletons() || id < 0 || id >= len(tv.winPlan) {
		return 0
	}
	p := &tv.winPlan[id]
	switch {
	case p.state == 0 || p.state == 1 && p.rowState == 0:
		return 0
	case p.state == 1 && p.rowState == 1:
		return 3
	}
	return 4
}

// settledByCode returns row i's answer from rowByCode's memo of
// skeleton id's plan (codeVerdict 3): walkMatch, walkNone, or 0 or
// walkOn when windowMatch must decide it.
func (bv *blockView) settledByCode(id, i int) uint8 {
	tv := &bv.tv
	p := &tv.winPlan[id]
	c := p.rowKey.codes[i]
	if c == 0 || int(c) >= len(p.rowMemo) || !tv.tmpl.Has(i) {
		return 0
	}
	return p.rowMemo[c]
}

// occWalkOf returns the walk plan of occurrence x of plan p of skeleton
// sk, planning it on first use in the block.
func (bv *blockView) occWalkOf(rx *fieldMatcher, p *skelWindow, sk string, x int) *occWalk {
	ow := &p.walks[x]
	if ow.state == 0xff {
		bv.planWalk(rx, p, sk, x, ow)
	}
	return ow
}

// planWalk walks occurrence x's window from its start up to the first
// hole that varies by row, over text that is the same in every row of
// the block (the skeleton's, the stream's host and source). A window
// whose back part holds a value that varies by row (`(root|admin) from`
// around ` from `) is walked from as far back as it can reach when the
// value is empty: a walk may start early (it finds only matches of the
// row), not late.
func (bv *blockView) planWalk(rx *fieldMatcher, p *skelWindow, sk string, x int, ow *occWalk) {
	tv := &bv.tv
	a := rx.win.auto
	ow.state, ow.key, ow.at = walkBail, nil, walkLim{occ: -1, hole: -1}
	o := int(tv.winOcc[int(p.lo)+x])
	back := rx.win.back
	if o < 0 {
		o = -1 - o
		back += int(tv.winHB[int(p.lo)+x])
		ow.at.hole = o
	} else {
		ow.at.occ = o
	}
	// Backward from o, as window goes, a varying value counted empty.
	pieces := tv.winBack[:0]
	got, dyn := 0, -1
	for j := o; got < back && j > 0; {
		if j >= 2 && sk[j-2] == store.TemplateEscape {
			if code := sk[j-1]; code == store.TemplateHost || code == store.TemplateSource {
				v, _ := bv.refValue(code, -1)
				pieces = append(pieces, v)
				got += len(v)
			} else if dyn >= 0 {
				tv.winBack = pieces
				return // two values that vary by row
			} else {
				dyn, pieces = j-2, pieces[:0] // the walk goes from dyn over the pieces after it
			}
			j -= 2
			continue
		}
		q := strings.LastIndexByte(sk[:j], store.TemplateEscape) + 2
		if q == 1 {
			q = 0
		}
		piece := sk[q:j]
		if len(piece) > back-got {
			piece = piece[len(piece)-(back-got):]
		}
		pieces = append(pieces, piece)
		got += len(piece)
		j -= len(piece)
	}
	tv.winBack = pieces
	w, v := a.start(math.MaxInt)
	for k := len(pieces) - 1; k >= 0 && v == walkOn; k-- {
		v = a.feed(&w, pieces[k])
	}
	q := o
	if dyn >= 0 {
		q = dyn
	}
	if v == walkOn {
		v, q = bv.walkFrom(a, &w, sk, q, -1, ow.at)
	}
	ow.state, ow.w, ow.q = uint8(v), w, int32(q)
	if v != walkOn {
		return
	}
	if code := sk[q+1]; code >= store.TemplateColumn0 {
		if sc := bv.sparseOf(int(code - store.TemplateColumn0)); sc != nil {
			ow.key = sc
			ow.memo = append(ow.memo[:0], make([]uint32, len(sc.dict)+1)...)
			ow.ents = ow.ents[:0]
		}
	}
}

// walkOcc decides occurrence x of plan p on row i by walking: walkMatch,
// walkNone, or walkBail when the window must decide.
func (bv *blockView) walkOcc(rx *fieldMatcher, p *skelWindow, sk string, x, i int) int {
	ow := bv.occWalkOf(rx, p, sk, x)
	if ow.state != walkOn {
		return int(ow.state)
	}
	if ow.key == nil {
		w := ow.w
		v, _ := bv.walkFrom(rx.win.auto, &w, sk, int(ow.q), i, ow.at)
		return v
	}
	c := ow.key.codes[i]
	if c == 0 || int(c) >= len(ow.memo) {
		return walkBail // no value: the window says why
	}
	e := ow.memo[c]
	if e == 0 {
		e = bv.codeWalkOf(rx.win.auto, ow, sk, c)
	}
	cw := &ow.ents[e-1]
	if cw.v != walkOn {
		return int(cw.v)
	}
	w := cw.w
	v, _ := bv.walkFrom(rx.win.auto, &w, sk, int(cw.q), i, ow.at)
	return v
}

// codeWalkOf walks ow's key hole with the value of code c and the text
// after it that is the same in every row, and returns the walk's index
// + 1 in ow.ents (remembered in ow.memo).
func (bv *blockView) codeWalkOf(a *rxAuto, ow *occWalk, sk string, c uint32) uint32 {
	q := int(ow.q)
	cw := codeWalk{w: ow.w}
	cw.v = uint8(a.feed(&cw.w, ow.key.dict[c-1]))
	if cw.v == walkOn && q == ow.at.hole {
		cw.v = uint8(a.setLim(&cw.w, cw.w.pos))
	}
	cq := q + 2
	if cw.v == walkOn {
		var v int
		v, cq = bv.walkFrom(a, &cw.w, sk, cq, -1, ow.at)
		cw.v = uint8(v)
	}
	cw.q = int32(cq)
	ow.ents = append(ow.ents, cw)
	ow.memo[c] = uint32(len(ow.ents))
	return ow.memo[c]
}

// walkFrom walks w over skeleton sk from offset q in row i, to the end
// of the row or until decided; with i < 0, only as far as the text is
// the same in every row (it returns walkOn and the offset of the first
// hole that varies by row). at is where the last start lies.
func (bv *blockView) walkFrom(a *rxAuto, w *rxWalk, sk string, q, i int, at walkLim) (int, int) {
	var ip [15]byte
	for q < len(sk) {
		if sk[q] != store.TemplateEscape {
			e := strings.IndexByte(sk[q:], store.TemplateEscape)
			if e < 0 {
				e = len(sk) - q
			}
			piece := sk[q : q+e]
			if at.occ >= q && at.occ < q+e {
				// The occurrence: no match starts after it.
				if v := a.feed(w, piece[:at.occ-q]); v != walkOn {
					return v, q
				}
				if v := a.setLim(w, w.pos); v != walkOn {
					return v, q
				}
				piece = piece[at.occ-q:]
			}
			if v := a.feed(w, piece); v != walkOn {
				return v, q
			}
			q += e
			continue
		}
		var val string
		switch code := sk[q+1]; {
		case code == store.TemplateHost || code == store.TemplateSource:
			val, _ = bv.refValue(code, -1)
		case i < 0:
			return walkOn, q
		case code >= store.TemplateColumn0:
			k := int(code - store.TemplateColumn0)
			if r := bv.walkIPv4(k); r != nil {
				a, ok := r.At(i)
				if !ok {
					return walkBail, q
				}
				b := store.AppendIPv4(ip[:0], a)
				val = unsafe.String(&b[0], len(b)) // #nosec G103 -- a view of ip, read by feed only
				break
			}
			if c := bv.winIPv4(k); c != nil {
				if c.Absent != nil && c.Absent[i] || i >= len(c.Addrs) {
					return walkBail, q
				}
				b := store.AppendIPv4(ip[:0], c.Addrs[i])
				val = unsafe.String(&b[0], len(b)) // #nosec G103 -- a view of ip, read by feed only
				break
			}
			fallthrough
		default:
			v, ok := bv.holeValue(sk, q, i)
			if !ok {
				return walkBail, q
			}
			val = v
		}
		if v := a.feed(w, val); v != walkOn {
			return v, q
		}
		if q == at.hole {
			if v := a.setLim(w, w.pos); v != walkOn {
				return v, q
			}
		}
		q += 2
	}
	return walkNone, q // the row's end
}

// walkScratch holds the walks' buffers of a worker (tmplView.winWalk),
// kept from block to block.
type walkScratch struct {
	ip []walkIPv4 // by block column
	// planWindows's buffers: the masked skeleton, its holes joined, and
	// the joined text's offsets in the skeleton.
	masked, joined []byte
	origin         []int32
}

// walkIPv4 is a block column read as IPv4 numbers row by row.
type walkIPv4 struct {
	state int8 // 0 not asked, 1 rows, -1 not stored so
	rows  *store.IPv4Rows
	buf   store.IPv4RowsBuf
}

// resetWalkScratch forgets the previous block's columns.
func (bv *blockView) resetWalkScratch() {
	tv := &bv.tv
	if tv.winWalk == nil {
		tv.winWalk = new(walkScratch)
	}
	ip := tv.winWalk.ip
	if n := tv.tmpl.Columns(); cap(ip) < n {
		ip = append(ip[:cap(ip)], make([]walkIPv4, n-cap(ip))...)
	}
	ip = ip[:tv.tmpl.Columns()]
	for k := range ip {
		ip[k].state, ip[k].rows = 0, nil
	}
	tv.winWalk.ip = ip
}

// walkIPv4 returns block column k for reading addresses row by row when
// the block stores it so (store.IPv4RowLoader), remembered for the
// block; nil otherwise.
func (bv *blockView) walkIPv4(k int) *store.IPv4Rows {
	ws := bv.tv.winWalk
	if k < 0 || k >= len(ws.ip) {
		return nil
	}
	c := &ws.ip[k]
	if c.state == 0 {
		c.state = -1
		if l, ok := bv.ref.(store.IPv4RowLoader); ok {
			r, ok, err := l.LoadIPv4Rows(bv.tv.tmpl.Name(k), &c.buf)
			if err == nil && ok {
				c.state, c.rows = 1, r
			}
		}
	}
	return c.rows
}

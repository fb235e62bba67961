package query

import (
	"math/bits"
	"strings"
	"unsafe"
)

// Decisions of a regexp's literal on pooled skeletons, kept across the
// blocks of a part.
//
// The skeletons of a part's blocks come from the part's pool
// (store.RawTemplates.SkeletonPool, SkeletonEntry): the same skeleton
// text recurs in many blocks, and the prepass (skelPrepass) decided it
// again in each (regex_count: ~300k decisions a run for ~125k entries
// per worker). Its answer depends on the text and on a few facts about
// the block: what the block's columns may hold (litMay, colMayContain,
// the coverage keys behind farColumnCheap, MayHoldAny) and what the
// stream's host and source hold (insideValue, refJoins). The decision is
// deterministic given those: on another block where each fact it asked
// has the same answer, it goes the same way and gives the same answer.
// So every look at the block that a literal's skeleton decision makes
// must be one of the facts below, noted by tv.fact while a decision is
// recorded (tv.recOn); a new kind of look needs a new kind of fact.
//
// A finder's facts are few (~140 for regex_count on the 10M store), so
// each gets an id below maxMemoFacts and its first answer as reference
// (ref). A decision records the set of facts it asked (a factMask),
// when each had its reference answer; a later block takes the recorded
// answer when the facts of the set have their reference answers there
// too (each fact is asked once a block), and decides again otherwise.
// A decision deferred to the rows (tv.deferred) is recorded as such.
// A decision that takes the answers of its leading holes from an
// earlier skeleton of the block (skelScan's shared starts) adds that
// one's set to its own. The memo belongs to one finder of one worker
// (skelAnswers.pmemo): nothing is kept across queries.

// skelMemoOff turns the memo off (tests compare with the prepass per
// block).
var skelMemoOff bool

// maxMemoFacts bounds a finder's facts: past it, decisions that ask a
// new fact are not recorded.
const maxMemoFacts = 256

// factMask is a set of fact ids.
type factMask [maxMemoFacts / 64]uint64

func (a *factMask) or(b *factMask) {
	for i := range a {
		a[i] |= b[i]
	}
}

// Kinds of facts.
const (
	factLitMay   = iota + 1 // litMay(tf, k)
	factColMay              // colMayContain(k, text)
	factLacks               // lacks(k, text)
	factHoldAny             // MayHoldAny(k, joinBytes(ends, starts))
	factRefHas              // the stream's host or source (code k) holds the literal
	factRefJoins            // refJoins(k, ends, starts)
)

// skelFact is one fact a decision may ask: the text it asks about is
// tf.term[a:b]; ends and starts are refJoins's and joinBytes's splits.
type skelFact struct {
	kind, k      uint8
	a, b         uint16
	ends, starts uint64
}

// skelRec is the recorded decision of a pooled skeleton: the facts it
// asked are memo.masks[facts].
type skelRec struct {
	state uint8 // 0 none, 1 answer ans, 2 deferred to the rows
	ans   uint8 // tmplAnswer+1
	facts uint16
}

// skelPoolMemo keeps one finder's decisions by pool and pooled skeleton.
type skelPoolMemo struct {
	pools map[uint64][]skelRec // by pool id, by pool index
	facts []skelFact           // by id
	ids   map[skelFact]uint32
	slot  [4096]uint16 // ids by a hash of the fact, in front of ids: id+1
	ref   factMask     // the facts' reference answers
	// The sets of facts of the records, by number, and the numbers.
	masks   []factMask
	maskIDs map[factMask]uint16
	mslot   [64]uint16 // numbers by a hash of the set, in front of maskIDs: number+1
	// The current block: the facts asked and their answers.
	known, ans factMask
	// The pool of the current block: its records.
	pool  uint64
	recs  []skelRec
	nrecs int // records over all pools
	// budget is the query's: a pool's records are charged to it, and not
	// kept when they do not fit (nil: no budget).
	budget *budget
	// Decisions taken from a record, and records checked that did not
	// hold (tests, measurements).
	hits, misses int
}

// maxMemoPool bounds the entries of a pool whose decisions are kept,
// maxMemoRecs the records of one memo over all pools (4 bytes each).
const (
	maxMemoPool = 1 << 20
	maxMemoRecs = 1 << 22
)

// memoBlock readies m for a new block whose skeletons are entries of
// pool (store.RawTemplates.SkeletonPool); false when the pool has too
// many entries to keep records for, or the memo has too many records.
func (m *skelPoolMemo) memoBlock(pool uint64, entries int) bool {
	m.known, m.ans = factMask{}, factMask{}
	if m.pool != pool {
		if entries > maxMemoPool {
			return false
		}
		if m.pools == nil {
			m.pools = make(map[uint64][]skelRec)
			m.ids = make(map[skelFact]uint32)
			m.maskIDs = make(map[factMask]uint16)
		}
		recs, ok := m.pools[pool]
		if !ok {
			if m.nrecs+entries > maxMemoRecs || !m.budget.tryAdd(int64(entries)*int64(unsafe.Sizeof(skelRec{}))) {
				return false
			}
			m.nrecs += entries
			recs = make([]skelRec, entries)
			m.pools[pool] = recs
		}
		m.pool, m.recs = pool, recs
	}
	return true
}

// rec returns the record of pool entry x; nil when there is none.
func (m *skelPoolMemo) rec(x int) *skelRec {
	if x < 0 || x >= len(m.recs) {
		return nil
	}
	return &m.recs[x]
}

// memoHolds reports whether every fact of r has its reference answer on
// the current block.
func (bv *blockView) memoHolds(tf *tmplFinder, m *skelPoolMemo, r *skelRec) bool {
	fs := &m.masks[r.facts]
	for w := range fs {
		for need := fs[w] &^ m.known[w]; need != 0; need &= need - 1 {
			id := w*64 + bits.TrailingZeros64(need)
			bit := uint64(1) << (id & 63)
			m.known[w] |= bit
			if bv.factAnswer(tf, &m.facts[id]) {
				m.ans[w] |= bit
			}
		}
		if (m.ans[w]^m.ref[w])&fs[w] != 0 {
			return false
		}
	}
	return true
}

// factAnswer asks fact f of the current block.
func (bv *blockView) factAnswer(tf *tmplFinder, f *skelFact) bool {
	k := int(f.k)
	switch f.kind {
	case factLitMay:
		return bv.litMay(tf, k)
	case factColMay:
		return bv.colMayContain(k, tf.term[f.a:f.b])
	case factLacks:
		return bv.lacks(k, tf.term[f.a:f.b])
	case factHoldAny:
		return bv.tv.tmpl.MayHoldAny(k, bv.tv.joinBytes(tf, f.ends, f.starts))
	case factRefHas:
		v, _ := bv.refValue(byte(k), 0)
		return strings.Contains(v, tf.term)
	case factRefJoins:
		return bv.refJoins(tf, byte(k), 0, f.ends, f.starts)
	}
	return true
}

// keep records answer a (deferred: deferred to the rows) with the facts
// in fs for r; false when there are too many sets of facts.
func (m *skelPoolMemo) keep(r *skelRec, fs *factMask, a tmplAnswer, deferred bool) bool {
	h := uint64(0)
	for _, w := range fs {
		h = (h ^ w) * 0x9e3779b97f4a7c15
	}
	h >>= 58
	x := int(m.mslot[h]) - 1
	if x < 0 || m.masks[x] != *fs {
		y, ok := m.maskIDs[*fs]
		if !ok {
			if len(m.masks) > 0xfffe {
				r.state = 0
				return false
			}
			y = uint16(len(m.masks))
			m.masks = append(m.masks, *fs)
			m.maskIDs[*fs] = y
		}
		x = int(y)
		m.mslot[h] = uint16(x + 1)
	}
	r.state, r.ans, r.facts = 1, uint8(a)+1, uint16(x)
	if deferred {
		r.state = 2
	}
	return true
}

// fact notes, for the decision being recorded (tv.recOn), a fact it
// asked with answer ans; text is a part of tv.recTF's term, or empty. A
// fact that cannot be noted (a column past 255, a text elsewhere, too
// many facts) or whose answer is not its reference answer stops the
// recording (tv.recBad).
func (tv *tmplView) fact(kind uint8, k int, text string, ans bool, ends, starts uint64) {
	tf, m, a := tv.recTF, tv.recMemo, 0
	if len(text) > 0 {
		// Within tf.term's bytes, text is that part of it.
		a = int(uintptr(unsafe.Pointer(unsafe.StringData(text))) - uintptr(unsafe.Pointer(unsafe.StringData(tf.term)))) // #nosec G103 -- the offset of a part of tf.term, checked below
	}
	if k < 0 || k > 255 || a < 0 || a+len(text) > len(tf.term) || len(tf.term) > 0xffff {
		tv.recOn, tv.recBad = false, true
		return
	}
	f := skelFact{kind: kind, k: uint8(k), a: uint16(a), b: uint16(a + len(text)), ends: ends, starts: starts}
	h := (uint32(f.kind)<<8 ^ uint32(f.k) ^ uint32(f.a)<<12 ^ uint32(f.b)<<20 ^
		uint32(f.ends) ^ uint32(f.ends>>32) ^ (uint32(f.starts)^uint32(f.starts>>32))*0x85ebca6b) * 0x9e3779b1 >> 20
	id := int(m.slot[h]) - 1
	if id < 0 || m.facts[id] != f {
		x, ok := m.ids[f]
		if !ok {
			if len(m.facts) >= maxMemoFacts {
				tv.recOn, tv.recBad = false, true
				return
			}
			x = uint32(len(m.facts))
			m.facts = append(m.facts, f)
			m.ids[f] = x
			if ans {
				m.ref[x/64] |= 1 << (x % 64)
			}
		}
		id = int(x)
		m.slot[h] = uint16(id + 1)
	}
	w, bit := id/64, uint64(1)<<(id%64)
	if (m.ref[w]&bit != 0) != ans {
		tv.recOn, tv.recBad = false, true
		return
	}
	tv.recMask[w] |= bit
	// The block's answer, for the records checked later in the block.
	m.known[w] |= bit
	if ans {
		m.ans[w] |= bit
	}
}

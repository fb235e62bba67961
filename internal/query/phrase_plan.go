package query

import (
	"encoding/binary"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mamori/mamori/internal/store"
)

// Skeleton plans (session 10). The blocks of a part with a skeleton pool
// (store part version 6) name the same pooled texts, so the part of the
// prepass's decision that reads only a skeleton's text is made once per
// query, part and pool entry and shared by the workers and blocks: a
// plan lists, in order, the holes whose answer depends on the block (a
// column's or the stream's value), and what the scan answers when all
// of them answer no. The text-only work (the literal search, finding
// the holes, the variables' answers, the splits at each hole's edges) is
// not repeated per block.
//
// Per block, a hole whose edges cannot run into the term is asked what
// its value says by itself (insideValue: the covered columns, the
// stream's host or source); one whose edges can is decided by skelHole,
// once per block and window: a hole's answer in the prepass depends only
// on the text from just before the hole preceding the piece before it
// (holeBefore reads that far back) up to the code of the hole after the
// next piece (holeTextEnd), and on the block's columns. Windows are
// numbered per part (the same text has the same number in every entry),
// so skeletons of a block that share a header (`{host} {app}[{pid}]: `)
// ask its holes once; and a term's plans with the same holes' codes and
// windows (their list, planList: most skeletons of a part name the same
// few, such as the host's and the app's) have the same answer in a
// block, asked once (session 12).

// planStore holds the plans of one finder in one mode (term or literal)
// for a query, by skeleton pool.
type planStore struct {
	mu    sync.Mutex
	parts map[uint64]*partPlans
}

// partPlans holds the plans of one part's pool entries, built on first
// use by whichever worker meets the entry first (under mu, which also
// guards the window numbers), and the numbers of the windows they name.
// A plan is a word per entry (planWord) and its holes in a chunk, two
// items each: the window's number (or -1-code for a hole that
// insideValue decides) and the hole's offset in the text. A plan once
// built is read without the lock (its word is stored after its items).
type partPlans struct {
	plans  []atomic.Uint64 // by entry: 0 not built yet
	chunks [planChunks]atomic.Pointer[[]int32]
	mu     sync.Mutex
	nc     int // chunks in use
	used   int // items used in the last chunk
	wins   map[string]int32
	kb     []byte // window's key buffer
	// The plans' lists of items without the holes' offsets (planList):
	// their numbers by hash, and their ends and codes (listOff[l-1] to
	// listOff[l] in listCodes).
	lists     map[uint64]uint32
	listOff   []int32
	listCodes []int32
	items     []int32    // build's buffer
	scan      []planStep // build's buffer
	refs      []planRef  // build's references, one per way of starting
}

const (
	planChunk  = 4096 // items per chunk (the first of a part may be smaller)
	planChunks = 1024 // chunks per part at most
	planMax    = 255  // holes per plan at most
	// planLists bounds a part's plan lists (planList); plans past it get
	// list 0 (no answer kept by list).
	planLists = 1 << 24
	// planOld marks an entry decided the old way (skelScan): its plan
	// does not fit.
	planOld = uint64(1) << 63
)

// planWord packs a built plan: the chunk and offset of its n items, its
// end (what the scan answers when every item answers tmplNo) and its
// list (planList).
func planWord(chunk, off, n int, end tmplAnswer, list uint32) uint64 {
	return 1 | uint64(end)<<1 | uint64(n)<<3 | uint64(off)<<11 | uint64(chunk)<<24 | uint64(list)<<34
}

// planList returns the number of the list of the plan's items without
// the holes' offsets, and its end: plans with the same list (most
// skeletons of a part share the few holes whose answer depends on the
// block, such as the host's and the app's) have the same answer in a
// block, kept once for all of them (skelAnswers.lists). 0 when the part
// has too many lists.
func (pp *partPlans) planList(items []int32, end tmplAnswer) uint32 {
	h := uint64(end) + 1
	for j := 0; j < len(items); j += 2 {
		h = (h ^ uint64(uint32(items[j]))) * 0x9E3779B97F4A7C15
	}
	h ^= h >> 29
	if l, ok := pp.lists[h]; ok {
		// The same hash: the same list, or none (a collision).
		codes := pp.listCodes[pp.listOff[l-1]:pp.listOff[l]]
		if len(codes) != 1+len(items)/2 || codes[0] != int32(end) {
			return 0
		}
		for j := 0; j < len(items); j += 2 {
			if codes[1+j/2] != items[j] {
				return 0
			}
		}
		return l
	}
	if len(pp.lists) >= planLists-1 {
		return 0
	}
	if pp.lists == nil {
		pp.lists = make(map[uint64]uint32)
		pp.listOff = append(pp.listOff[:0], 0)
	}
	pp.listCodes = append(pp.listCodes, int32(end))
	for j := 0; j < len(items); j += 2 {
		pp.listCodes = append(pp.listCodes, items[j])
	}
	pp.listOff = append(pp.listOff, int32(len(pp.listCodes)))
	l := uint32(len(pp.lists)) + 1
	pp.lists[h] = l
	return l
}

// part returns the plans of the part whose pool has the given id and
// number of entries.
func (ps *planStore) part(id uint64, entries int) *partPlans {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	pp := ps.parts[id]
	if pp == nil {
		if ps.parts == nil {
			ps.parts = make(map[uint64]*partPlans)
		}
		pp = &partPlans{plans: make([]atomic.Uint64, entries), wins: make(map[string]int32)}
		ps.parts[id] = pp
	}
	return pp
}

// plan returns the word of pool entry e's plan (planWord, or planOld),
// whose text is t, building it on first use.
func (pp *partPlans) plan(tf *tmplFinder, e int, t string, lit bool) uint64 {
	if w := pp.plans[e].Load(); w != 0 {
		return w
	}
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if w := pp.plans[e].Load(); w != 0 {
		return w
	}
	end, items := pp.build(tf, t, lit)
	w := planOld
	if len(items) <= 2*planMax {
		if pp.nc == 0 || pp.used+len(items) > len(*pp.chunks[pp.nc-1].Load()) {
			if pp.nc == planChunks {
				pp.plans[e].Store(planOld)
				return planOld
			}
			// A part's first chunk for ~4 holes an entry: a query that
			// reads one block of many parts allocates little.
			size := planChunk
			if pp.nc == 0 {
				size = min(planChunk, max(2*planMax, 8*len(pp.plans)))
			}
			c := make([]int32, size)
			pp.chunks[pp.nc].Store(&c)
			pp.nc, pp.used = pp.nc+1, 0
		}
		c := *pp.chunks[pp.nc-1].Load()
		copy(c[pp.used:], items)
		w = planWord(pp.nc-1, pp.used, len(items)/2, end, pp.planList(items, end))
		pp.used += len(items)
	}
	pp.plans[e].Store(w)
	return w
}

// build makes the plan of skeleton t: quickScan's and skelScan's steps
// that read the text only (without rows, as the prepass asks). It
// returns the plan's end and items (in pp.items).
func (pp *partPlans) build(tf *tmplFinder, t string, lit bool) (tmplAnswer, []int32) {
	items, scan := pp.items[:0], pp.scan[:0]
	defer func() { pp.items, pp.scan = items, scan }()
	if len(tf.term) == 0 {
		return tmplYes, items
	}
	if a := tf.literal(t); a != tmplNo {
		return a, items
	}
	start, q := 0, strings.IndexByte(t, store.TemplateEscape)
	r := pp.refOf(t)
	if r >= 0 {
		// The leading holes whose steps read only text t shares with
		// the reference: its items (the same windows) and scan.
		ref := &pp.refs[r]
		cp := commonPrefix(ref.t, t)
		n := 0
		for n < len(ref.scan) && int(ref.scan[n].upTo) <= cp {
			n++
		}
		if n > 0 {
			last := ref.scan[n-1]
			items = append(items, ref.items[:last.items]...)
			scan = append(scan, ref.scan[:n]...)
			start, q = int(last.q)+2, int(last.next)
		}
	}
	a := tmplNo
	for q >= 0 {
		if q+1 >= len(t) || t[q+1] == store.TemplateEscape {
			a = tmplMaybe // an escape (or a bad template): the exact path
			break
		}
		next, end := -1, len(t)
		if j := strings.IndexByte(t[q+2:], store.TemplateEscape); j >= 0 {
			next = q + 2 + j
			end = next
		}
		if next == q+2 || (q == start && start > 0) {
			a = tmplMaybe // two holes side by side
			break
		}
		left, right := t[start:q], t[q+2:end]
		code := t[q+1]
		if code == store.TemplateVar {
			if tf.varAnswer(left, right, start > 0, next >= 0, lit) != tmplNo {
				a = tmplMaybe
				break
			}
		} else {
			it := -1 - int32(code)
			if len(tf.term) >= 2 {
				if ends, starts := tf.edgeSplits(left, right, start > 0, next >= 0); ends|starts != 0 {
					it = pp.window(t, start, q, next)
				}
			}
			items = append(items, it, int32(q))
		}
		// The step read t up to the code of the hole after the next
		// piece at most (the window's end), or to its end.
		upTo := holeTextEnd(t, next)
		if upTo < 0 {
			upTo = len(t) + 1
		}
		scan = append(scan, planStep{q: int32(q), next: int32(next), upTo: int32(upTo), items: int32(len(items))})
		start, q = q+2, next
	}
	if r < 0 && len(pp.refs) < maxPrefixRefs {
		pp.refs = append(pp.refs, planRef{})
		r = len(pp.refs) - 1
	}
	if r >= 0 {
		ref := &pp.refs[r]
		ref.t = t
		ref.scan = append(ref.scan[:0], scan...)
		ref.items = append(ref.items[:0], items...)
	}
	return a, items
}

// planRef is the skeleton whose plan the part built last for one way of
// starting (prefixRefOf's first bytes), with the steps of its scan.
type planRef struct {
	t     string
	scan  []planStep
	items []int32
}

// planStep is a hole build passed: its offset, the next hole's, the end
// of the text the step read, and the plan's items after it.
type planStep struct {
	q, next, upTo, items int32
}

// refOf returns the index of the reference that starts as t does, or -1.
func (pp *partPlans) refOf(t string) int {
	n := min(len(t), 8)
	if j := strings.IndexByte(t[:n], store.TemplateEscape); j >= 0 {
		n = min(n, j+2)
	}
	for r := range pp.refs {
		if len(pp.refs[r].t) >= n && pp.refs[r].t[:n] == t[:n] {
			return r
		}
	}
	return -1
}

// window returns the number of the window of the hole at t[q:q+2] (the
// piece before it starts at start, the next hole is at next): the text
// skelHole may read for it in the prepass, with the hole's places in it.
func (pp *partPlans) window(t string, start, q, next int) int32 {
	ws := 0
	if start >= 2 {
		// holeBefore: the hole ending at start, the piece before it back
		// to the escape before that, and the byte before the escape.
		if j := strings.LastIndexByte(t[:start-2], store.TemplateEscape); j > 0 {
			ws = j - 1
		}
	}
	we, toEnd := holeTextEnd(t, next), byte(0)
	if we < 0 {
		we, toEnd = len(t), 1
	}
	key := append(pp.kb[:0], toEnd)
	if ws == 0 {
		key[0] |= 2 // the window starts the skeleton
	}
	key = binary.AppendUvarint(key, uint64(q-ws))
	key = binary.AppendUvarint(key, uint64(start-ws))
	key = binary.AppendUvarint(key, uint64(next-ws+1))
	key = append(key, t[ws:we]...)
	pp.kb = key
	w, ok := pp.wins[string(key)]
	if !ok {
		w = int32(len(pp.wins))
		pp.wins[string(key)] = w
	}
	return w
}

// planAnswer is the prepass's decision (skelScan without rows) of
// skeleton id from its plan w (planWord); deferred when a hole left it to
// its rows' values (skelValues). The windows' answers are kept in c for
// the block.
func (bv *blockView) planAnswer(tf *tmplFinder, c *skelAnswers, pp *partPlans, w uint64, id int, lit bool) (a tmplAnswer, deferred bool) {
	tv := &bv.tv
	n, off := int(w>>3&0xff), int(w>>11&0x1fff)
	var sk string // the skeleton's text, when a window is asked
	items := (*pp.chunks[w>>24&0x3ff].Load())[off : off+2*n]
	for j := 0; j+1 < len(items); j += 2 {
		it := items[j]
		if it < 0 {
			code := byte(-1 - it)
			if !lit {
				// A term's insideValue reads the block only (covered
				// columns, the stream's host or source): once a code.
				m := c.inside[code]
				if m>>3 != c.gen {
					m = c.gen<<3 | uint32(bv.insideValue(tf, code, -1-id, false))
					c.inside[code] = m
				}
				if a = tmplAnswer(m & 3); a != tmplNo {
					return a, false
				}
				continue
			}
			tv.deferred = false
			if a = bv.insideValue(tf, code, -1-id, lit); a != tmplNo {
				return a, tv.deferred
			}
			continue
		}
		if int(it) >= len(c.win) {
			c.win = append(c.win, make([]uint32, int(it)+1-len(c.win)+len(c.win)/2)...)
		}
		m := c.win[it]
		if m>>3 == c.gen {
			if a = tmplAnswer(m & 3); a != tmplNo {
				return a, m&4 != 0
			}
			continue
		}
		// The hole's pieces: the holes before it in the plan's text are
		// no escaped escapes (build stops at one).
		if sk == "" {
			sk = tv.tmpl.Skeleton(id)
		}
		q, start, next := int(items[j+1]), 0, -1
		if k := strings.LastIndexByte(sk[:q], store.TemplateEscape); k >= 0 {
			start = k + 2
		}
		if k := strings.IndexByte(sk[q+2:], store.TemplateEscape); k >= 0 {
			next = q + 2 + k
		}
		tv.deferred = false
		a = bv.skelHole(tf, sk, -1-id, start, q, next, lit)
		m = c.gen<<3 | uint32(a)
		if tv.deferred {
			m |= 4
		}
		c.win[it] = m
		if a != tmplNo {
			return a, tv.deferred
		}
	}
	return tmplAnswer(w >> 1 & 3), false
}

// nextGen starts the window answers of a new block.
func (c *skelAnswers) nextGen() {
	c.gen++
	if c.gen >= 1<<28 {
		clear(c.win)
		clear(c.lists)
		clear(c.inside[:])
		c.gen = 1
	}
}

// planPrepass is skelPrepass on a block whose skeletons are pooled;
// false when they are not (the caller decides them one by one).
func (bv *blockView) planPrepass(tf *tmplFinder, c *skelAnswers, lit bool) bool {
	tv := &bv.tv
	pid, entries := tv.tmpl.SkeletonPool()
	if pid == 0 || planOff || lit && !planLit {
		return false
	}
	mode := 0
	if lit {
		mode = 1
	}
	pp := tf.plans[mode].part(pid, entries)
	if len(pp.plans) != entries {
		return false
	}
	c.nextGen()
	tv.noRows = true
	for id := range c.ans {
		if c.ans[id] != 0 {
			continue
		}
		e := tv.tmpl.SkeletonEntry(id)
		if e < 0 || e >= entries {
			continue // not pooled: skelCached decides it
		}
		w := pp.plans[e].Load()
		if w == 0 {
			w = pp.plan(tf, e, tv.tmpl.Skeleton(id), lit)
		}
		if w == planOld {
			continue // skelCached decides it
		}
		var a tmplAnswer
		var deferred bool
		if l := uint32(w >> 34); l != 0 && !lit {
			// The answer of the plan's list, once a block (a term's
			// items are answered by code and window only).
			if int(l) >= len(c.lists) {
				c.lists = append(c.lists, make([]uint32, int(l)+1-len(c.lists)+len(c.lists)/2)...)
			}
			if m := c.lists[l]; m>>3 == c.gen {
				a, deferred = tmplAnswer(m&3), m&4 != 0
			} else {
				a, deferred = bv.planAnswer(tf, c, pp, w, id, lit)
				m = c.gen<<3 | uint32(a)
				if deferred {
					m |= 4
				}
				c.lists[l] = m
			}
		} else {
			a, deferred = bv.planAnswer(tf, c, pp, w, id, lit)
		}
		if deferred {
			tv.wantRowsOf(id)
		} else {
			c.ans[id] = uint8(a) + 1
		}
	}
	tv.noRows, tv.deferred = false, false
	return true
}

// planOff turns the plans off (tests compare with the scan per block).
var planOff bool

// planLit lets a regexp's literal use plans too (tests). Off by default:
// the literal has no word boundaries, so most holes of a skeleton's tail
// can join it and their windows are the skeleton's own, decided per
// block either way; on the 10M bench store regex_count took ~25% more CPU
// with plans than with skelScan's shared starts.
var planLit bool

package store

import (
	"encoding/binary"
	"errors"

	"github.com/mamori/mamori/internal/token"
)

// The _raw column of a block may be stored as a dictionary of skeletons
// (kindSkeleton, part version 4): a row's skeleton is its template (see
// enc_template.go) with every variable of the literal text replaced by
// the two bytes 0x01 0x00. A variable is a maximal run of word bytes
// (token.IsWordByte) of the literal text that holds an ASCII digit; runs
// end at escapes and references, whose two bytes are kept as they are.
// Timestamps, pids, ports and counters are such runs, so the rows of a
// block share few skeletons, and a search decides a term once per
// skeleton (a term without digits never overlaps a variable).
//
// The chunk body (codec 0, stored) is
//
//	uvarint headLen | head chunk (headLen bytes) | vars chunk
//
// where each of head and vars is a chunk of its own (u8 kind 8 | u8 codec |
// uvarint bodyLen | body), so a search reads the head without
// decompressing the variables:
//
//	head: uvarint n | n × str skeleton | rows × uvarint id (0 absent, else index+1)
//	vars: nvars × uvarint length | the variables' bytes, in row order
//
// nvars is the number of placeholders of the present rows' skeletons.
// A block whose rows have more than rows/skelMaxShare distinct skeletons
// keeps kindTemplate.
const (
	kindSkeleton byte = 8

	tmplVar      = 0x00 // 0x01 0x00 in a skeleton: a variable
	skelMaxShare = 2
)

// isTemplateKind reports whether chunks of kind hold _raw as templates
// (kindTemplate, or kindSkeleton which decodes to them).
func isTemplateKind(kind byte) bool { return kind == kindTemplate || kind == kindSkeleton }

// skeletoner encodes skeleton chunks; it reuses its buffers between
// blocks.
type skeletoner struct {
	ids   map[string]uint32
	arena []byte   // the skeletons' bytes; ids's keys point into it
	skels []string // by id, views of arena
	sk    []byte
	head  []byte
	vl    []byte // variable lengths
	vb    []byte // variable bytes
	tmp   []byte
	bad   bool // a template held 0x01 0x00
	// pool, when set, is the pool of the part written (skel_pool.go):
	// heads name its entries (codecPooled) while it has room.
	pool *poolBuilder
	pidx []uint32
}

// skeletonsOff makes writers keep kindTemplate (tests of older parts).
var skeletonsOff bool

// encode appends the kindSkeleton chunk of the templates data[ends[i-1]:
// ends[i]] to dst; false (dst unchanged) when the templates have too many
// distinct skeletons for the dictionary to pay.
func (s *skeletoner) encode(dst, data []byte, ends []int, lv level) ([]byte, bool) {
	if skeletonsOff {
		return dst, false
	}
	if s.ids == nil {
		s.ids = make(map[string]uint32)
	}
	clear(s.ids)
	limit := len(ends) / skelMaxShare
	s.arena, s.skels, s.vl, s.vb = s.arena[:0], s.skels[:0], s.vl[:0], s.vb[:0]
	ids := s.tmp[:0]
	start := 0
	s.bad = false
	for _, e := range ends {
		s.sk = s.appendSkeleton(s.sk[:0], data[start:e])
		start = e
		if s.bad {
			s.tmp = ids
			return dst, false
		}
		id, ok := s.ids[bytesToString(s.sk)]
		if !ok {
			if len(s.skels) >= limit {
				s.tmp = ids
				return dst, false
			}
			a := len(s.arena)
			s.arena = append(s.arena, s.sk...)
			key := bytesToString(s.arena[a:])
			id = uint32(len(s.skels))
			s.ids[key] = id
			s.skels = append(s.skels, key)
		}
		ids = binary.AppendUvarint(ids, uint64(id)+1)
	}
	s.tmp = ids
	if s.pool != nil && !s.pool.off && s.headLen(len(ids)) >= headGroupMin && s.pool.fits(s.skels) {
		// The texts go to the part's pool, the head names them (heads
		// too small to group stay one frame: the frames of a pooled
		// head cost more than a small head's texts).
		s.pidx = s.pidx[:0]
		for _, sk := range s.skels {
			i, _ := s.pool.add(sk)
			s.pidx = append(s.pidx, i)
		}
		if sub, ok := pooledHead(s.head[:0], s.skels, s.pidx, ids, lv); ok {
			hl := len(sub)
			vars := append(s.vl, s.vb...)
			s.vl = vars
			sub = s.varsChunk(sub, vars, lv)
			s.head = sub
			return appendSkeletonBody(dst, sub, hl), true
		}
	}
	head := binary.AppendUvarint(s.head[:0], uint64(len(s.skels)))
	for _, sk := range s.skels {
		head = binary.AppendUvarint(head, uint64(len(sk)))
		head = append(head, sk...)
	}
	head = append(head, ids...)
	s.head = head
	vars := append(s.vl, s.vb...)
	s.vl = vars
	// The sub-chunks go to s.tmp (the ids are copied into head already).
	sub := s.headChunk(s.tmp[:0], head, lv)
	hl := len(sub)
	sub = s.varsChunk(sub, vars, lv)
	s.tmp = sub
	return appendSkeletonBody(dst, sub, hl), true
}

// headLen returns the length of the head body of s.skels and ids bytes
// of ids.
func (s *skeletoner) headLen(ids int) int {
	n := uvarintLen(uint64(len(s.skels))) + ids
	for _, sk := range s.skels {
		n += uvarintLen(uint64(len(sk))) + len(sk)
	}
	return n
}

// appendSkeletonBody appends the kindSkeleton chunk of sub (its head
// sub-chunk, hl bytes, then its vars sub-chunk) to dst.
func appendSkeletonBody(dst, sub []byte, hl int) []byte {
	return appendSkeletonChunk(dst, sub[:hl], sub[hl:])
}

// appendSkeleton appends the skeleton of template t to sk and its
// variables to s.vl and s.vb. Escapes and references are copied with the
// literal text around them (their code byte is never part of a run).
func (s *skeletoner) appendSkeleton(sk, t []byte) []byte {
	lit := 0
	for i := 0; i < len(t); {
		c := t[i]
		if c == tmplEsc {
			if i+1 < len(t) && t[i+1] == tmplVar {
				s.bad = true // not a template: kindTemplate keeps it as it is
			}
			i += 2
			continue
		}
		if wordClass[c] == 0 {
			i++
			continue
		}
		j, digit := i, uint8(0)
		for j < len(t) {
			k := wordClass[t[j]]
			if k == 0 {
				break
			}
			digit |= k
			j++
		}
		if digit&2 != 0 {
			sk = append(sk, t[lit:i]...)
			sk = append(sk, tmplEsc, tmplVar)
			if n := j - i; n < 0x80 {
				s.vl = append(s.vl, byte(n))
			} else {
				s.vl = binary.AppendUvarint(s.vl, uint64(n))
			}
			s.vb = append(s.vb, t[i:j]...)
			lit = j
		}
		i = j
	}
	return append(sk, t[lit:]...)
}

// wordClass is 0 for bytes that are not word bytes (token.IsWordByte), 1
// for word bytes but digits, 3 for digits.
var wordClass = func() (w [256]uint8) {
	for c := range w {
		switch {
		case c >= '0' && c <= '9':
			w[c] = 3
		case token.IsWordByte(byte(c)):
			w[c] = 1
		}
	}
	return w
}()

var errSkeleton = errors.New("bad skeleton chunk")

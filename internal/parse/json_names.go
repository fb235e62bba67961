package parse

import (
	"encoding/binary"
	"sync/atomic"
)

// nameInfo is an interned JSON member name with what the event decoder and
// the normalizer need to know of it, worked out once when the name enters
// the cache instead of by string switches for every member of every
// document: its rank among TimeKeys and MessageKeys, whether it is a
// metadata member, what it tells of the document's shape (shapeOf), what
// jsonMap makes of it and its rank among the host members.
type nameInfo struct {
	name     string
	w0, w1   uint64 // nameWords(name), for the cache's compare
	timeRank int8   // index in TimeKeys, -1 when not there
	msgRank  int8   // index in MessageKeys, -1 when not there
	flags    uint8  // nameMeta, nameWindows, nameCTSource, nameCTName
	hostRank uint8  // 1 host, 2 hostname, 3 host.name, 0 other
	// From jsonMap: the bit of the name among its ECS names (0: not one;
	// docRoles.have). The mappings from the name are in class.
	ecsBit uint64
	// class is what the decoder's consumers read of the name, by value:
	// the decoder keeps one per field (jsonScratch.infos).
	class nameClass
	role  bool // timeRank, msgRank, flags or ecsBit say something (docRoles.note)
	plain bool // no byte JSON escapes, so "name" is its JSON text
	// quoted is name and its closing quote as two little-endian words
	// and their masks (quoted[2:]), for a plain name under 16 bytes
	// (else all zero): object's guess is confirmed with two loads.
	quoted [4]uint64
	// member is the same for the name, its closing quote, ':' and the
	// opening quote of a string value, for a plain name under 14 bytes:
	// fastMembers takes a compact member with one compare.
	member [4]uint64
	// next is what followed this name at the top level (object's guess);
	// a hint shared by all decoders, rewritten when it guesses wrong.
	next nameHint
}

// nameHint is the top-level member names that followed a name: the last
// one that was not guessed (guess) and the one it replaced (alt), tried
// when guess is wrong. Sources that mix a few member orders (an app name
// followed by user in some documents and src_ip in others) then cost no
// misguess and no rewrite of the shared hint.
type nameHint struct {
	guess, alt atomic.Pointer[nameInfo]
}

// nameClass is what decodeJSONEvent, normalizeInfos and hostOf need to
// know of a field's name, copied out of its nameInfo when the field is
// emitted. It holds no pointers: the decoder appends one per member, and
// a slice of pointers would cost a GC write barrier per append (the GC is
// marking much of the time under a steady allocation rate) and a clear
// before the scratch goes back to its pool.
type nameClass struct {
	ecsLo, ecsHi uint16 // jsonMap.ents[ecsLo:ecsHi]: the mappings from the name
	ecsShift     uint8  // the name's bit among jsonMap's ECS names, when classECS
	timeRank     int8   // index in TimeKeys, -1 when not there
	// bits holds the name's flags (nameMeta...), its host rank
	// (bits>>classHostShift&3) and classECS.
	bits uint8
}

const (
	classHostShift = 4
	classECS       = 1 << 6 // the name is one of jsonMap's ECS names
)

// ecsBit is the name's bit among jsonMap's ECS names, 0 when not one.
func (c nameClass) ecsBit() uint64 { return uint64(c.bits>>6&1) << (c.ecsShift & 63) }

// mapped reports whether jsonMap maps the name to ECS names.
func (c nameClass) mapped() bool { return c.ecsHi != c.ecsLo }

// hostRank is 1 for host, 2 for hostname, 3 for host.name, else 0.
func (c nameClass) hostRank() uint8 { return c.bits >> classHostShift & 3 }

// meta reports whether the name is a metadata member (_source...).
func (c nameClass) meta() bool { return c.bits&nameMeta != 0 }

// firstName is the first top-level member names of the documents
// (object's first guess).
var firstName nameHint

const (
	nameMeta     = 1 << iota // _source, _host, _category, _partition
	nameWindows              // makes a Windows event (shapeOf)
	nameCTSource             // eventSource (CloudTrail)
	nameCTName               // eventName (CloudTrail)
)

func newNameInfo(s string) *nameInfo {
	in := &nameInfo{name: s}
	in.w0, in.w1 = nameWords(s)
	tr, mr := keyRanks(s)
	in.timeRank, in.msgRank = int8(tr), int8(mr)
	switch s {
	case "_source", "_host", "_category", "_partition":
		in.flags = nameMeta
	case "winlog.event_id", "Event.System.EventID", "Event.System.EventID.#text":
		in.flags = nameWindows
	case "eventSource":
		in.flags = nameCTSource
	case "eventName":
		in.flags = nameCTName
	case "host":
		in.hostRank = 1
	case "hostname":
		in.hostRank = 2
	case "host.name":
		in.hostRank = 3
	}

	in.plain = true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			in.plain = false
			break
		}
	}
	if in.plain && len(s) < 16 {
		in.quoted = quotedWords(s + `"`)
	}
	if in.plain && len(s) < 14 {
		in.member = quotedWords(s + `":"`)
	}
	if jsonMap != nil && s != "" {
		if ki := jsonMap.key(s, fieldHash(s)); ki != 0 {
			k := &jsonMap.keys[ki%fmMaxKeys]
			if k.target >= 0 {
				in.ecsBit = 1 << (uint8(k.target) & 63)
			}
			if k.lo < k.hi {
				in.class.ecsLo, in.class.ecsHi = k.lo, k.hi
			}
			if k.target >= 0 {
				in.class.ecsShift = uint8(k.target) & 63
				in.class.bits |= classECS
			}
		}
	}
	in.role = in.timeRank >= 0 || in.msgRank >= 0 || in.flags != 0 || in.ecsBit != 0
	in.class.timeRank = in.timeRank
	in.class.bits |= in.flags | in.hostRank<<classHostShift
	return in
}

// quotedWords returns s (at most 16 bytes) as two little-endian words
// and their masks (the last two), the words masked.
func quotedWords(s string) (q [4]uint64) {
	var b [16]byte
	copy(b[:], s)
	for i := 0; i < len(s); i++ {
		q[2+i/8] |= 0xff << (8 * (i % 8))
	}
	q[0], q[1] = binary.LittleEndian.Uint64(b[:])&q[2], binary.LittleEndian.Uint64(b[8:])&q[3]
	return q
}

// nameCache interns member names: documents of one source repeat the same
// few hundred names, so most lookups return an existing entry and the
// name costs no allocation. Entries are replaced on collision; the cache
// is safe for concurrent use.
var nameCache [4096]atomic.Pointer[nameInfo]

// internName returns the interned name b with its nameInfo.
func internName(b []byte) *nameInfo {
	// Names of one source share prefixes and differ at the end: hash the
	// length, the first byte and the last eight bytes. Shorter names are
	// read whole, without a loop: two overlapping 4-byte words, or three
	// bytes. The same words, with the length, identify a name of at most
	// 16 bytes (nameWords), so the hit is confirmed without a call.
	var w0, w1 uint64
	n := len(b)
	h := uint64(n) * 0x9E3779B97F4A7C15
	switch {
	case n >= 8:
		w0, w1 = binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[n-8:])
		h ^= w1*0xC2B2AE3D27D4EB4F ^ uint64(b[0])*0x165667B19E3779F9
	case n >= 4:
		w0, w1 = uint64(binary.LittleEndian.Uint32(b)), uint64(binary.LittleEndian.Uint32(b[n-4:]))
		h ^= w1*0xC2B2AE3D27D4EB4F ^ w0*0x165667B19E3779F9
	case n > 0:
		w0 = uint64(b[0]) | uint64(b[n/2])<<8 | uint64(b[n-1])<<16
		h ^= w0 * 0xC2B2AE3D27D4EB4F
	}
	h ^= h >> 29
	slot := &nameCache[h&uint64(len(nameCache)-1)]
	if in := slot.Load(); in != nil && len(in.name) == n && in.w0 == w0 && in.w1 == w1 && (n <= 16 || in.name == string(b)) {
		return in
	}
	in := newNameInfo(string(b))
	slot.Store(in)
	return in
}

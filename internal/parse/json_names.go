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
	// From jsonMap: the bit of the name among its ECS names (0: not one)
	// and the mappings from the name (normalizeInfos).
	ecsBit uint64
	ecs    []fmEntry
	role   bool // timeRank, msgRank or flags say something (docRoles.note)
	plain  bool // no byte JSON escapes, so "name" is its JSON text
	// quoted is name and its closing quote as two little-endian words
	// and their masks (quoted[2:]), for a plain name under 16 bytes
	// (else all zero): object's guess is confirmed with two loads.
	quoted [4]uint64
	// next is the top-level member name that followed this one in the
	// last document that had it (object's guess); a hint shared by all
	// decoders, rewritten when it guesses wrong.
	next atomic.Pointer[nameInfo]
}

// firstName is the name of the first top-level member of the last
// document (object's first guess).
var firstName atomic.Pointer[nameInfo]

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
	in.role = in.timeRank >= 0 || in.msgRank >= 0 || in.flags != 0
	in.plain = true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			in.plain = false
			break
		}
	}
	if in.plain && len(s) < 16 {
		var b [16]byte
		copy(b[:], s)
		b[len(s)] = '"'
		for i := 0; i <= len(s); i++ {
			in.quoted[2+i/8] |= 0xff << (8 * (i % 8))
		}
		in.quoted[0], in.quoted[1] = binary.LittleEndian.Uint64(b[:])&in.quoted[2], binary.LittleEndian.Uint64(b[8:])&in.quoted[3]
	}
	if jsonMap != nil && s != "" {
		if ki := jsonMap.key(s, fieldHash(s)); ki != 0 {
			k := &jsonMap.keys[ki%fmMaxKeys]
			if k.target >= 0 {
				in.ecsBit = 1 << (uint8(k.target) & 63)
			}
			if k.lo < k.hi {
				in.ecs = jsonMap.ents[k.lo:k.hi]
			}
		}
	}
	return in
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

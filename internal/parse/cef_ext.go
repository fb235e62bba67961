package parse

import (
	"math/bits"
	"strings"

	"github.com/mamori/mamori/internal/event"
)

// The CEF extension scanner: one pass over "k=v k2=v with spaces k3=v"
// that finds each '=' (a bitmap of 64 bytes at a time), decides whether
// the bytes before it are a key, and resolves the key against cefMap in
// the same step, so that normalization needs no look-up of its own.
//
// A value runs to the space before the next key= (or the end), less
// trailing spaces; "\=", "\\", "\n", "\r" are unescaped, and escapes never
// hide a space. The key before an '=' is the run of key bytes ending there;
// it counts when it is not empty and starts the extension or follows a
// space. Common keys are found by their length and last (and first) eight
// bytes in cefKnown, which also proves that all their bytes are key bytes;
// the rest are checked a byte at a time and looked up in cefMap.

// cefKeyInfo is what normalization needs to know of an extension key,
// packed in one word (a struct of four bytes costs a register each):
// byte 0 is the index in cefMap.ents of its first mapping, byte 1 the
// number of its mappings, byte 2 its flags (cefMapped, cefTarget, cefRT,
// cefHost; 0 when the key is none of cefMap's and not rt or host.name),
// byte 3 with cefTarget
// the key's index among cefMap's ECS names; bits 32 and up are its slot in
// cefKnown plus one (0 for other keys).
type cefKeyInfo uint64

func (k cefKeyInfo) target() uint32 { return uint32(k) >> 24 }

// name returns the key s[ks:ke]: for a key of cefKnown its name there, a
// string that is not on the heap (the write barriers and the collector
// skip it; the value is the same).
func (k cefKeyInfo) name(s string, ks, ke int) string {
	if sl := k >> 32; sl != 0 {
		return cefKnownName[(sl-1)%cefKnownSlots]
	}
	return s[ks:ke]
}

const (
	cefMapped = 1 << iota // the key maps to ECS names (n > 0)
	cefTarget             // the key is one of cefMap's ECS names
	cefRT                 // the key is "rt", the event time
	cefHost               // the key is "host.name" (see cefExt.host)
)

// cefPendingCap is how many mapped fields a CEF record may have, less one,
// for the fast normalization (a power of two); records with more (hostile
// ones) take normalize.
const cefPendingCap = 32

// cefExt collects, while a record is parsed, what normalization needs.
type cefExt struct {
	have uint64 // cefMap ECS names among the fields, one bit each
	np   int    // mapped fields seen
	rt   int    // index in ev.Fields of the first rt field; -1 when none
	// host: the record has a key host.name (never in cefKnown, so only
	// cefScan's slow path notes it); see cefParser.
	host bool
	// bs is the first backslash in the extension at or after the value
	// start (len(s) when none): values before it need no unescaping (see
	// cefScan).
	bs int
	// pending lists the mapped fields, in order: field index<<16 | the low
	// 16 bits of its cefKeyInfo (its mappings). cefNormalize takes the
	// slow path when an index needs more than 16 bits.
	pending [cefPendingCap]uint32
}

// note records that ev.Fields[i] has a key described by k. It is inlined
// in the scanner; keys that are neither mapped, nor ECS names, nor rt (a
// third to half of a record's) cost one test.
func (x *cefExt) note(i int, k cefKeyInfo) {
	if k&((cefMapped|cefTarget|cefRT)<<16) == 0 {
		return
	}
	if k&(cefMapped<<16) != 0 {
		// After cefPendingCap-1 mapped fields normalization ignores pending.
		x.pending[uint(x.np)%cefPendingCap] = uint32(i)<<16 | uint32(k&0xFFFF)
		x.np++
	}
	if k&((cefTarget|cefRT)<<16) != 0 { // rare
		if k&(cefTarget<<16) != 0 {
			x.have |= 1 << (k.target() & 63)
		}
		if k&(cefRT<<16) != 0 && x.rt < 0 {
			x.rt = i
		}
	}
}

// cefInfoOf looks name up in cefMap.
func cefInfoOf(name string) cefKeyInfo {
	var flags, lo, n, target uint32
	switch name {
	case "rt":
		flags |= cefRT
	case "host.name":
		flags |= cefHost
	}
	if name != "" && cefMap.lenFirst[min(len(name), 31)]&(1<<(name[0]&63)) != 0 {
		if ki := cefMap.key(name, fieldHash(name)); ki != 0 {
			key := &cefMap.keys[ki%fmMaxKeys]
			if key.lo < key.hi {
				flags |= cefMapped
				lo, n = uint32(key.lo), uint32(key.hi-key.lo)
			}
			if key.target >= 0 {
				flags |= cefTarget
				target = uint32(key.target)
			}
		}
	}
	return cefKeyInfo(lo | n<<8 | flags<<16 | target<<24)
}

// cefExtension parses an extension and appends its fields (LEEF reads
// space-separated attributes with it too).
func cefExtension(s string, ev *event.Event) {
	var x cefExt
	cefScan(s, -1, ev, &x)
}

// cefScan parses the extension s, appends its fields to ev and notes their
// keys in x. bs is the first backslash in s (len(s) when none), or -1 when
// not known. cefRun does the common work without a call; cefScan does the
// rest (keys not in cefKnown, values to trim or unescape, a full ev.Fields,
// the last block of fewer than 64 bytes) and lets it go on.
func cefScan(s string, bs int, ev *event.Event, x *cefExt) {
	if bs < 0 {
		bs = strings.IndexByte(s, '\\')
		if bs < 0 {
			bs = len(s)
		}
	}
	x.bs = bs
	var c cefCursor
	if !cefFirstKey(s, x, &c) {
		return
	}
	for {
		switch cefRun(s, ev, x, &c) {
		case cefRunTail:
			if c.base >= len(s) {
				cefAppend(s, c.ks, c.ke, len(s), &x.bs, c.k, ev, x)
				return
			}
			c.eq = eqBitsTail(s, c.base)
			continue
		case cefRunKey:
			// Slow path: the key bytes one at a time.
			p := c.j
			for p > 0 && cefKeyByte[s[p-1]] {
				p--
			}
			if p == c.j || (p > 0 && s[p-1] != ' ') {
				continue // not a key
			}
			c.p, c.nk = p, cefInfoOf(s[p:c.j])
			x.host = x.host || c.nk&(cefHost<<16) != 0
		}
		// A key at s[c.p:c.j] (cefRunKey, cefRunAppend): the value before
		// it ends at the space before it.
		cefAppend(s, c.ks, c.ke, c.p-1, &x.bs, c.k, ev, x)
		c.ks, c.ke, c.k = c.p, c.j, c.nk
	}
}

// cefFirstKey finds the first key of the extension s (nothing before it
// is a field) and sets c to go on after its '='. It reports false when s
// has no key.
func cefFirstKey(s string, x *cefExt, c *cefCursor) bool {
	// Fast path: a common key at the start. No space comes before it, so
	// cefRun would not find it in cefKnown.
	if len(s) >= 64 {
		eq := eqBlock(s, 0)
		j := bits.TrailingZeros64(eq)
		if uint(j-1) < 7 {
			// A short key, all in the first word.
			lw := load64(s, 0) & (1<<(8*uint(j)) - 1)
			for h := cefKnownHash(lw, j); ; h++ {
				e := &cefKnown[h%cefKnownSlots]
				if int(e.n) == j && e.lw == lw {
					c.base, c.eq, c.ks, c.ke, c.k = 0, eq&(eq-1), 0, j, e.info
					return true
				}
				if e.n == 0 {
					break
				}
			}
		} else if k, ok := cefKnownLong(s, j); ok {
			c.base, c.eq, c.ks, c.ke, c.k = 0, eq&(eq-1), 0, j, k
			return true
		}
	}
	// Slow path: the key bytes one at a time.
	for i := 0; ; {
		e := strings.IndexByte(s[i:], '=')
		if e < 0 {
			return false
		}
		j := i + e
		i = j + 1
		p := j
		for p > 0 && cefKeyByte[s[p-1]] {
			p--
		}
		if p == j || (p > 0 && s[p-1] != ' ') {
			continue // not a key
		}
		k := cefInfoOf(s[p:j])
		x.host = x.host || k&(cefHost<<16) != 0
		c.ks, c.ke, c.k = p, j, k
		// cefRun goes on with the '=' after j in its block.
		c.base = j &^ 63
		if c.base+64 <= len(s) {
			c.eq = eqBlock(s, c.base)
		} else {
			c.eq = eqBitsTail(s, c.base)
		}
		c.eq &^= 2<<uint(j&63) - 1
		return true
	}
}

// cefCursor is where cefRun stopped and why: cefScan's state.
type cefCursor struct {
	base   int    // the start of the block of 64 bytes whose '=' eq flags
	eq     uint64 // the '=' of that block not visited yet: bit i for s[base+i]
	ks, ke int    // the current key is s[ks:ke]; its value starts after the '=' at ke
	k      cefKeyInfo
	j      int        // the '=' cefRun stopped at (cefRunKey, cefRunAppend)
	p      int        // with cefRunAppend: its key starts here
	nk     cefKeyInfo // and is this one
}

// Why cefRun stopped.
const (
	cefRunTail   = iota // the next block is not whole: cefScan loads it, or ends
	cefRunKey           // the key before the '=' at j is not in cefKnown
	cefRunAppend        // the key s[p:j] (nk) follows a value that cefAppend must add
)

// cefRun scans s from c on: it finds each '=' from a bitmap of 64 bytes
// at a time (eight SWAR words, no branch), the key before it in cefKnown,
// and appends the field before that key when its own key is in cefKnown,
// its value needs no trimming or unescaping and ev.Fields has room. It makes no call (a call in Go
// spills every live register), so it stops for anything else and says
// why.
func cefRun(s string, ev *event.Event, x *cefExt, c *cefCursor) int {
	// The key's start is not kept: it is ke less the length of a key of
	// cefKnown, and an unknown key's field is appended by cefScan.
	base, eq, ke, k := c.base, c.eq, c.ke, c.k
	for {
		if eq == 0 {
			base += 64
			if base+64 > len(s) {
				c.save(base, eq, ke, k)
				return cefRunTail
			}
			// The '=' of the next 64 bytes: eqBlock written out (too big
			// to inline, and a call would spill the loop's registers).
			b := s[base : base+64]
			eq = eqBits(load64(b, 0)) | eqBits(load64(b, 8))<<8 | eqBits(load64(b, 16))<<16 | eqBits(load64(b, 24))<<24 |
				eqBits(load64(b, 32))<<32 | eqBits(load64(b, 40))<<40 | eqBits(load64(b, 48))<<48 | eqBits(load64(b, 56))<<56
			continue
		}
		j := base + bits.TrailingZeros64(eq)
		eq &= eq - 1
		// s[j] is '=': is there a key before it? A common key after a
		// space is found in cefKnown by its length and words (which proves
		// it is all key bytes); cefScan looks for the others.
		if j < 8 {
			c.save(base, eq, ke, k)
			c.j = j
			return cefRunKey
		}
		var p int
		var nk cefKeyInfo
		w := load64(s, j-8)
		if m := spaceMask(w); m != 0 {
			n := bits.LeadingZeros64(m) >> 3 // the bytes after the last space
			if n == 0 {
				continue // a space before the '='
			}
			lw := w >> (64 - 8*uint(n))
			for h := cefKnownHash(lw, n); ; h++ {
				e := &cefKnown[h%cefKnownSlots]
				if int(e.n) == n && e.lw == lw {
					p, nk = j-n, e.info
					goto found
				}
				if e.n == 0 {
					c.save(base, eq, ke, k)
					c.j = j
					return cefRunKey
				}
			}
		} else {
			// A key of 8 bytes or more: the slots of its last 8.
			for h := cefKnownHash(w, 0); ; h++ {
				e := &cefKnown[h%cefKnownSlots]
				if n := int(e.n); e.lw == w && n >= 8 && n < j && s[j-n-1] == ' ' && load64(s, j-n) == e.fw {
					// Names over 16 bytes: the middle words too.
					name := cefKnownName[h%cefKnownSlots]
					o := 8
					for ; o < n-8 && load64(s, j-n+o) == load64(name, o); o += 8 {
					}
					if o >= n-8 {
						p, nk = j-n, e.info
						goto found
					}
				}
				if e.n == 0 {
					c.save(base, eq, ke, k)
					c.j = j
					return cefRunKey
				}
			}
		}
	found:
		// The value ends at the space before the key (p-1 > ke).
		end := p - 1
		n := len(ev.Fields)
		if end == ke+1 || s[end-1] == ' ' || x.bs < end || n == cap(ev.Fields) || k>>32 == 0 {
			c.save(base, eq, ke, k)
			c.j, c.p, c.nk = j, p, nk
			return cefRunAppend
		}
		ev.Fields = ev.Fields[:n+1]
		ev.Fields[n] = event.Field{Name: cefKnownName[(k>>32-1)%cefKnownSlots], Value: s[ke+1 : end]}
		x.note(n, k)
		ke, k = j, nk
	}
}

// save stores cefRun's state in c: the key's start, c.ks, is known from
// a key of cefKnown's length, and unchanged for other keys (cefRun stops
// before it passes one).
func (c *cefCursor) save(base int, eq uint64, ke int, k cefKeyInfo) {
	c.base, c.eq, c.ke, c.k = base, eq, ke, k
	if sl := k >> 32; sl != 0 {
		c.ks = ke - len(cefKnownName[(sl-1)%cefKnownSlots])
	}
}

// cefAppend appends the field s[ks:ke] = s[ke+1:end] less trailing spaces,
// unescaped when it has a backslash, unless the value is empty. bs is the
// first backslash at or after ke+1, or before ke+1 when not known yet.
func cefAppend(s string, ks, ke, end int, bs *int, k cefKeyInfo, ev *event.Event, x *cefExt) {
	start := ke + 1
	for end > start && s[end-1] == ' ' {
		end--
	}
	if end == start {
		return
	}
	v := s[start:end]
	if *bs < start {
		*bs = len(s)
		if i := strings.IndexByte(s[start:], '\\'); i >= 0 {
			*bs = start + i
		}
	}
	if *bs < end {
		v = unescapeCEF(v, false)
	}
	ev.Fields = append(ev.Fields, event.Field{Name: k.name(s, ks, ke), Value: v})
	x.note(len(ev.Fields)-1, k)
}

// eqBlock returns the '=' of s[base:base+64], one bit each (bit i for
// s[base+i]): eight SWAR words, no branch.
func eqBlock(s string, base int) uint64 {
	b := s[base : base+64]
	return eqBits(load64(b, 0)) | eqBits(load64(b, 8))<<8 | eqBits(load64(b, 16))<<16 | eqBits(load64(b, 24))<<24 |
		eqBits(load64(b, 32))<<32 | eqBits(load64(b, 40))<<40 | eqBits(load64(b, 48))<<48 | eqBits(load64(b, 56))<<56
}

// cefKnownLong returns the cefKnown entry of the key s[:j] of 8 bytes or
// more, if it has one (cefFirstKey's long keys).
func cefKnownLong(s string, j int) (cefKeyInfo, bool) {
	if j < 8 || j > 31 || j > len(s) {
		return 0, false
	}
	lw, fw := load64(s, j-8), load64(s, 0)
	for h := cefKnownHash(lw, 0); ; h++ { // by their last 8 bytes alone (see init)
		e := &cefKnown[h%cefKnownSlots]
		if e.n == 0 {
			return 0, false
		}
		if int(e.n) == j && e.lw == lw && e.fw == fw && (j <= 16 || cefKnownName[h%cefKnownSlots] == s[:j]) {
			return e.info, true
		}
	}
}

// eqBits returns a bit for each byte of w, set for '=' (bit i for byte i).
func eqBits(w uint64) uint64 {
	return byteMask(w, '=') * 0x0002040810204081 >> 56 // gathers the high bits
}

// eqBitsTail is the '=' bits of s[i:i+64] when fewer than 64 bytes remain.
func eqBitsTail(s string, i int) uint64 {
	var eq uint64
	for o := 0; o < 64 && i+o < len(s); o += 8 {
		eq |= eqBits(loadTail(s, i+o)) << o
	}
	return eq
}

// loadTail returns the bytes s[i:i+8], or s[i:] padded with zeros when
// fewer remain, as a little-endian word.
func loadTail(s string, i int) uint64 {
	if i+8 <= len(s) {
		return load64(s, i)
	}
	if len(s) >= 8 {
		return load64(s, len(s)-8) >> (8 * uint(i+8-len(s)))
	}
	var w uint64
	for k := len(s) - 1; k >= i; k-- {
		w = w<<8 | uint64(s[k])
	}
	return w
}

// spaceMask flags (with its high bit) exactly the bytes of w that are ' '.
func spaceMask(w uint64) uint64 {
	const lo7 = 0x7F7F7F7F7F7F7F7F
	x := w ^ 0x2020202020202020
	return ^((x&lo7 + lo7) | x | lo7)
}

// cefKnownKey is a slot of cefKnown: a common extension key, identified by
// its length and its last and first eight bytes (the name itself is
// compared for keys longer than 16 bytes).
type cefKnownKey struct {
	lw, fw uint64     // last 8 bytes (all of a shorter name), first 8 (0 when shorter)
	n      uint8      // length; 0 for an empty slot
	info   cefKeyInfo // with the slot (see cefKeyInfo)
}

// cefKnownSlots is the size of cefKnown (a power of two, at most 256).
const cefKnownSlots = 256

var (
	cefKnown     [cefKnownSlots]cefKnownKey
	cefKnownName [cefKnownSlots]string
)

func cefKnownHash(lw uint64, n int) uint {
	return uint((lw ^ uint64(n)) * 0x9E3779B97F4A7C15 >> 56)
}

// cefKeyWords returns a name's lw and fw (see cefKnownKey).
func cefKeyWords(name string) (lw, fw uint64) {
	if n := len(name); n >= 8 {
		return load64(name, n-8), load64(name, 0)
	}
	for i := len(name) - 1; i >= 0; i-- {
		lw = lw<<8 | uint64(name[i])
	}
	return lw, 0
}

// cefStandardKeys are the extension keys of the ArcSight CEF dictionary
// that senders use most (besides cefMap's, which are added too).
var cefStandardKeys = []string{
	"act", "app", "cat", "cnt", "msg", "rt", "start", "end", "reason", "type", "externalId",
	"cs1", "cs2", "cs3", "cs4", "cs5", "cs6", "cn1", "cn2", "cn3", "cfp1", "cfp2", "cfp3", "cfp4",
	"cs1Label", "cs2Label", "cs3Label", "cs4Label", "cs5Label", "cs6Label", "cn1Label", "cn2Label", "cn3Label",
	"cfp1Label", "cfp2Label", "cfp3Label", "cfp4Label", "c6a1", "c6a2", "c6a3", "c6a4",
	"c6a1Label", "c6a2Label", "c6a3Label", "c6a4Label", "flexString1", "flexString1Label",
	"flexString2", "flexString2Label", "deviceCustomDate1", "deviceCustomDate1Label",
	"deviceCustomDate2", "deviceCustomDate2Label",
	"dntdom", "sntdom", "dpid", "dproc", "dpriv", "spriv", "duid", "suid", "dtz", "dvcmac", "dvcpid",
	"fsize", "fileId", "fileType", "filePermission", "fileCreateTime", "fileModificationTime",
	"oldFileName", "oldFilePath", "oldFileHash", "oldFileSize", "oldFileId", "oldFileType",
	"deviceDirection", "deviceDnsDomain", "deviceFacility", "deviceInboundInterface",
	"deviceOutboundInterface", "deviceNtDomain", "deviceProcessName", "deviceTranslatedAddress",
	"devicePayloadId", "deviceZoneURI", "destinationDnsDomain", "destinationServiceName",
	"sourceDnsDomain", "sourceServiceName", "sourceZoneURI", "destinationZoneURI",
	"requestContext", "requestCookies", "requestURL", "agentZoneURI", "art",
}

func init() {
	if len(cefMap.ents) > 256 {
		panic("BUG: cefMap has more than 256 mappings") // cefKeyInfo holds their indexes in a byte
	}
	add := func(name string) {
		if name == "host.name" {
			// cefMap's names and the common keys are added: neither may be
			// host.name, or cefParser would miss it (see cefExt.host).
			panic("BUG: host.name among the CEF keys")
		}
		n := len(name)
		if n == 0 || n > 31 {
			panic("BUG: CEF key " + name + " is empty or longer than 31 bytes")
		}
		for i := 0; i < n; i++ {
			if !cefKeyByte[name[i]] {
				panic("BUG: CEF key " + name + " has a byte that is not a key byte")
			}
		}
		lw, fw := cefKeyWords(name)
		hn := n // keys of 8 bytes or more by their last 8 alone (see cefScan)
		if n >= 8 {
			hn = 0
		}
		for h := cefKnownHash(lw, hn); ; h++ {
			c := &cefKnown[h%cefKnownSlots]
			if c.n == 0 {
				*c = cefKnownKey{lw: lw, fw: fw, n: uint8(n), info: cefInfoOf(name) | cefKeyInfo(h%cefKnownSlots+1)<<32}
				cefKnownName[h%cefKnownSlots] = name
				return
			}
			if cefKnownName[h%cefKnownSlots] == name {
				return // listed twice
			}
		}
	}
	used := 0
	for _, name := range cefStandardKeys {
		add(name)
	}
	for _, m := range cefMap.table {
		if len(m.from) <= 31 && !hasPrefix(m.from, "cef.") {
			add(m.from)
		}
		if len(m.to) <= 31 {
			add(m.to)
		}
	}
	for _, c := range cefKnown {
		if c.n != 0 {
			used++
		}
	}
	if used > cefKnownSlots*3/4 {
		panic("BUG: cefKnown is too full")
	}
}

// cefHeaderInfo describes the header field names.
var cefHeaderInfo = func() (t [len(cefHeaderNames)]cefKeyInfo) {
	for k, name := range cefHeaderNames {
		t[k] = cefInfoOf(name)
	}
	return t
}()

// cefTargetFirst and cefTargetLast filter names that may be one of
// cefMap's ECS names: bit c&63 of [min(len, 31)] is set for the first
// (last) byte c of each.
var cefTargetFirst, cefTargetLast = func() (first, last [32]uint64) {
	for _, m := range cefMap.table {
		n := min(len(m.to), 31)
		first[n] |= 1 << (m.to[0] & 63)
		last[n] |= 1 << (m.to[len(m.to)-1] & 63)
	}
	return first, last
}()

// cefPrefixHave returns which of cefMap's ECS names (one bit each) are
// among fs, the fields the event had before its CEF record (a syslog
// header's, a receiver's): few pass the filter, none of the syslog ones.
func cefPrefixHave(fs []event.Field) (have uint64) {
	for i := range fs {
		name := fs[i].Name
		if name == "" {
			continue
		}
		n := min(len(name), 31)
		if cefTargetFirst[n]&(1<<(name[0]&63)) == 0 || cefTargetLast[n]&(1<<(name[len(name)-1]&63)) == 0 {
			continue
		}
		if ki := cefMap.key(name, fieldHash(name)); ki != 0 {
			if t := cefMap.keys[ki%fmMaxKeys].target; t >= 0 {
				have |= 1 << (uint8(t) & 63)
			}
		}
	}
	return have
}

package query

import (
	"bytes"
	"encoding/binary"
	"slices"
	"sync"
	"unsafe"

	"github.com/mamori/mamori/internal/store"
)

// dictScratch holds the buffers a block's dictionary decisions decode
// into (store.BufLoader), so a scan does not allocate codes, values and
// addresses per block. A result loaded into it is used up before the next
// load: one scratch serves every conjunct of a block.
type dictScratch struct {
	buf store.DictBuf
}

var dictScratchPool = sync.Pool{New: func() any { return new(dictScratch) }}

func getDictScratch() *dictScratch { return dictScratchPool.Get().(*dictScratch) }

func putDictScratch(ds *dictScratch) { dictScratchPool.Put(ds) }

// loadDictTo loads column name as codes, into buf when the block can.
func loadDictTo(cl store.ColumnLoader, name string, buf *store.DictBuf) (*store.DictColumn, error) {
	if bl, ok := cl.(store.BufLoader); ok {
		return bl.LoadDictTo(name, buf)
	}
	return cl.LoadDict(name)
}

// loadDictBytes loads column name as codes, leaving codes of one byte as
// stored when the block can (store.BufLoader.LoadDictBytes): codes8 is
// then set and dc.Codes nil.
func loadDictBytes(cl store.ColumnLoader, name string, buf *store.DictBuf) (dc *store.DictColumn, codes8 []byte, err error) {
	if bl, ok := cl.(store.BufLoader); ok {
		return bl.LoadDictBytes(name, buf)
	}
	dc, err = cl.LoadDict(name)
	return dc, nil, err
}

// loadDictCodes is loadDictBytes that leaves bit-packed codes packed
// when the block can (store.BufLoader.LoadDictCodes): packed is then set
// and codes8 and dc.Codes nil.
func loadDictCodes(cl store.ColumnLoader, name string, buf *store.DictBuf) (dc *store.DictColumn, codes8 []byte, packed *store.PackedCodes, err error) {
	if bl, ok := cl.(store.BufLoader); ok {
		return bl.LoadDictCodes(name, buf)
	}
	dc, err = cl.LoadDict(name)
	return dc, nil, nil, err
}

// loadIPv4To loads column name as addresses, into buf when the block can.
func loadIPv4To(il store.IPv4Loader, name string, buf *store.DictBuf) (*store.IPv4Column, error) {
	if bl, ok := il.(store.BufLoader); ok {
		return bl.LoadIPv4To(name, buf)
	}
	return il.LoadIPv4(name)
}

// countAllowed returns the number of rows whose code passes (allow, by
// code; codes beyond it do not).
func countAllowed[C uint8 | uint16](codes []C, allow []bool) int64 {
	// One value (field=value): compare codes.
	one, ok := oneAllowed(allow)
	if !slices.Contains(allow, true) {
		return 0
	}
	var n int64
	if ok {
		if one > int(^C(0)) {
			return 0
		}
		if c8, ok := any(codes).([]uint8); ok {
			return int64(bytes.Count(c8, []byte{byte(one)}))
		}
		want := C(one)
		for _, c := range codes {
			if c == want {
				n++
			}
		}
		return n
	}
	for _, c := range codes {
		if int(c) < len(allow) && allow[c] {
			n++
		}
	}
	return n
}

// markCodes sets keep[i] (set) or narrows it (!set) to whether code
// codes[i] passes (allow, by code; codes beyond it do not), without
// branches, and reports whether any row is left. len(keep) is
// len(codes).
func markCodes[C uint8 | uint16](keep []bool, codes []C, allow []bool, set bool) bool {
	if len(allow) == 0 {
		clear(keep)
		return false
	}
	if c8, ok := any(codes).([]uint8); ok {
		if one, ok := oneAllowed(allow); ok && one < 256 {
			return markEq8(keep, c8, byte(one), set)
		}
	}
	// Bools are bytes of 0 or 1: and them as bytes.
	k8, a8 := boolBytes(keep), boolBytes(allow)
	last := len(a8) - 1
	hit := byte(0)
	k8 = k8[:len(codes)]
	if set {
		for i, c := range codes {
			k := a8[min(int(c), last)] & b2u(int(c) <= last)
			k8[i] = k
			hit |= k
		}
	} else {
		for i, c := range codes {
			k := k8[i] & a8[min(int(c), last)] & b2u(int(c) <= last)
			k8[i] = k
			hit |= k
		}
	}
	return hit != 0
}

// oneAllowed returns the code when exactly one passes.
func oneAllowed(allow []bool) (int, bool) {
	one, k := -1, 0
	for c, a := range allow {
		if a {
			one, k = c, k+1
		}
	}
	return one, k == 1
}

// markEq8 is markCodes for one passing code c of codes of one byte,
// eight rows at a time.
func markEq8(keep []bool, codes []byte, c byte, set bool) bool {
	const lo7, hi = 0x7f7f7f7f7f7f7f7f, 0x0101010101010101
	k8 := boolBytes(keep)[:len(codes)]
	pat := uint64(c) * hi
	var hit uint64
	i := 0
	for ; i+8 <= len(codes); i += 8 {
		x := binary.LittleEndian.Uint64(codes[i:]) ^ pat
		// The high bit of each zero byte of x, moved to its low bit.
		m := ^((x&lo7 + lo7) | x | lo7) >> 7
		if !set {
			m &= binary.LittleEndian.Uint64(k8[i:])
		}
		binary.LittleEndian.PutUint64(k8[i:], m)
		hit |= m
	}
	for ; i < len(codes); i++ {
		k := b2u(codes[i] == c)
		if !set {
			k &= k8[i]
		}
		k8[i] = k
		hit |= uint64(k)
	}
	return hit != 0
}

// boolBytes returns b's bools as the bytes they are (0 or 1).
func boolBytes(b []bool) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(b))), len(b)) // #nosec G103 -- a bool is one byte, 0 or 1
}

// b2u is 1 for true, else 0.
func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}

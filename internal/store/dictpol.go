package store

import (
	"encoding/binary"
	"slices"
)

// Dictionary policy. A column is stored as a dictionary in two steps:
//
//  1. small: at most smallDict distinct values and at most rows/4 (the
//     policy of part versions 1 and 2);
//  2. large, when the kinds that beat a dictionary (ipv4) declined: up to
//     maxDict distinct values and at most a third of the present rows.
//
// Measured on the bench data's blocks (zstd at the higher level): a
// dictionary of user names (a tenth to a third of the present rows
// distinct) is 30% smaller than the plain values, and lets the query
// engine decide user=x and count by user per code, and blooms prune
// user=x exactly; one of addresses (a third to a half distinct) is 5-18%
// smaller or 2-7% larger depending on the stream, which its exact bloom
// keys (11 bits per distinct value) eat; nearly unique values (pids) take
// up to twice the bytes. The second step also gives up as soon as the
// first smallDict+1 distinct values came with fewer than dictMinRepeats
// repeats, so nearly unique columns (request ids, hashes, pids) cost no
// more than before, and on decimal integers, which compress better as
// plain text.
const (
	smallDict      = 256
	maxDict        = 65535 // DictColumn.Codes are uint16: code n+1 must fit
	dictMinRepeats = 8
)

// dictBuilder codes one column's values; encode may be called again with
// a larger limit and continues where the previous call stopped.
type dictBuilder struct {
	idx     map[string]int
	dict    []string
	codes   []byte
	pos     int // next row to code
	present int // present rows among the first pos
	last    string
	lastJ   int
	failed  bool
	// wantCodes: rowCodes gets each row's code too (0 absent, else
	// index+1; colDict).
	wantCodes bool
	rowCodes  []uint32
}

// encode codes vals with at most maxN distinct values, by the first step's
// rules when small is set, else by the second's. It returns the kindDict
// body, or false.
func (db *dictBuilder) encode(vals []string, absent []bool, maxN int, small bool) ([]byte, bool) {
	if len(vals) < 16 || db.failed {
		return nil, false
	}
	if db.idx == nil {
		db.idx = make(map[string]int, 64)
		db.codes = make([]byte, 0, len(vals))
		db.lastJ = -1
		if db.wantCodes {
			db.rowCodes = slices.Grow(db.rowCodes[:0], len(vals))
		}
	}
	if !small && (len(db.dict) >= smallDict && db.present-len(db.dict) < dictMinRepeats || db.numeric()) {
		db.failed = true
		return nil, false
	}
	limit := min(maxN, len(vals)/4+1)
	if !small {
		limit = min(maxN, len(vals)/3+1)
	}
	for i := db.pos; i < len(vals); i++ {
		if absent != nil && absent[i] {
			db.codes = append(db.codes, 0)
			if db.wantCodes {
				db.rowCodes = append(db.rowCodes, 0)
			}
			continue
		}
		v := vals[i]
		// Fast path: rows of a stream repeat the previous row's value.
		j := db.lastJ
		if j < 0 || v != db.last {
			var ok bool
			j, ok = db.idx[v]
			if !ok {
				if len(db.dict) >= limit {
					db.pos = i
					if !small {
						db.failed = true
					}
					return nil, false
				}
				j = len(db.dict)
				db.idx[v] = j
				db.dict = append(db.dict, v)
			}
			db.last, db.lastJ = v, j
		}
		db.present++
		db.codes = binary.AppendUvarint(db.codes, uint64(j+1))
		if db.wantCodes {
			db.rowCodes = append(db.rowCodes, uint32(j+1))
		}
	}
	db.pos = len(vals)
	if !small && len(db.dict) > db.present/3 {
		db.failed = true
		return nil, false
	}
	b := binary.AppendUvarint(make([]byte, 0, len(db.codes)+16*len(db.dict)+4), uint64(len(db.dict)))
	for _, v := range db.dict {
		b = appendStr(b, v)
	}
	return append(b, db.codes...), true
}

// numeric reports whether the distinct values met so far look like
// decimal integers (times, counters, ids): zstd compresses their plain
// text better than a large dictionary's codes (measured on _received).
func (db *dictBuilder) numeric() bool {
	n := len(db.dict)
	if n == 0 {
		return false
	}
	for _, v := range [...]string{db.dict[0], db.dict[n/2], db.dict[n-1]} {
		if _, ok := isCanonicalInt(v); !ok {
			return false
		}
	}
	return true
}

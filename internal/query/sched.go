package query

import (
	"math"
	"slices"

	"github.com/mamori/mamori/internal/store"
)

// largestFirst returns refs (a copy) ordered by rows, most first, for
// workers that take blocks in turn and whose results do not depend on
// the order (aggregations): a large block taken last would leave the
// other workers idle while it is scanned. With one worker refs is
// returned as is.
func largestFirst(refs []store.BlockRef, workers int) []store.BlockRef {
	if workers <= 1 || len(refs) <= workers {
		return refs
	}
	// One uint64 a block: rows descending in the high half, the index in
	// the low half (ties keep the given order), sorted without moving
	// interface values around (no write barriers, no stable merge).
	keys := make([]uint64, len(refs))
	for i, r := range refs {
		rows := uint64(min(max(r.Rows(), 0), math.MaxUint32)) // #nosec G115 -- clamped to 32 bits
		keys[i] = (math.MaxUint32-rows)<<32 | uint64(i)       // #nosec G115 -- i < len(refs)
	}
	slices.Sort(keys)
	out := make([]store.BlockRef, len(refs))
	for i, k := range keys {
		out[i] = refs[uint32(k)] // #nosec G115 -- the low half is the index
	}
	return out
}

package query

import (
	"cmp"
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
	type sized struct {
		ref  store.BlockRef
		rows int
	}
	s := make([]sized, len(refs))
	for i, r := range refs {
		s[i] = sized{r, r.Rows()}
	}
	slices.SortStableFunc(s, func(a, b sized) int { return cmp.Compare(b.rows, a.rows) })
	out := make([]store.BlockRef, len(refs))
	for i := range s {
		out[i] = s[i].ref
	}
	return out
}

package store

// Read-only views of a block's skeleton pool for the query side: a
// search decides a pooled skeleton's text once per part and keeps the
// decision in an array indexed by pool entry (query phrase_plan.go).

// SkeletonPool returns the process-unique id of the pool the block's
// skeletons come from (the id part of SkeletonKey) and its number of
// entries; 0, 0 when the block's skeletons are not pooled (part versions
// before 6, heads past a pool's cap, blocks without skeletons). The
// pooled skeletons of every block of a part with that id are entries
// [0, entries) of the same pool: an entry is the same text in each.
func (t *RawTemplates) SkeletonPool() (id uint64, entries int) {
	if t.sb == nil || t.sb.pool == nil || len(t.sb.pidx) != len(t.sb.skels) {
		return 0, 0
	}
	return t.sb.pool.id, t.sb.pool.entries()
}

// SkeletonEntry returns the pool entry of skeleton id (as Skeleton) of a
// block whose SkeletonPool is not 0: Skeleton(id) is that entry's text.
// -1 when the block is not pooled or id is out of range.
func (t *RawTemplates) SkeletonEntry(id int) int {
	if t.sb == nil || t.sb.pool == nil || id < 0 || id >= len(t.sb.pidx) {
		return -1
	}
	return int(t.sb.pidx[id])
}

// SkeletonIDs returns the skeleton of each row of a block with skeletons
// (Skeletons > 0) as SkeletonOf(row) + 1 (0: the row has none), a view
// valid while the block is: a search walks it in tight loops instead of
// asking row by row. Nil for a block without skeletons.
func (t *RawTemplates) SkeletonIDs() []uint32 {
	if t.sb == nil || len(t.sb.ids) < t.rows {
		return nil
	}
	return t.sb.ids[:t.rows:t.rows]
}

package store

// varsChunk appends the vars sub-chunk of a kindSkeleton chunk (see
// enc_skel.go) to dst; dec_skel_vars.go reads it. A body large enough to
// be framed carries the filters of its long variables (vars_filter.go)
// and the refs summary of the skeletons s.skels (needle_refs.go).
func (s *skeletoner) varsChunk(dst, vars []byte, lv level) []byte {
	if varsFilterOff {
		return encodeChunk(dst, kindSkeleton, vars, lv)
	}
	if out, ok := appendFilteredVars(dst, vars, s.skels, lv); ok {
		return out
	}
	return encodeChunk(dst, kindSkeleton, vars, lv)
}

// varsFilterOff makes writers leave the filters out (tests of parts
// written before them); varsRefsOff leaves the refs summaries out (parts
// written before session 8).
var varsFilterOff, varsRefsOff bool

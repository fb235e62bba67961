package store

// varsChunk appends the vars sub-chunk of a kindSkeleton chunk (see
// enc_skel.go) to dst; dec_skel_vars.go reads it.
func (s *skeletoner) varsChunk(dst, vars []byte, lv level) []byte {
	return encodeChunk(dst, kindSkeleton, vars, lv)
}

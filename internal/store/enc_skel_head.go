package store

// headChunk appends the head sub-chunk of a kindSkeleton chunk (see
// enc_skel.go) to dst; dec_skel.go reads it.
func (s *skeletoner) headChunk(dst, head []byte, lv level) []byte {
	return encodeChunk(dst, kindSkeleton, head, lv)
}

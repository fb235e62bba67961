package store

// headChunk appends the head sub-chunk of a kindSkeleton chunk (see
// enc_skel.go) to dst: grouped (codecGrouped, rowload_head.go) when it
// pays, else one frame. dec_skel.go reads it whole, rowload_skel.go by
// rows.
func (s *skeletoner) headChunk(dst, head []byte, lv level) []byte {
	if out, ok := groupedHead(dst, head, lv); ok {
		return out
	}
	return encodeChunk(dst, kindSkeleton, head, lv)
}

package store

// Packed dictionaries (codecPacked, part version 5): a kindDict chunk of
// a few values whose codes are bit-packed instead of compressed, so that
// reading them costs no zstd frame. Not written yet.

import "errors"

// packedDictChunk appends body, a kindDict body of rows rows, to dst as a
// codecPacked chunk and reports true, or reports false (dst unchanged)
// when packing does not apply.
func packedDictChunk(dst []byte, body []byte, rows int) ([]byte, bool) {
	return dst, false
}

// unpackDictBody decodes a codecPacked body into the kindDict body of n
// bytes it stands for (data follows the chunk's length), like
// chunkBodyTo.
func unpackDictBody(kind byte, data []byte, n uint64, sc *colScratch) (byte, string, error) {
	return 0, "", errors.New("packed dictionaries are not supported yet")
}

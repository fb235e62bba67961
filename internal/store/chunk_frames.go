package store

// Framed chunks (codecFramed, part version 5): a compressed body cut into
// independently decodable zstd frames, so that a row-wise load decodes
// only the frames holding the rows it reads. Not written yet.

import "errors"

// framedChunk appends kind's chunk of body to dst as codecFramed and
// reports true, or reports false (dst unchanged) when body is better
// stored in one frame.
func framedChunk(dst []byte, kind byte, body []byte, lv level) ([]byte, bool) {
	return dst, false
}

// unframeBody decodes a whole codecFramed body of n bytes (data follows
// the chunk's length) into sc's buffer, like chunkBodyTo.
func unframeBody(kind byte, data []byte, n uint64, sc *colScratch) (byte, string, error) {
	return 0, "", errors.New("framed chunks are not supported yet")
}

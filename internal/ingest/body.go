package ingest

import (
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// BodyLimits bounds what one HTTP request may send.
type BodyLimits struct {
	// MaxBytes is the largest body on the wire (compressed); default 64 MiB.
	MaxBytes int64
	// MaxDecodedBytes is the largest body after decompression; default
	// 8 × MaxBytes, which also bounds the decompression ratio (zip bombs).
	MaxDecodedBytes int64
}

func (l BodyLimits) withDefaults() BodyLimits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 64 << 20
	}
	if l.MaxDecodedBytes <= 0 {
		l.MaxDecodedBytes = 8 * l.MaxBytes
	}
	return l
}

// ErrTooLarge is returned (wrapped) by readers from OpenBody when the body
// exceeds a limit: the API answers 413.
var ErrTooLarge = errors.New("request body too large")

// ErrBadEncoding is returned for an unknown Content-Encoding or a body that
// does not decompress: the API answers 400 (415 for the unknown encoding).
var ErrBadEncoding = errors.New("bad content encoding")

// OpenBody returns the decompressed request body (Content-Encoding gzip,
// x-gzip, zstd, deflate or identity), enforcing lim. Close the result.
// Errors from its Read wrap ErrTooLarge or ErrBadEncoding.
func OpenBody(w http.ResponseWriter, r *http.Request, lim BodyLimits) (io.ReadCloser, error) {
	lim = lim.withDefaults()
	if r.ContentLength > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, r.ContentLength, lim.MaxBytes)
	}
	wire := http.MaxBytesReader(w, r.Body, lim.MaxBytes)
	var dec io.Reader
	var closer func()
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		dec = wire
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(wire)
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %v", ErrBadEncoding, mapWireErr(err, lim))
		}
		dec, closer = zr, func() { zr.Close() }
	case "zstd":
		zr, err := zstd.NewReader(wire, zstd.WithDecoderMaxMemory(uint64(lim.MaxDecodedBytes)), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("%w: zstd: %v", ErrBadEncoding, err)
		}
		dec, closer = zr, zr.Close
	case "deflate":
		zr, err := zlib.NewReader(wire)
		if err != nil {
			return nil, fmt.Errorf("%w: deflate: %v", ErrBadEncoding, mapWireErr(err, lim))
		}
		dec, closer = zr, func() { zr.Close() }
	default:
		return nil, fmt.Errorf("%w: unsupported Content-Encoding %q (use gzip, zstd or deflate)", ErrBadEncoding, enc)
	}
	b := &body{r: dec, wire: wire, closer: closer, left: lim.MaxDecodedBytes, lim: lim, compressed: dec != io.Reader(wire), size: -1}
	if !b.compressed && r.ContentLength >= 0 {
		b.size = r.ContentLength
	}
	return b, nil
}

type body struct {
	r          io.Reader
	wire       io.ReadCloser
	closer     func()
	left       int64
	lim        BodyLimits
	compressed bool
	// size is the decoded length when known in advance (an uncompressed
	// body with a Content-Length), else -1: a hint for DecodeLines.
	size int64
}

func (b *body) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, fmt.Errorf("%w: more than %d bytes after decompression", ErrTooLarge, b.lim.MaxDecodedBytes)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if err != nil && err != io.EOF {
		err = mapWireErr(err, b.lim)
		if b.compressed && !errors.Is(err, ErrTooLarge) {
			err = fmt.Errorf("%w: %v", ErrBadEncoding, err)
		}
	}
	return n, err
}

func (b *body) Close() error {
	if b.closer != nil {
		b.closer()
	}
	return b.wire.Close()
}

func mapWireErr(err error, lim BodyLimits) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fmt.Errorf("%w: more than %d bytes", ErrTooLarge, lim.MaxBytes)
	}
	return err
}

package store

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"strings"
	"testing"
)

// TestChunkBodyLengthLies: a zstd chunk whose header claims far more bytes
// than its body can hold is an error, and is refused without allocating
// what the header claims; a valid body that expands more than the presize
// limit still decodes.
func TestChunkBodyLengthLies(t *testing.T) {
	initCodecs()
	body := []byte(strings.Repeat("a", 1000))
	packed := encoders[levelFast].EncodeAll(body, nil)
	chunk := func(n uint64) []byte {
		c := []byte{kindPlain, codecZstd}
		c = binary.AppendUvarint(c, n)
		return append(c, packed...)
	}

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, _, err := chunkBodyTo(chunk(maxChunkBytes), nil); err == nil {
		t.Fatal("a body length of 1 GiB over 1,000 bytes decoded without error")
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 16<<20 {
		t.Errorf("refusing a lying length allocated %d bytes", got)
	}

	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB, compresses > 64x
	packed = encoders[levelFast].EncodeAll(big, nil)
	if uint64(len(big)) <= presizeLimit(len(packed)) {
		t.Skipf("test body compressed only to %d bytes: not past the presize limit", len(packed))
	}
	_, got, err := chunkBodyTo(chunk(uint64(len(big))), &colScratch{})
	if err != nil || got != string(big) {
		t.Fatalf("a very compressible body: err %v, %d bytes back of %d", err, len(got), len(big))
	}
}

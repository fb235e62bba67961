package store

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/huff0"
)

// TestCountBlocksReport measures field=value | count on the blocks an
// existing store keeps for it (MAMORI_NEEDLE_STORE, a copy of a store
// directory; MAMORI_NEEDLE_TOKENS, one field=value pair): how many
// blocks hold the value in their dictionary, and the time spent on the
// checksum, the decompression, and the counting. Opt-in: a measuring
// tool, not a check.
func TestCountBlocksReport(t *testing.T) {
	dir := os.Getenv("MAMORI_NEEDLE_STORE")
	if dir == "" {
		t.Skip("set MAMORI_NEEDLE_STORE to a copy of a store directory to measure counting by value")
	}
	field, value, ok := strings.Cut(os.Getenv("MAMORI_NEEDLE_TOKENS"), "=")
	if !ok {
		t.Skip("set MAMORI_NEEDLE_TOKENS to field=value")
	}
	s, snap, f := needleStore(t, dir)
	defer s.Close()
	defer snap.Release()
	refs, st, err := snap.Blocks(context.Background(), Query{Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	var (
		withValue, coded, rows, count int
		packed, body                  int
		tCRC, tZstd, tCount           time.Duration
		buf                           DictBuf
	)
	for _, r := range refs {
		pr, ok := r.(*partRef)
		if !ok {
			continue
		}
		bm := pr.bm()
		c, ok := pr.p.valueColumn(bm, field)
		if !ok || c.size == 0 || pr.p.data[c.off] != kindDict {
			continue
		}
		coded++
		rows += int(bm.rows)
		t0 := time.Now()
		ch, err := pr.p.chunk(c)
		if err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		_, b, err := chunkBodyTo(ch, &buf.sc)
		if err != nil {
			t.Fatal(err)
		}
		t2 := time.Now()
		n, err := countDictValues(ch, int(bm.rows), []string{value}, &buf)
		if err != nil {
			t.Fatal(err)
		}
		t3 := time.Now()
		tCRC += t1.Sub(t0)
		tZstd += t2.Sub(t1)
		tCount += t3.Sub(t2) - t2.Sub(t1) // countDictValues decompresses again
		packed += len(ch)
		body += len(b)
		count += n
		if n > 0 {
			withValue++
		}
	}
	t.Logf("blocks kept %d of %d, %d coded (%d rows), %d with the value (%d rows)", len(refs), st.BlocksTotal, coded, rows, withValue, count)
	t.Logf("bytes packed %d, bodies %d; checksum %v, decompression %v, counting about %v", packed, body, tCRC, tZstd, tCount)
}

// TestCodesCodecReport compares, on the blocks an existing store keeps
// for a filter (MAMORI_NEEDLE_STORE and MAMORI_NEEDLE_TOKENS as in
// TestNeedleBlocksReport), the stored zstd chunks of the columns named in
// MAMORI_CODEC_COLS (comma-separated) with the same bodies coded by
// Huffman alone (huff0, four streams): bytes, and decoding CPU time over
// MAMORI_CODEC_ROUNDS rounds (default 5). Opt-in: it measures what a
// Huffman-only codec for dictionary codes would give, not a check.
func TestCodesCodecReport(t *testing.T) {
	dir := os.Getenv("MAMORI_NEEDLE_STORE")
	cols := os.Getenv("MAMORI_CODEC_COLS")
	if dir == "" || cols == "" {
		t.Skip("set MAMORI_NEEDLE_STORE and MAMORI_CODEC_COLS to compare codecs of dictionary columns")
	}
	rounds := atoiOr(os.Getenv("MAMORI_CODEC_ROUNDS"), 5)
	if rounds <= 0 {
		rounds = 5
	}
	s, snap, f := needleStore(t, dir)
	defer s.Close()
	defer snap.Release()
	refs, _, err := snap.Blocks(context.Background(), Query{Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range strings.Split(cols, ",") {
		var chunks, bodies, huffs [][]byte
		var packed, body, huffBytes int
		for _, r := range refs {
			pr, ok := r.(*partRef)
			if !ok {
				continue
			}
			c, ok := pr.p.valueColumn(pr.bm(), name)
			if !ok || c.size == 0 {
				continue
			}
			ch, err := pr.p.chunk(c)
			if err != nil {
				t.Fatal(err)
			}
			_, b, err := chunkBody(ch)
			if err != nil {
				t.Fatal(err)
			}
			h, _, err := huff0.Compress4X([]byte(b), nil)
			if err != nil {
				h = nil // incompressible or one symbol: counted as stored
			}
			chunks, bodies, huffs = append(chunks, ch), append(bodies, []byte(b)), append(huffs, h)
			packed, body = packed+len(ch), body+len(b)
			huffBytes += max(len(h), 0)
			if h == nil {
				huffBytes += len(b)
			}
		}
		var sc colScratch
		start := cpuTime()
		for range rounds {
			for _, ch := range chunks {
				if _, _, err := chunkBodyTo(ch, &sc); err != nil {
					t.Fatal(err)
				}
			}
		}
		zt := (cpuTime() - start) / time.Duration(rounds)
		dsts := make([][]byte, len(bodies))
		for k, b := range bodies {
			dsts[k] = make([]byte, 0, len(b)) // Decompress4X wants the exact capacity
		}
		start = cpuTime()
		for range rounds {
			for k, h := range huffs {
				if h == nil {
					continue
				}
				s, rest, err := huff0.ReadTable(h, nil)
				if err != nil {
					t.Fatal(err)
				}
				if dst, err := s.Decoder().Decompress4X(dsts[k], rest); err != nil || len(dst) != len(bodies[k]) {
					t.Fatalf("huff0: %v, %d bytes of %d", err, len(dst), len(bodies[k]))
				}
			}
		}
		ht := (cpuTime() - start) / time.Duration(rounds)
		t.Logf("%-12s %4d chunks, bodies %9d: zstd %8d bytes, %v; huff0 %8d bytes, %v", name, len(chunks), body, packed, zt, huffBytes, ht)
	}
}

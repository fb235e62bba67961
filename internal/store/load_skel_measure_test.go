package store

import (
	"context"
	"encoding/binary"
	"os"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"
)

// threadCPU is the calling thread's CPU time (lock the goroutine to its
// thread around a measurement).
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1, &ru); err != nil { // RUSAGE_THREAD
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestSkelFramesReport measures what sub-block frames of a skeleton
// chunk's variables (docs/benchmarks-query.md "Needles against the
// targets") would cost and save on the blocks a filter keeps (same
// variables as TestNeedleFramesReport: MAMORI_NEEDLE_STORE,
// MAMORI_NEEDLE_TOKENS, MAMORI_NEEDLE_FRAME rows per frame, default
// 1024): the vars bodies compressed whole and as frames of their own
// (lengths and bytes of their rows, same level), and the decompression a
// row-wise load of the middle row does today (a streamed prefix) against
// one frame's. Opt-in: a measuring tool, not a check.
func TestSkelFramesReport(t *testing.T) {
	dir := os.Getenv("MAMORI_NEEDLE_STORE")
	if dir == "" {
		t.Skip("set MAMORI_NEEDLE_STORE to a copy of a store directory to measure skeleton frames")
	}
	frame := atoiOr(os.Getenv("MAMORI_NEEDLE_FRAME"), 1024)
	if frame <= 0 {
		frame = 1024
	}
	s, snap, f := needleStore(t, dir)
	defer s.Close()
	defer snap.Release()
	refs, _, err := snap.Blocks(context.Background(), Query{Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread() // threadCPU
	defer runtime.UnlockOSThread()
	var blocks, bodyBytes, lenBytes, whole, framed, frameBytes int
	var wholeTook, frameTook time.Duration
	var prefixBytes [3]int
	var prefixTook [3]time.Duration
	for _, r := range refs {
		pr, ok := r.(*partRef)
		if !ok {
			continue
		}
		bm := pr.bm()
		rows := int(bm.rows)
		k := slices.IndexFunc(bm.cols, func(c colMeta) bool { return pr.p.names[c.name] == "_raw" })
		if k < 0 || pr.p.data[bm.cols[k].off] != kindSkeleton {
			continue
		}
		ch, err := pr.p.chunk(bm.cols[k])
		if err != nil {
			t.Fatal(err)
		}
		sb, err := decodeSkeletonHead(ch, rows, pr.p.pool)
		if err != nil {
			t.Fatal(err)
		}
		if err := sb.loadVars(); err != nil {
			t.Fatal(err)
		}
		blocks++
		nv := int(sb.vstart[rows])
		_, body, err := chunkBody(sb.vars)
		if err != nil {
			t.Fatal(err)
		}
		base := len(body) - len(sb.vb)
		bodyBytes += len(body)
		lenBytes += base
		w := encodeChunk(nil, kindSkeleton, []byte(body), levelBetter)
		whole += len(w)
		start := threadCPU()
		if _, _, err := chunkBody(w); err != nil {
			t.Fatal(err)
		}
		wholeTook += threadCPU() - start
		// Today's row-wise load of a row at a tenth, the middle, nine
		// tenths: a streamed prefix.
		for q, at := range []int{rows / 10, rows / 2, rows * 9 / 10} {
			start = threadCPU()
			rs := getRowScratch()
			bs, err := newBodyStream(w, rs)
			if err != nil {
				t.Fatal(err)
			}
			sp := newSkelSpans(1)
			var got string
			if err := bs.parse(func(b string) error { got = b; return sp.locate(b, bs.size, sb.vstart, []int{at}) }); err != nil {
				t.Fatal(err)
			}
			bs.close()
			putRowScratch(rs)
			prefixTook[q] += threadCPU() - start
			prefixBytes[q] += len(got)
		}
		// Frames: the lengths and bytes of frame rows each.
		var fb []byte
		for lo := 0; lo < rows; lo += frame {
			hi := min(lo+frame, rows)
			v0, v1 := int(sb.vstart[lo]), int(sb.vstart[hi])
			fb = fb[:0]
			for v := v0; v < v1; v++ {
				fb = binary.AppendUvarint(fb, uint64(sb.voff[v+1]-sb.voff[v]))
			}
			fb = append(fb, sb.vb[sb.voff[v0]:sb.voff[v1]]...)
			fc := encodeChunk(nil, kindSkeleton, fb, levelBetter)
			framed += len(fc)
			if lo <= rows/2 && rows/2 < hi {
				frameBytes += len(fb)
				start := threadCPU()
				if _, _, err := chunkBody(fc); err != nil {
					t.Fatal(err)
				}
				frameTook += threadCPU() - start
			}
		}
		_ = nv
		sb.release()
	}
	t.Logf("%d skeleton blocks: vars bodies %d bytes (%d of lengths); zstd whole %d, frames of %d rows %d (%+.1f%%)",
		blocks, bodyBytes, lenBytes, whole, frame, framed, 100*float64(framed-whole)/float64(max(whole, 1)))
	t.Logf("decompression CPU: whole bodies %v; streamed prefixes for a row at 1/10 %v (%d bytes), 1/2 %v (%d), 9/10 %v (%d); the middle row's frame %v (%d bytes)",
		wholeTook, prefixTook[0], prefixBytes[0], prefixTook[1], prefixBytes[1], prefixTook[2], prefixBytes[2], frameTook, frameBytes)
}

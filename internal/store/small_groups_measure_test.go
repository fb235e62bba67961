package store

import (
	"context"
	"encoding/binary"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestSmallGroupsReport measures what row groups in the small zstd
// bodies (int, dict and plain bodies up to smallStream bytes, which a
// row-wise load decompresses whole to read one row) would cost and save:
// each body is cut into MAMORI_SMALL_GROUPS groups (default 4) of about
// equal bytes (an int body's varints; a dict body's codes, its values
// staying one frame; a plain body's lengths and bytes, as framed chunks
// do), each compressed at the better level, against the body compressed
// whole. It reports the bytes over every block of MAMORI_NEEDLE_STORE
// (per row) and the thread CPU of decompressing each body whole against
// one group (a dict's values frame and one codes frame) over the blocks
// the filter of MAMORI_NEEDLE_TOKENS keeps. Opt-in: a measuring tool.
func TestSmallGroupsReport(t *testing.T) {
	dir := os.Getenv("MAMORI_NEEDLE_STORE")
	if dir == "" {
		t.Skip("set MAMORI_NEEDLE_STORE to a copy of a store directory to measure row groups of small bodies")
	}
	groups := atoiOr(os.Getenv("MAMORI_SMALL_GROUPS"), 4)
	initCodecs()
	s, snap, f := needleStore(t, dir)
	defer s.Close()
	defer snap.Release()
	all, _, err := snap.Blocks(context.Background(), Query{})
	if err != nil {
		t.Fatal(err)
	}
	kept, _, err := snap.Blocks(context.Background(), Query{Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	var rows int64
	var whole, cut, bodies [3]int64 // by kind: int, dict, plain
	// Storing a body uncompressed when zstd saves less than share of it.
	stored := [][2]int{{1, 4}, {1, 2}, {3, 4}}
	var storedExtra [3]int64
	var storedTime [3]time.Duration
	for _, r := range all {
		pr, ok := r.(*partRef)
		if !ok {
			continue
		}
		rows += int64(pr.bm().rows)
		for _, c := range pr.bm().cols {
			k, body, z, ok := smallBody(t, pr.p, c)
			if !ok {
				continue
			}
			bodies[k]++
			z = len(encoders[levelBetter].EncodeAll(body, nil)) // same encoder as the groups
			whole[k] += int64(z)
			for i, share := range stored {
				if z > len(body)-len(body)*share[0]/share[1] {
					storedExtra[i] += int64(len(body) - z)
				}
			}
			for _, part := range groupParts(k, body, groups) {
				cut[k] += int64(len(encoders[levelBetter].EncodeAll(part, nil)))
			}
		}
	}
	names := [3]string{"int", "dict", "plain"}
	var dw, dc int64
	for k := range 3 {
		t.Logf("%-5s %6d bodies: whole %9d bytes, in %d groups %9d (%+.3f bytes a row)", names[k], bodies[k], whole[k], groups, cut[k], float64(cut[k]-whole[k])/float64(rows))
		dw, dc = dw+whole[k], dc+cut[k]
	}
	t.Logf("all: %+.3f bytes a row over %d rows", float64(dc-dw)/float64(rows), rows)
	defer func() {
		for i, share := range stored {
			t.Logf("stored when zstd saves less than %d/%d: %+.3f bytes a row; saves %v of the kept blocks' small-body decodes a pass",
				share[0], share[1], float64(storedExtra[i])/float64(rows), storedTime[i]/3)
		}
	}()
	// Time: each small body of the kept blocks whole, then one group.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var tWhole, tGroup, tAll time.Duration // whole; one group; every group (a whole read)
	n := 0
	for range 3 {
		for _, r := range kept {
			pr, ok := r.(*partRef)
			if !ok {
				continue
			}
			for _, c := range pr.bm().cols {
				k, body, _, ok := smallBody(t, pr.p, c)
				if !ok {
					continue
				}
				parts := groupParts(k, body, groups)
				zs := make([][]byte, len(parts))
				for i, p := range parts {
					zs[i] = encoders[levelBetter].EncodeAll(p, nil)
				}
				zw := encoders[levelBetter].EncodeAll(body, nil)
				read := [][]byte{zs[len(zs)/2]}
				if k == 1 {
					read = [][]byte{zs[0], zs[1+(len(zs)-1)/2]} // the values and one codes frame
				}
				buf := make([]byte, 0, len(body)+frameSlack)
				whole := decodeTime(t, [][]byte{zw}, buf)
				tWhole += whole
				tGroup += decodeTime(t, read, buf)
				tAll += decodeTime(t, zs, buf)
				for i, share := range stored {
					if len(zw) > len(body)-len(body)*share[0]/share[1] {
						storedTime[i] += whole
					}
				}
				n++
			}
		}
	}
	if n > 0 {
		t.Logf("%d small bodies of %d kept blocks: whole %v a body (%v a pass), one group %v a body (%.0f%% less), every group %v a body (%+.0f%%)",
			n/3, len(kept), tWhole/time.Duration(n), tWhole/3, tGroup/time.Duration(n), 100-100*float64(tGroup)/float64(tWhole),
			tAll/time.Duration(n), 100*float64(tAll)/float64(tWhole)-100)
	}
}

// decodeTime returns the thread CPU of decompressing frames (each into
// buf), warm: the mean of 5 rounds after one.
func decodeTime(t *testing.T, frames [][]byte, buf []byte) time.Duration {
	t.Helper()
	var start time.Duration
	for r := range 6 {
		if r == 1 {
			start = threadCPU()
		}
		for _, z := range frames {
			if _, err := decoder.DecodeAll(z, buf[:0]); err != nil {
				t.Fatal(err)
			}
		}
	}
	return (threadCPU() - start) / 5
}

// smallBody returns the kind (0 int, 1 dict, 2 plain), body and
// compressed size of chunk c when it is a small zstd body of those kinds.
func smallBody(t *testing.T, p *part, c colMeta) (int, []byte, int, bool) {
	t.Helper()
	if c.size < 3 {
		return 0, nil, 0, false
	}
	ch := p.data[c.off : c.off+uint64(c.size)]
	k := map[byte]int{kindInt: 0, kindDict: 1, kindPlain: 2}
	kind, ok := k[ch[0]]
	if !ok || ch[1] != codecZstd {
		return 0, nil, 0, false
	}
	n, hk := binary.Uvarint(ch[2:])
	if n > smallStream {
		return 0, nil, 0, false
	}
	_, body, err := chunkBodyTo(ch, nil)
	if err != nil {
		t.Fatal(err)
	}
	return kind, []byte(body), len(ch) - 2 - hk, true
}

// groupParts cuts body of kind (as smallBody) into the frames of g row
// groups (about equal bytes; see TestSmallGroupsReport).
func groupParts(kind int, body []byte, g int) [][]byte {
	cutEven := func(b []byte) [][]byte {
		var out [][]byte
		for i := range g {
			out = append(out, b[i*len(b)/g:(i+1)*len(b)/g])
		}
		return out
	}
	switch kind {
	case 1: // values, then codes
		r := &reader{s: bytesToString(body)}
		nv := r.uvarint()
		for range nv {
			r.str()
		}
		return append([][]byte{body[:r.off]}, cutEven(body[r.off:])...)
	case 2: // lengths, then bytes
		r := &reader{s: bytesToString(body)}
		total := 0
		for r.off+total < len(body) && r.err == nil {
			if l := r.uvarint(); l > 0 {
				total += int(l) - 1
			}
		}
		return append(cutEven(body[:r.off]), cutEven(body[r.off:])...)
	}
	return cutEven(body)
}

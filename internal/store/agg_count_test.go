package store

import (
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
)

// refCount counts the rows of a dictionary chunk whose value is one of
// vals through decodeDict.
func refCount(chunk []byte, rows int, vals []string) (int, error) {
	dc, err := decodeDict(chunk, rows)
	if err != nil {
		return 0, err
	}
	n := 0
	for i := range rows {
		c := 0
		if dc.Codes != nil {
			c = int(dc.Codes[i])
		} else if len(dc.Dict) == 1 {
			c = 1
		}
		if c > 0 && slices.Contains(vals, dc.Dict[c-1]) {
			n++
		}
	}
	return n, nil
}

// TestCountDictValues checks the counts read from the stored codes
// against decoding them, for dictionaries whose codes take one, one or
// two, and more bytes, at row counts around the eight-byte words.
func TestCountDictValues(t *testing.T) {
	for _, n := range []int{1, 5, 127, 128, 129, 255, 256, 300, 16383, 16384, 20000} {
		for _, rows := range []int{0, 1, 7, 8, 9, 15, 16, 17, 1000, 1003} {
			codes := make([]int, rows)
			for i := range codes {
				codes[i] = (i*7919 + i*i) % (n + 1) // 0: absent
			}
			for _, width := range []int{1, 2, 3} {
				if width == 2 && n >= 1<<14 {
					continue // codes above 16383 take three bytes
				}
				chunk := wideDict(n, codes, width)
				for _, vals := range [][]string{
					{"v0"}, {fmt.Sprintf("v%d", n-1)}, {"v126", "v127"}, {"v128"}, {"v129"}, {"v1", "v2", "v3", "v4", "v5"}, {"nope"}, {""},
				} {
					want, err := refCount(chunk, rows, vals)
					if err != nil {
						t.Fatalf("n %d rows %d width %d: %v", n, rows, width, err)
					}
					var buf DictBuf
					got, err := countDictValues(chunk, rows, vals, &buf)
					if err != nil || got != want {
						t.Fatalf("n %d rows %d width %d vals %v: %d, %v; want %d", n, rows, width, vals, got, err, want)
					}
				}
			}
		}
	}
}

// TestCountCode2Edges checks the word-at-a-time pass on codes that
// straddle the words, and on codes above the dictionary whose second
// byte is the largest allowed.
func TestCountCode2Edges(t *testing.T) {
	for shift := range 9 {
		codes := make([]int, shift)
		for i := range codes {
			codes[i] = 1
		}
		codes = append(codes, 200, 3, 200, 200, 129, 1, 200)
		chunk := wideDict(300, codes, 1)
		for _, v := range []string{"v199", "v0", "v2", "v128"} {
			want, _ := refCount(chunk, len(codes), []string{v})
			got, err := countDictValues(chunk, len(codes), []string{v}, new(DictBuf))
			if err != nil || got != want {
				t.Fatalf("shift %d %s: %d, %v; want %d", shift, v, got, err, want)
			}
		}
	}
	// 300 values: a second byte of 2 allows codes up to 300, not 301..383.
	for _, c := range []int{301, 383} {
		chunk := wideDict(300, []int{1, 2, c, 1, 1, 1, 1, 1, 1, 1}, 1)
		if n, err := countDictValues(chunk, 10, []string{"v0"}, new(DictBuf)); err == nil {
			t.Errorf("code %d of 300 counted without error: %d", c, n)
		}
	}
}

// TestCountDictValuesBad feeds malformed chunks: errors (or a count of 0
// when the dictionary holds none of the values, whose codes are then not
// read), never panics.
func TestCountDictValuesBad(t *testing.T) {
	for _, c := range [][]byte{
		nil, {kindDict}, {kindDict, codecNone, 3, 9, 9, 9}, {kindPlain, codecNone, 1, 0},
		{kindDict, codecNone, 4, 1, 1, 'a', 2},
		{kindDict, codecNone, 4, 1, 1, 'a', 1},
		{kindDict, codecNone, 7, 1, 1, 'a', 0, 1, 2, 1},
		{kindDict, codecNone, 7, 1, 1, 'a', 0, 1, 0x81, 0},
	} {
		if n, err := countDictValues(c, 4, []string{"a"}, new(DictBuf)); err == nil {
			t.Errorf("countDictValues(%v) = %d, want an error", c, n)
		}
	}
	good := wideDict(300, []int{0, 1, 300, 130, 5, 2, 2, 2, 2, 2, 2}, 1)
	for cut := range good {
		_, _ = countDictValues(good[:cut], 11, []string{"v1"}, new(DictBuf))
	}
	// The last code cut short, or one code too many.
	body := []byte{2, 1, 'a', 1, 'b', 1, 1, 2, 0x81}
	if _, err := countDictValues(encodeChunk(nil, kindDict, body, levelFast), 4, []string{"a"}, new(DictBuf)); err == nil {
		t.Error("a cut code counted without error")
	}
	if _, err := countDictValues(wideDict(300, []int{1, 2, 3}, 1), 2, []string{"v0"}, new(DictBuf)); err == nil {
		t.Error("a code too many counted without error")
	}
}

// plainDict returns an uncompressed kindDict chunk of n values v0..v(n-1)
// and the codes (0 absent, else index+1).
func plainDict(n int, codes []int) []byte {
	b := binary.AppendUvarint(nil, uint64(n))
	for i := range n {
		b = appendStr(b, fmt.Sprintf("v%d", i))
	}
	for _, c := range codes {
		b = binary.AppendUvarint(b, uint64(c))
	}
	out := binary.AppendUvarint([]byte{kindDict, codecNone}, uint64(len(b)))
	return append(out, b...)
}

func FuzzCountDictValues(f *testing.F) {
	f.Add(plainDict(5, []int{0, 1, 5, 3, 5, 1, 1, 1, 1}), 9, "v0")
	f.Add(plainDict(300, []int{300, 1, 0, 129, 129, 129, 2, 1, 1, 1}), 10, "v128")
	f.Add(plainDict(300, []int{300, 1, 0, 129, 129, 129, 2, 1, 1, 1}), 10, "v1")
	f.Fuzz(func(t *testing.T, chunk []byte, rows int, v string) {
		// Plain bodies only: the fuzzing is of the dictionary and the
		// codes (FuzzDecodeDict covers decompression).
		if rows < 0 || rows > 1<<16 || len(chunk) < 2 || chunk[0] != kindDict || chunk[1] != codecNone {
			return
		}
		want, werr := refCount(chunk, rows, []string{v})
		got, err := countDictValues(chunk, rows, []string{v}, new(DictBuf))
		switch {
		case werr == nil && (err != nil || got != want):
			t.Fatalf("count %d, %v; decoded %d", got, err, want)
		case werr != nil && err == nil && got != 0:
			t.Fatalf("count %d without error; decoding: %v", got, werr)
		}
	})
}

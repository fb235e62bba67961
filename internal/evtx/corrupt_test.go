package evtx

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
)

// twoChunks builds a file of one sample's header and its first chunk twice.
func twoChunks(t testing.TB) ([]byte, int) {
	t.Helper()
	data, err := os.ReadFile(devFiles(t)[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < fileHeaderSize+chunkSize {
		t.Skip("sample smaller than one chunk")
	}
	chunk := data[fileHeaderSize : fileHeaderSize+chunkSize]
	out := append(append(append([]byte(nil), data[:fileHeaderSize]...), chunk...), chunk...)
	recs := 0
	r, _ := NewReader(bytes.NewReader(out[:fileHeaderSize+chunkSize]), int64(fileHeaderSize+chunkSize))
	for {
		if _, err := r.Next(); err != nil {
			break
		}
		recs++
	}
	return out, recs
}

func readBytes(data []byte) (recs int, corrupt []error, err error) {
	r, err := NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return 0, nil, err
	}
	for {
		_, err := r.Next()
		if err == io.EOF {
			return recs, corrupt, nil
		}
		var ce *CorruptError
		if errors.As(err, &ce) {
			corrupt = append(corrupt, err)
			continue
		}
		if err != nil {
			return recs, corrupt, err
		}
		recs++
	}
}

func TestCorruptChunkSkipped(t *testing.T) {
	data, per := twoChunks(t)
	if n, c, err := readBytes(data); err != nil || len(c) != 0 || n != 2*per {
		t.Fatalf("clean file: %d records, %v, %v; want %d", n, c, err, 2*per)
	}
	f := func(name string, off int) {
		t.Helper()
		bad := append([]byte(nil), data...)
		bad[off] ^= 0xff
		n, c, err := readBytes(bad)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(c) == 0 {
			t.Errorf("%s: no CorruptError", name)
		}
		if n < per {
			t.Errorf("%s: %d records, want at least the %d of the good chunk", name, n, per)
		}
		for _, e := range c {
			if e.Error() == "" {
				t.Errorf("%s: empty error", name)
			}
		}
	}
	f("signature", fileHeaderSize+1)
	f("header checksum", fileHeaderSize+30)
	f("record data", fileHeaderSize+chunkHeader+40)
	f("record size", fileHeaderSize+chunkHeader+5)
}

func TestNotEVTX(t *testing.T) {
	if _, err := NewReader(bytes.NewReader([]byte("hello world, not an event log at all")), 36); !errors.Is(err, ErrNotEVTX) {
		t.Errorf("NewReader(text) = %v, want ErrNotEVTX", err)
	}
	if _, err := Open("testdata/does-not-exist.evtx"); err == nil {
		t.Error("Open(missing) = nil error")
	}
}

func TestTruncated(t *testing.T) {
	data, _ := twoChunks(t)
	for _, n := range []int{128, 4096, 4096 + 511, 4096 + 600, 4096 + 30000, len(data) - 1} {
		if _, _, err := readBytes(data[:n]); err != nil {
			t.Errorf("truncated to %d: %v", n, err)
		}
	}
}

func FuzzReader(f *testing.F) {
	data, err := os.ReadFile(devFiles(f)[0])
	if err == nil && len(data) >= fileHeaderSize+chunkSize {
		f.Add(data[:fileHeaderSize+chunkSize])
	}
	f.Add([]byte("ElfFile\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Records are checked by the chunk checksum; skip it here so the
		// fuzzer reaches the BinXML parser.
		r, err := NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		for i := 0; i < 10000; i++ {
			_, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil && err.Error() == "" {
				t.Fatal("empty error")
			}
		}
	})
}

// FuzzBinXML feeds arbitrary bytes to the BinXML parser directly, as the
// record data of a chunk.
func FuzzBinXML(f *testing.F) {
	data, err := os.ReadFile(devFiles(f)[0])
	if err == nil && len(data) >= fileHeaderSize+chunkSize {
		f.Add(data[fileHeaderSize : fileHeaderSize+chunkSize])
	}
	f.Fuzz(func(t *testing.T, chunk []byte) {
		if len(chunk) < chunkHeader+28 {
			return
		}
		var p parser
		c := make([]byte, chunkSize)
		copy(c, chunk)
		p.reset(c)
		root, err := p.document(chunkHeader+24, min(len(chunk), chunkSize))
		if err == nil && root != nil {
			p.flatten(root)
		}
	})
}

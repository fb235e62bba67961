package pb

import (
	"errors"
	"testing"
)

func TestReader(t *testing.T) {
	var msg []byte
	msg = AppendVarintField(msg, 1, 300)
	msg = AppendBytes(msg, 2, []byte("hello"))
	msg = AppendFixed64(msg, 3, 0x0102030405060708)
	r := NewReader(msg)
	var got []Field
	for {
		f, ok := r.Next()
		if !ok {
			break
		}
		got = append(got, f)
	}
	if r.Err() != nil || len(got) != 3 || got[0].Val != 300 || string(got[1].Data) != "hello" || got[2].Val != 0x0102030405060708 {
		t.Fatalf("fields = %+v, err %v", got, r.Err())
	}
	for cut := 1; cut < len(msg); cut++ {
		r := NewReader(msg[:cut])
		for {
			if _, ok := r.Next(); !ok {
				break
			}
		}
		if cut != 3 && cut != 10 && !errors.Is(r.Err(), ErrMalformed) {
			t.Errorf("cut at %d: err %v, want ErrMalformed", cut, r.Err())
		}
	}
}

func FuzzReader(f *testing.F) {
	f.Add(AppendBytes(AppendVarintField(nil, 1, 7), 2, []byte("x")))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(b)
		n := 0
		for {
			fl, ok := r.Next()
			if !ok {
				break
			}
			n += len(fl.Data)
			if n > len(b) {
				t.Fatalf("data beyond the input")
			}
		}
		if err := r.Err(); err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}

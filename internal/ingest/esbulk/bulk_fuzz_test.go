package esbulk

import (
	"bytes"
	"encoding/json"
	"testing"
)

var jsonUnmarshal = json.Unmarshal

func FuzzBulk(f *testing.F) {
	for _, s := range []string{
		"{\"index\":{\"_index\":\"a\"}}\n{\"message\":\"x\",\"@timestamp\":\"2026-01-01T00:00:00Z\"}\n",
		"{\"create\":{}}\nnot json\n{\"delete\":{}}\n{\"update\":{}}\n{}\n",
		"{\"index\":{}}\n{\"a\":{\"b\":[1,2,{\"c\":null}]}}\n{\"index\"",
		"\n\n{\"x\":1}\n",
	} {
		f.Add([]byte(s), uint16(7))
	}
	f.Fuzz(func(t *testing.T, body []byte, cut uint16) {
		d := &decoder{maxDoc: 256}
		evs, items, err := d.decode(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		for _, it := range items {
			if it.status >= 300 && it.errMsg == "" {
				t.Fatalf("failed item without a reason: %+v", it)
			}
		}
		out := appendResponse(nil, items, 1)
		if !validJSON(out) {
			t.Fatalf("response is not JSON: %s", out)
		}
		// Cut at an offset: the documents before the cut survive unchanged.
		k := int(cut) % (len(body) + 1)
		d2 := &decoder{maxDoc: 256}
		evs2, _, err := d2.decode(bytes.NewReader(body[:k]))
		if err != nil {
			t.Fatalf("decode cut: %v", err)
		}
		n := 0
		for _, ev := range evs2 {
			if n < len(evs) && ev.Raw == evs[n].Raw {
				n++
			}
		}
		if n+1 < len(evs2) {
			t.Fatalf("cut at %d: %d of %d events match the uncut decode", k, n, len(evs2))
		}
	})
}

func validJSON(b []byte) bool {
	var v any
	return jsonUnmarshal(b, &v) == nil
}

package kafka

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"message":"x","@timestamp":1}`), uint8(0))
	f.Add([]byte("plain"), uint8(2))
	f.Add([]byte{0x0a, 0x02, 0x12, 0x00}, uint8(3))
	formats := []string{FormatAuto, FormatJSON, FormatRaw, FormatOTLP}
	f.Fuzz(func(t *testing.T, v []byte, format uint8) {
		c := &Consumer{opts: Options{Format: formats[int(format)%len(formats)]}}
		evs := c.decode(nil, &kgo.Record{Topic: "t", Value: v, Key: v}, 1)
		for _, ev := range evs {
			if ev.Time == 0 {
				t.Fatalf("event without a time: %+v", ev)
			}
		}
		if c.opts.Format != FormatOTLP && len(evs) != 1 {
			t.Fatalf("%d events for one %q record", len(evs), c.opts.Format)
		}
	})
}

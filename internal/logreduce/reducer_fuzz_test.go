package logreduce

import (
	"strings"
	"testing"
)

// FuzzReduce feeds arbitrary messages: no panics, canonical templates are
// stable, every message is counted, and a valid message added beside a
// malformed one still gets its own template.
func FuzzReduce(f *testing.F) {
	for _, s := range []string{
		"PacketResponder 1 for block blk_38865049064139660 terminating",
		"Received connection request /10.10.34.11:45307",
		`{"event":"login","ip":"10.0.0.1","user":"alice"}`,
		"<*><*>.<*> <1 sec (4.44 KB)",
		"\x00\xff\xfe invalid utf8 \t\r\n",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		r := New(Options{MaxClusters: 8})
		valid := "session opened for user alice by (uid=0)"
		a := r.Add(msg)
		b := r.Add(valid)
		r.Add(msg)
		if tpl := r.Template(a); Canonical(tpl) != tpl {
			t.Fatalf("template %q not canonical: %q", tpl, Canonical(tpl))
		}
		if got := r.Template(b); got != "session opened for user alice by (uid=<*>)" && !strings.Contains(got, "<*>") {
			t.Fatalf("valid message template %q", got)
		}
		var n int64
		for _, s := range r.Signatures() {
			n += s.Count
			Display(s.Template, msg)
			Values(s.Template, msg)
		}
		if n != 3 {
			t.Fatalf("signatures count %d messages, want 3", n)
		}
	})
}

package logreduce

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestKeyNames(t *testing.T) {
	f := func(raw, want string, wantErr bool) {
		t.Helper()
		got, err := KeyNames(nil, raw)
		if (err != nil) != wantErr {
			t.Errorf("KeyNames(%q) error = %v, want error %v", raw, err, wantErr)
		}
		if diff := cmp.Diff(want, strings.Join(got, ",")); diff != "" {
			t.Errorf("KeyNames(%q) (-want +got):\n%s", raw, diff)
		}
	}
	f(`{"user":"a","ip":"1.2.3.4","n":3,"o":{"x":[1,"}"]},"t":true}`, "user,ip,n,o,t", false)
	f(` { "a" : 1 , "b" : "x y" } `, "a,b", false)
	f(`{}`, "", false)
	// Malformed JSON: the names before the fault, and an error.
	f(`{"a":1,"b":`, "a,b", true)
	f(`{"a":1 "b":2}`, "a", true)
	f(`{"a"`, "", true)
	f(`{`, "", true)
	// key=value forms.
	f(`level=info ts=2018-01-21T15:02:21Z msg="a b=c d" caller=x.go:1`, "level,ts,msg,caller", false)
	f(`CEF:0|Fortinet|FortiGate|7.0|13|TRAFFIC|3|rt=1 src=10.0.0.1 cs1Label=Rule`, "rt,src,cs1Label", false)
	f(`plain words, no pairs = here`, "", false)
	f(`a="unterminated b=1`, "a", false)
	f(``, "", false)
}

func FuzzKeyNames(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":{"c":[1,2]}}`, `a=1 b="x y" c=3`, `{"a":`, `k="\"`, `CEF:0|a|b|c|d|e|f|x=1`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		names, err := KeyNames(nil, raw)
		if err != nil && err.Error() == "" {
			t.Errorf("KeyNames(%q): empty error message", raw)
		}
		// A valid object after a bad line still parses.
		if got, err := KeyNames(names[:0], `{"x":1}`); err != nil || len(got) != 1 || got[0] != "x" {
			t.Errorf("KeyNames after %q = %q, %v", raw, got, err)
		}
	})
}

func TestAddKeysExampleExact(t *testing.T) {
	r := New(Options{})
	a := r.AddKeysExample([]string{"x_1", "ip"}, `{"x_1":1,"ip":"a"}`)
	b := r.AddKeysExample([]string{"ip", "x_2"}, `{"x_2":1,"ip":"b"}`)
	c := r.AddKeysExample([]string{"x_1", "ip", "ip"}, "")
	if r.Template(a) == r.Template(b) || r.Template(a) != r.Template(c) {
		t.Errorf("templates %q %q %q: want x_1 and x_2 apart, duplicates folded", r.Template(a), r.Template(b), r.Template(c))
	}
	sigs := r.Signatures()
	if len(sigs) != 2 || sigs[0].Template != "ip, x_1" || sigs[0].Count != 2 || sigs[0].Examples[0] != `{"x_1":1,"ip":"a"}` {
		t.Errorf("Signatures = %+v", sigs)
	}
	// Shards merge by key set, examples kept.
	o := New(Options{})
	o.AddKeysExample([]string{"x_2", "ip"}, "raw")
	r.Merge(o)
	for _, s := range r.Signatures() {
		if s.Template == "ip, x_2" && (s.Count != 2 || len(s.Examples) != 2) {
			t.Errorf("merged %+v, want count 2 with 2 examples", s)
		}
	}
}

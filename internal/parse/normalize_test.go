package parse

import (
	"testing"

	"github.com/mamori/mamori/internal/event"
)

func TestIsIP(t *testing.T) {
	f := func(in string, want bool) {
		t.Helper()
		if got := isIP(in); got != want {
			t.Errorf("isIP(%q) = %v, want %v", in, got, want)
		}
	}
	f("10.0.0.1", true)
	f("255.255.255.255", true)
	f("0.0.0.0", true)
	f("256.0.0.1", false)
	f("01.2.3.4", false)
	f("1.2.3", false)
	f("1.2.3.4.5", false)
	f("1..3.4", false)
	f("1.2.3.", false)
	f("::1", true)
	f("fe80::1%eth0", true)
	f("2001:db8::", true)
	f("::ffff:10.0.0.1", true)
	f("-", false)
	f("", false)
	f("host.example", false)
	f("AWS Internal", false)
}

func TestNormalize(t *testing.T) {
	fm := newFieldMap(
		mapping{"a", "source.ip", ecsIP},
		mapping{"b", "source.ip", ecsIP},
		mapping{"p", "source.port", ecsInt},
		mapping{"x", "network.transport", ecsLower},
		mapping{"x", "x.copy", ecsText},
	)
	ev := event.Event{Fields: []event.Field{{Name: "pre", Value: "1"}, {Name: "a", Value: "bad"}, {Name: "b", Value: "10.0.0.2"},
		{Name: "a", Value: "10.0.0.1"}, {Name: "p", Value: "-"}, {Name: "x", Value: "TCP"}}}
	normalize(&ev, 1, fm)
	got := fieldsString(ev.Fields[6:])
	want := "source.ip=10.0.0.2\nnetwork.transport=tcp\nx.copy=TCP\n"
	if got != want {
		t.Errorf("normalize added:\n%s\nwant:\n%s", got, want)
	}
	// Mappings with colliding hashes stay separate.
	for _, m := range cefMap.table {
		found := false
		for _, l := range cefMap.lookup(m.from) {
			found = found || l == m
		}
		if !found {
			t.Errorf("cefMap.lookup(%q) lacks %v", m.from, m)
		}
	}
	if l := cefMap.lookup("no-such-field"); l != nil {
		t.Errorf("lookup(no-such-field) = %v", l)
	}
}

// TestNormalizeLinear: a hostile line repeating a mapped key must not make
// normalization quadratic (100k repeats would take minutes if it were).
func TestNormalizeLinear(t *testing.T) {
	var b []byte
	b = append(b, "CEF:0|V|P|1|1|n|3|"...)
	for i := 0; i < 100000; i++ {
		b = append(b, "src=10.0.0.1 suser=a "...)
	}
	p, _ := Lookup("cef")
	var ev event.Event
	if err := p.Parse(b, &ev); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range ev.Fields {
		if f.Name == "source.ip" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("source.ip %d times, want 1", n)
	}
	var j []byte
	j = append(j, `{"winlog":{"event_id":"1","event_data":{`...)
	for i := 0; i < 50000; i++ {
		j = append(j, `"Image":"x","Hashes":"SHA256=ab,MD5=cd",`...)
	}
	j = append(j, `"User":"D\\u"}}}`...)
	w, _ := Lookup("windows")
	ev = event.Event{}
	if err := w.Parse(j, &ev); err != nil {
		t.Fatal(err)
	}
}

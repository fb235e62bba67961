package parse

import (
	"net/netip"
	"slices"
	"strings"
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

// refIsIP is isIP without the IPv4 fast path.
func refIsIP(v string) bool {
	if len(v) < 2 || len(v) > 64 {
		return false
	}
	if c := v[0]; !isDigit(c) && c != ':' && !(c >= 'a' && c <= 'f') && !(c >= 'A' && c <= 'F') {
		return false
	}
	_, err := netip.ParseAddr(v)
	return err == nil
}

func FuzzIsIP(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "0.0.0.0", "01.2.3.4", "1.2.3", "256.1.1.1", "1.2.3.4.5", "::1", "1..2.3", "99.099.1.1", "1.2.3.4 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if got, want := isIP(v), refIsIP(v); got != want {
			t.Fatalf("isIP(%q) = %v, want %v", v, got, want)
		}
	})
}

func TestLower(t *testing.T) {
	for _, v := range []string{"", "tcp", "TCP", "Tcp", "ntp", "incomplete", "ÄB", "a-b_c.d", "ZZ", "@[`{"} {
		if got, want := lower(v), strings.ToLower(v); got != want {
			t.Errorf("lower(%q) = %q, want %q", v, got, want)
		}
	}
}

// refNormalize is normalize written plainly: for each field at from.., each
// of its mappings, add the ECS field when the value suits it and the event
// does not have the name yet.
func refNormalize(ev *event.Event, from int, fm *fieldMap) {
	n := len(ev.Fields)
	for i := from; i < n; i++ {
		f := ev.Fields[i]
		for _, m := range fm.table {
			if m.from != f.Name || !validECS(f.Value, m.kind) || hasFrom(ev, 0, m.to) {
				continue
			}
			v := f.Value
			if m.kind == ecsLower {
				v = strings.ToLower(v)
			}
			ev.Fields = append(ev.Fields, event.Field{Name: m.to, Value: v})
		}
	}
}

// FuzzNormalize checks normalize against refNormalize on the fields of a
// CEF extension (keys as written, so any name), after a few fields an
// earlier stage may have added.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"src=10.0.0.1 dst=10.0.0.2 spt=1 proto=TCP suser=a source.ip=1.1.1.1",
		"source.ip=9.9.9.9 src=10.0.0.1 src=10.0.0.3 app=NTP cs1Label=x sourceTranslatedAddress=1.2.3.4",
		"leef.vendor=V usrName=bob srcPreNAT=1.1.1.1 identSrc=2.2.2.2 src=x",
		"syslog.hostname=h host.name=g syslog.appname=sshd syslog.procid=12",
		"syslog.severity=info syslog.procid=x syslog.procid=7 syslog.hostname=- syslog.hostname=a process.name=p log.level=l",
		"user=u src_ip=1.2.3.4 srcip=5.6.7.8 dstport=-",
	} {
		f.Add(s, uint8(1))
	}
	maps := []*fieldMap{cefMap, leefMap, syslogMap, kvMap, auditMap, netfilterMap, cloudtrailMap, windowsSystemMap}
	f.Fuzz(func(t *testing.T, ext string, pre uint8) {
		var src event.Event
		cefExtension(ext, &src)
		from := int(pre) % (len(src.Fields) + 1)
		for _, fm := range maps {
			got := event.Event{Fields: slices.Clone(src.Fields)}
			want := event.Event{Fields: slices.Clone(src.Fields)}
			normalize(&got, from, fm)
			refNormalize(&want, from, fm)
			if !slices.Equal(got.Fields, want.Fields) {
				t.Fatalf("normalize(%q, %d) = %v, want %v", ext, from, got.Fields[len(src.Fields):], want.Fields[len(src.Fields):])
			}
		}
		got := event.Event{Fields: slices.Clone(src.Fields)}
		want := event.Event{Fields: slices.Clone(src.Fields)}
		normalizeSyslog(&got, from)
		refNormalize(&want, from, syslogMap)
		if !slices.Equal(got.Fields, want.Fields) {
			t.Fatalf("normalizeSyslog(%q, %d) = %v, want %v", ext, from, got.Fields[len(src.Fields):], want.Fields[len(src.Fields):])
		}
	})
}

// TestNormalizeMany covers events with more mapped fields than normalize
// remembers in its first pass.
func TestNormalizeMany(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 3*pendingCap; i++ {
		b.WriteString("cs1=x in=5 ")
		if i == 2*pendingCap {
			b.WriteString("src=10.0.0.9 proto=UDP ")
		}
	}
	b.WriteString("dst=10.0.0.8")
	var src event.Event
	cefExtension(b.String(), &src)
	got := event.Event{Fields: slices.Clone(src.Fields)}
	want := event.Event{Fields: slices.Clone(src.Fields)}
	normalize(&got, 0, cefMap)
	refNormalize(&want, 0, cefMap)
	if !slices.Equal(got.Fields, want.Fields) {
		t.Fatalf("normalize added %v, want %v", got.Fields[len(src.Fields):], want.Fields[len(src.Fields):])
	}
	if len(got.Fields)-len(src.Fields) != 4 {
		t.Fatalf("normalize added %v, want source.bytes, source.ip, network.transport, destination.ip", got.Fields[len(src.Fields):])
	}
}

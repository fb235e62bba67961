package detect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

func TestParseIntelFormats(t *testing.T) {
	csvFeed := "# c2 list\ntype,value,description\ndomain,evil-c2.example,C2\nip,203.0.113.66\ncidr,198.51.100.0/24\n45.33.32.156\nupdate-cdn.example.net\n" +
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nNQSNLLN4RECXZBOS2MJY3VNWCAGBZ2LBOQVQY77U\n???\n"
	inds, probs := ParseIntel("c2.csv", []byte(csvFeed))
	if len(inds) != 7 || len(probs) != 1 || !strings.Contains(probs[0], "???") {
		t.Fatalf("csv: %d %+v %v", len(inds), inds, probs)
	}
	types := map[string]int{}
	for _, i := range inds {
		types[i.Type]++
	}
	if types[IOCDomain] != 2 || types[IOCIP] != 2 || types[IOCCIDR] != 1 || types[IOCHash] != 1 || types[IOCAddress] != 1 {
		t.Errorf("csv types %v", types)
	}
	stix := `{"type":"bundle","id":"bundle--1","objects":[{"type":"indicator","spec_version":"2.1","name":"C2","pattern":"[domain-name:value = 'bad.example'] OR [ipv4-addr:value = '192.0.2.9']","pattern_type":"stix"},
	{"type":"indicator","pattern":"[file:hashes.'SHA-256' = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa']"},{"type":"malware","name":"x"}]}`
	inds, probs = ParseIntel("feed.json", []byte(stix))
	if len(inds) != 3 || len(probs) != 0 || inds[2].Type != IOCHash {
		t.Fatalf("stix: %+v %v", inds, probs)
	}
	misp := `{"Event":{"info":"phish","Attribute":[{"type":"domain","value":"phish.example"},{"type":"ip-dst|port","value":"198.51.100.7|443"},{"type":"sha256","value":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},{"type":"comment","value":"hello world"}]}}`
	inds, _ = ParseIntel("misp.json", []byte(misp))
	vals := map[string]string{}
	for _, i := range inds {
		vals[i.Value] = i.Type
	}
	if vals["phish.example"] != IOCDomain || vals["198.51.100.7"] != IOCIP || len(vals) != 3 {
		t.Errorf("misp: %+v", inds)
	}
	if _, probs := ParseIntel("x.json", []byte("{bad")); len(probs) != 1 {
		t.Error("bad JSON not reported")
	}
}

func TestIntelMatch(t *testing.T) {
	inds, _ := ParseIntel("f.csv", []byte("domain,evil-c2.example\nip,203.0.113.66\ncidr,198.51.100.0/24\naddress,NQSNLLN4RECXZBOS2MJY3VNWCAGBZ2LBOQVQY77U\n"))
	s := newIntelSet(inds)
	f := func(e event.Event, want string) {
		t.Helper()
		ind := s.Match(&e)
		got := ""
		if ind != nil {
			got = ind.Value
		}
		if got != want {
			t.Errorf("Match(%+v) = %q, want %q", e, got, want)
		}
	}
	f(event.Event{Fields: []event.Field{{Name: "dns.question.name", Value: "beacon.evil-c2.example"}}}, "evil-c2.example")
	f(event.Event{Raw: "CONNECT evil-c2.example:443 HTTP/1.1"}, "evil-c2.example")
	f(event.Event{Raw: "TCP_TUNNEL/200 0 CONNECT not-evil-c2.example:443"}, "")
	f(event.Event{Fields: []event.Field{{Name: "dst", Value: "198.51.100.200"}}}, "198.51.100.0/24")
	f(event.Event{Raw: "conn from 203.0.113.66:5555 accepted"}, "203.0.113.66")
	f(event.Event{Fields: []event.Field{{Name: "dest_address", Value: "NQSNLLN4RECXZBOS2MJY3VNWCAGBZ2LBOQVQY77U"}}}, "NQSNLLN4RECXZBOS2MJY3VNWCAGBZ2LBOQVQY77U")
	f(event.Event{Raw: "example is fine", Fields: []event.Field{{Name: "x", Value: "2.example"}}}, "")
	evs := []event.Event{{Raw: "ok"}, {Raw: "to 203.0.113.66"}}
	if n := s.Enrich(evs); n != 1 {
		t.Fatalf("Enrich = %d", n)
	}
	if v, _ := evs[1].Get("threat.indicator.value"); v != "203.0.113.66" {
		t.Errorf("fields %v", evs[1].Fields)
	}
	sig := IntelSignal(&evs[1], "203.0.113.66")
	if sig.Kind != "intel" || sig.Severity != "high" || len(sig.Entities) == 0 {
		t.Errorf("intel signal %+v", sig)
	}
}

func TestIntelReload(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.csv"), []byte("ip,192.0.2.1\n"), 0o600)
	in, err := OpenIntel([]string{dir, filepath.Join(dir, "missing")}, nil)
	if err != nil || in.Set().Len() != 1 {
		t.Fatalf("open: %v %d", err, in.Set().Len())
	}
	if fresh, _ := in.Reload(); fresh != nil {
		t.Fatal("unchanged feeds reported new indicators")
	}
	os.WriteFile(filepath.Join(dir, "b.csv"), []byte("domain,new-c2.example\nip,192.0.2.1\n"), 0o600)
	fresh, err := in.Reload()
	if err != nil || len(fresh) != 1 || fresh[0].Value != "new-c2.example" || in.Set().Len() != 2 {
		t.Fatalf("reload: %v %+v", err, fresh)
	}
}

func FuzzParseIntel(f *testing.F) {
	f.Add([]byte("ip,1.2.3.4\nevil.example\n"))
	f.Add([]byte(`{"type":"bundle","objects":[{"type":"indicator","pattern":"[url:value = 'http://x.example/a']"}]}`))
	f.Add([]byte(`{"Event":{"Attribute":[{"type":"ip-src","value":"10.0.0.1"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		inds, _ := ParseIntel("f", data)
		s := newIntelSet(inds)
		e := event.Event{Raw: string(data)}
		s.Match(&e)
	})
}

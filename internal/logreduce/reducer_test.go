package logreduce

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func reduce(opts Options, lines ...string) *Reducer {
	r := New(opts)
	for _, l := range lines {
		r.Add(l)
	}
	return r
}

func sshLines(day, n int) []string {
	users := []string{"alice", "bob", "carol", "dave", "erin"}
	var out []string
	for i := 0; i < n; i++ {
		out = append(out,
			fmt.Sprintf("Failed password for %s from 10.0.%d.%d port %d ssh2", users[(i+day)%len(users)], day, i%250, 1000+i),
			fmt.Sprintf("Accepted publickey for %s from 192.168.%d.1 port %d ssh2", users[i%len(users)], i%7, 2000+i),
			fmt.Sprintf("session opened for user %s by (uid=%d)", users[(i*3)%len(users)], i%3))
	}
	return out
}

func TestSignatures(t *testing.T) {
	r := reduce(Options{}, sshLines(1, 50)...)
	sigs := r.Signatures()
	var got []string
	for _, s := range sigs {
		got = append(got, fmt.Sprintf("%d %s", s.Count, s.Template))
	}
	want := []string{
		"50 Accepted publickey for <*> from <*> port <*> ssh2",
		"50 Failed password for <*> from <*> port <*> ssh2",
		"50 session opened for user <*> by (uid=<*>)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("signatures (-want +got):\n%s", diff)
	}
	s := sigs[0]
	if s.Share < 0.33 || s.Share > 0.34 || len(s.Examples) != 3 || s.ID != SignatureID(s.Template) {
		t.Errorf("signature %+v: want share 1/3, 3 examples, id of template", s)
	}
	if want := "Accepted publickey for <*> from <IP> port <NUM> ssh2"; s.Display != want {
		t.Errorf("Display = %q, want %q", s.Display, want)
	}
	if r.Total() != 150 {
		t.Errorf("Total = %d, want 150", r.Total())
	}
}

// The same template gets the same id across runs, input orders and days.
func TestStableIDs(t *testing.T) {
	ids := func(lines []string) map[string]string {
		m := map[string]string{}
		for _, s := range reduce(Options{}, lines...).Signatures() {
			m[s.Template] = s.ID
		}
		return m
	}
	day1 := ids(sshLines(1, 40))
	day2 := ids(sshLines(2, 70))
	rev := sshLines(1, 40)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	reversed := ids(rev)
	if diff := cmp.Diff(day1, day2); diff != "" {
		t.Errorf("ids differ between days (-day1 +day2):\n%s", diff)
	}
	if diff := cmp.Diff(day1, reversed); diff != "" {
		t.Errorf("ids differ with input order (-fwd +rev):\n%s", diff)
	}
	if got, want := SignatureID("a <*> b"), SignatureID("a <*> b"); got != want || len(got) != 16 {
		t.Errorf("SignatureID not stable or not 16 hex: %q %q", got, want)
	}
}

func TestPerLineTemplates(t *testing.T) {
	r := New(Options{})
	lines := []string{
		"cupsd startup succeeded",
		"cupsd shutdown succeeded",
		"HBM brightnessIn =0.5",
		"HBM brightnessOut =0.7",
		"HBM brightnessIn =0.9",
		"Ending TrustedInstaller initialization.",
		"Starting TrustedInstaller initialization.",
	}
	var ids []int
	for _, l := range lines {
		ids = append(ids, r.Add(l))
	}
	var got []string
	for _, id := range ids {
		got = append(got, r.Template(id))
	}
	// Two-valued constant words are different events, not variables.
	want := []string{
		"cupsd startup succeeded",
		"cupsd shutdown succeeded",
		"HBM brightnessIn =<*>",
		"HBM brightnessOut =<*>",
		"HBM brightnessIn =<*>",
		"Ending TrustedInstaller initialization.",
		"Starting TrustedInstaller initialization.",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("templates (-want +got):\n%s", diff)
	}
	if r.Template(-1) != "" || r.Template(1000) != "" {
		t.Error("Template of an unknown cluster should be empty")
	}
}

func TestVariableLength(t *testing.T) {
	r := reduce(Options{},
		"a.com:443 close, 0 bytes sent, 0 bytes received, lifetime 00:17",
		"b.com:80 close, 4552 bytes (4.44 KB) sent, 1616 bytes (1.57 KB) received, lifetime 04:00",
		"c.net:443 close, 334 bytes sent, 3713 bytes (3.62 KB) received, lifetime 00:22",
		"d.org:443 close, 733 bytes sent, 229 bytes received, lifetime <1 sec",
	)
	if sigs := r.Signatures(); len(sigs) != 1 || sigs[0].Count != 4 {
		t.Errorf("got %d signatures %v, want 1 of 4 messages", len(sigs), sigs)
	}
}

func TestBoundedMemory(t *testing.T) {
	r := New(Options{MaxClusters: 10})
	for i := 0; i < 1000; i++ {
		// every message a different event: words never repeat
		r.Add(fmt.Sprintf("event%c%c happened w%dq", 'a'+i%26, 'a'+i/26%26, i))
	}
	if n := len(r.clusters); n > 11 {
		t.Errorf("%d clusters, want <= MaxClusters+overflow", n)
	}
	var total int64
	for _, s := range r.Signatures() {
		total += s.Count
	}
	if total != 1000 {
		t.Errorf("signatures count %d messages, want 1000", total)
	}
}

func TestMerge(t *testing.T) {
	lines := sshLines(3, 60)
	whole := reduce(Options{}, lines...)
	a := reduce(Options{}, lines[:len(lines)/2]...)
	b := reduce(Options{}, lines[len(lines)/2:]...)
	a.Merge(b)
	counts := func(r *Reducer) map[string]int64 {
		m := map[string]int64{}
		for _, s := range r.Signatures() {
			m[s.ID] = s.Count
		}
		return m
	}
	if diff := cmp.Diff(counts(whole), counts(a)); diff != "" {
		t.Errorf("merged shards differ from one run (-whole +merged):\n%s", diff)
	}
	if a.Total() != whole.Total() {
		t.Errorf("merged Total = %d, want %d", a.Total(), whole.Total())
	}
}

func TestCorrections(t *testing.T) {
	lines := sshLines(1, 30)
	base := reduce(Options{}, lines...).Signatures()
	var failed, accepted Signature
	for _, s := range base {
		switch {
		case strings.HasPrefix(s.Template, "Failed"):
			failed = s
		case strings.HasPrefix(s.Template, "Accepted"):
			accepted = s
		}
	}
	c := &Corrections{}
	c.Split("Failed password for alice from <*> port <*> ssh2")
	c.Edit("Login attempt for <*> from <*> port <*> ssh2", failed.ID, accepted.ID)
	c.Promote(SignatureID(Canonical("Failed password for alice from <*> port <*> ssh2")), 1)

	// The corrections survive a save and load.
	var buf bytes.Buffer
	if err := c.Save(&buf); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadCorrections(&buf)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	sigs := reduce(Options{Corrections: loaded}, lines...).Signatures()
	for _, s := range sigs {
		got[s.Template] = s.Count
	}
	want := map[string]int64{
		"Failed password for alice from <*> port <*> ssh2": 6,
		"Login attempt for <*> from <*> port <*> ssh2":     54,
		"session opened for user <*> by (uid=<*>)":         30,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("corrected signatures (-want +got):\n%s", diff)
	}
	if sigs[0].Rank != 1 || !strings.HasPrefix(sigs[0].Template, "Failed password for alice") {
		t.Errorf("promoted signature not first: %+v", sigs[0])
	}
}

func TestCorrectionsBadInput(t *testing.T) {
	for _, in := range []string{
		"",
		"{",
		`{"templates":[{"template":""}]}`,
		`{"templates":[{"template":"<*> <*>"}]}`,
		`{"merges":{"x":" "}}`,
		`[]`,
	} {
		if _, err := LoadCorrections(strings.NewReader(in)); err == nil {
			t.Errorf("LoadCorrections(%q) = nil error, want one", in)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := (Options{}).Validate(); err != nil {
		t.Errorf("zero Options: %v", err)
	}
	err := Options{Similarity: 2, MaxClusters: -1, MaxExamples: -1}.Validate()
	if err == nil || strings.Count(err.Error(), "\n") != 2 {
		t.Errorf("Validate = %v, want three problems", err)
	}
}

func TestAddKeys(t *testing.T) {
	r := New(Options{})
	a := r.AddKeys([]string{"user", "ip", "event"})
	b := r.AddKeys([]string{"event", "user", "ip", "ip"})
	c := r.AddKeys([]string{"event", "amount"})
	if r.Template(a) != r.Template(b) || r.Template(a) == r.Template(c) {
		t.Errorf("key sets: %q %q %q", r.Template(a), r.Template(b), r.Template(c))
	}
	if got, want := r.Template(a), "event, ip, user"; got != want {
		t.Errorf("Template = %q, want %q", got, want)
	}
}

func TestAddKeysExact(t *testing.T) {
	r := New(Options{})
	for _, k := range []string{"user", "name", "host", "addr"} {
		r.AddKeys([]string{"event", "ip", k})
	}
	if n := len(r.Signatures()); n != 4 {
		t.Errorf("%d signatures, want 4 distinct key sets", n)
	}
}

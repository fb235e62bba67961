package logreduce

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sig(template string, count int64) Signature {
	t := Canonical(template)
	return Signature{ID: SignatureID(t), Template: t, Count: count}
}

func TestCompare(t *testing.T) {
	baseline := []Signature{
		sig("login ok for <*>", 1000),
		sig("disk <*> full", 10),
		sig("backup done in <*> s", 100),
		sig("cache miss for <*> key <*> shard <*> node <*>", 500),
		sig("heartbeat from <*>", 2000),
	}
	target := []Signature{
		sig("login ok for <*>", 1010),                               // unchanged
		sig("backup done in <*> s", 400),                            // changed: 4x
		sig("privilege escalation by <*>", 30),                      // new
		sig("heartbeat from <*>", 1500),                             // changed: -25%, significant but below 50%: unchanged
		sig("cache miss for <*> key <*> shard <*> node <*> x", 480), // other length: new
		sig("cache miss for <*> key <*> shard <*> host <*>", 505),   // drifted: matched
	}
	got := map[string]ChangeKind{}
	changes := Compare(baseline, target, CompareOptions{})
	for _, c := range changes {
		got[c.Template] = c.Kind
	}
	want := map[string]ChangeKind{
		"login ok for <*>":                                KindUnchanged,
		"backup done in <*> s":                            KindChanged,
		"privilege escalation by <*>":                     KindNew,
		"disk <*> full":                                   KindGone,
		"heartbeat from <*>":                              KindUnchanged,
		"cache miss for <*> key <*> shard <*> node <*> x": KindNew,
		"cache miss for <*> key <*> shard <*> host <*>":   KindUnchanged,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
	// Ranked: new, gone, changed, unchanged; by score within a kind.
	for i := 1; i < len(changes); i++ {
		a, b := changes[i-1], changes[i]
		if kindOrder(a.Kind) > kindOrder(b.Kind) || (a.Kind == b.Kind && a.Score < b.Score) {
			t.Errorf("changes out of order at %d: %v %.2f before %v %.2f", i, a.Kind, a.Score, b.Kind, b.Score)
		}
	}
	for _, c := range changes {
		switch c.Template {
		case "backup done in <*> s":
			if c.DeltaPct < 200 || c.Score < 3 {
				t.Errorf("backup change: delta %.1f%% score %.2f, want > 200%% and >= 3", c.DeltaPct, c.Score)
			}
		case "cache miss for <*> key <*> shard <*> host <*>":
			if c.BaselineID != sig("cache miss for <*> key <*> shard <*> node <*>", 0).ID || c.BaselineCount != 500 {
				t.Errorf("drifted template not matched to its baseline: %+v", c)
			}
		case "privilege escalation by <*>":
			if c.DeltaPct != 100 || c.BaselineCount != 0 {
				t.Errorf("new signature: %+v", c)
			}
		case "disk <*> full":
			if c.DeltaPct != -100 || c.TargetCount != 0 {
				t.Errorf("gone signature: %+v", c)
			}
		}
	}
}

func TestCompareEmpty(t *testing.T) {
	if got := Compare(nil, nil, CompareOptions{}); len(got) != 0 {
		t.Errorf("Compare(nil, nil) = %v, want none", got)
	}
	got := Compare(nil, []Signature{sig("a <*>", 3)}, CompareOptions{})
	if len(got) != 1 || got[0].Kind != KindNew {
		t.Errorf("Compare(nil, one) = %+v, want one new", got)
	}
	got = Compare([]Signature{sig("a <*>", 3)}, nil, CompareOptions{})
	if len(got) != 1 || got[0].Kind != KindGone || got[0].Score <= 0 {
		t.Errorf("Compare(one, nil) = %+v, want one gone with a score", got)
	}
	if err := (CompareOptions{Similarity: 3, MinScore: -1}).Validate(); err == nil {
		t.Error("Validate accepted bad options")
	}
}

// Compare works on Reducer output: the same traffic is unchanged, a new
// event is new.
func TestCompareReducers(t *testing.T) {
	base := reduce(Options{}, sshLines(1, 100)...).Signatures()
	lines := append(sshLines(2, 100), "kernel: Out of memory: Killed process 4242 (java)")
	target := reduce(Options{}, lines...).Signatures()
	for _, c := range Compare(base, target, CompareOptions{}) {
		want := KindUnchanged
		if c.Template == "kernel: Out of memory: Killed process <*> (java)" {
			want = KindNew
		}
		if c.Kind != want {
			t.Errorf("%q: kind %v, want %v", c.Template, c.Kind, want)
		}
	}
}

// The joint form: both periods clustered by one Reducer get identical
// templates even when the periods alone would generalize differently.
func TestReducerCompare(t *testing.T) {
	r := New(Options{})
	for _, l := range sshLines(1, 100) {
		r.AddBaseline(l)
	}
	for _, l := range sshLines(2, 100) {
		r.Add(l)
	}
	for i := 0; i < 300; i++ {
		r.Add("Failed password for alice from 10.9.9.9 port 22 ssh2")
	}
	r.Add("kernel: Out of memory: Killed process 4242 (java)")
	got := map[string]ChangeKind{}
	for _, c := range r.Compare(CompareOptions{}) {
		got[c.Template] = c.Kind
		if c.Kind == KindChanged && (c.DeltaPct > 0) != strings.HasPrefix(c.Template, "Failed") {
			t.Errorf("%q: delta %.1f%%, want > 0 only for Failed", c.Template, c.DeltaPct)
		}
	}
	want := map[string]ChangeKind{
		"Failed password for <*> from <*> port <*> ssh2":    KindChanged,
		"Accepted publickey for <*> from <*> port <*> ssh2": KindChanged, // share halved
		"session opened for user <*> by (uid=<*>)":          KindChanged,
		"kernel: Out of memory: Killed process <*> (java)":  KindNew,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
	if r.Total() != 601 {
		t.Errorf("Total = %d, want 601 target messages", r.Total())
	}
}

package sigma

import (
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// sigmaHQPair compiles every SigmaHQ rule twice: compacted (as Compile
// does) and as compiled (the reference), once per test binary.
var sigmaHQPair = sync.OnceValues(func() ([2]*Engine, error) {
	return compilePair(sigmaHQDirsOf(filepath.Join(sharedSigma, "sigmahq"))...)
})

// compilePair compiles the rules of dirs compacted and as compiled.
func compilePair(dirs ...string) ([2]*Engine, error) {
	var out [2]*Engine
	rs, _, err := LoadDir(dirs...)
	if err != nil {
		return out, err
	}
	for i, o := range []Options{{}, {noCompact: true}} {
		if out[i], _, err = Compile(rs.Rules, o); err != nil {
			return out, err
		}
	}
	return out, nil
}

func sigmaHQDirsOf(root string) []string {
	var dirs []string
	for _, d := range []string{"rules", "rules-emerging-threats", "rules-threat-hunting", "rules-placeholder"} {
		dirs = append(dirs, filepath.Join(root, d))
	}
	return dirs
}

func compactPair(t testing.TB) (compact, plain *Engine) {
	t.Helper()
	sigmaHQDirs(t) // skips when the corpus is absent
	p, err := sigmaHQPair()
	if err != nil {
		t.Fatal(err)
	}
	return p[0], p[1]
}

// TestCompactSameResults checks that compaction (one array per kind of
// node, matcher and literal) changes no match: every SigmaHQ rule over the
// dev events, compacted against as compiled.
func TestCompactSameResults(t *testing.T) {
	compact, plain := compactPair(t)
	inputs := []string{filepath.Join(sharedSigma, "dev/logs.jsonl"), filepath.Join(sharedSigma, "dev/evtx")}
	got, want := huntMatches(t, compact, inputs), huntMatches(t, plain, inputs)
	if len(want) == 0 {
		t.Fatal("no rule matched any dev event: the comparison proves nothing")
	}
	diffLines(t, "compacted vs as compiled", got, want)
	// Random events over the engine's own fields and literals: leaves of
	// every kind (lists, globs, negations, keyword searches) see values
	// that match and values that nearly do.
	r := rand.New(rand.NewPCG(7, 8))
	lits := compactLiterals(plain)
	hits := 0
	for range 3000 {
		ev := randomSigmaEvent(r, plain, lits)
		g, w := matchIDs(compact, ev), matchIDs(plain, ev)
		if !slices.Equal(g, w) {
			t.Fatalf("event %+v: compacted %v, as compiled %v", ev, g, w)
		}
		hits += len(w)
	}
	if hits == 0 {
		t.Error("no random event matched: the comparison proves nothing")
	}
}

// compactLiterals lists the engine's prefilter literals (without the
// whole-value mark): text the rules look for.
func compactLiterals(e *Engine) []string {
	out := make([]string, 0, len(e.pf.keys))
	for _, k := range e.pf.keys {
		out = append(out, strings.TrimPrefix(k.lit, exactMark))
	}
	return out
}

// randomSigmaEvent builds an event of a few of the engine's fields (a
// channel among them) whose values join literals of its rules, cut or
// upper-cased at random, with a raw text of the values.
func randomSigmaEvent(r *rand.Rand, e *Engine, lits []string) *event.Event {
	channels := []string{"Microsoft-Windows-Sysmon/Operational", "Security", "System", "Microsoft-Windows-PowerShell/Operational"}
	ev := &event.Event{}
	ev.Fields = append(ev.Fields, event.Field{Name: "Channel", Value: channels[r.IntN(len(channels))]})
	ev.Fields = append(ev.Fields, event.Field{Name: "EventID", Value: []string{"1", "3", "4688", "4104", "7045", "11", "13"}[r.IntN(7)]})
	var raw strings.Builder
	for range 1 + r.IntN(6) {
		var v strings.Builder
		for range 1 + r.IntN(3) {
			l := lits[r.IntN(len(lits))]
			switch r.IntN(4) {
			case 0:
				l = l[:r.IntN(len(l)+1)]
			case 1:
				l = strings.ToUpper(l)
			}
			v.WriteString(l)
			if r.IntN(2) == 0 {
				v.WriteByte(" \\|x"[r.IntN(4)])
			}
		}
		ev.Fields = append(ev.Fields, event.Field{Name: e.slots[r.IntN(len(e.slots))], Value: v.String()})
		raw.WriteString(v.String())
		raw.WriteByte(' ')
	}
	if r.IntN(2) == 0 {
		ev.Raw = raw.String()
	}
	return ev
}

// smallPair is sigmaHQPair over two small folders (the Linux rules, with
// keyword searches, and the threat-hunting rules): a fuzz worker must
// compile within its time limit.
var smallPair = sync.OnceValues(func() ([2]*Engine, error) {
	root := filepath.Join(sharedSigma, "sigmahq")
	return compilePair(filepath.Join(root, "rules", "linux"), filepath.Join(root, "rules-threat-hunting"))
})

func FuzzCompactEngine(f *testing.F) {
	f.Add(uint64(1), "mimikatz")
	f.Add(uint64(2), "\\windows\\temp\\x.exe -enc")
	f.Fuzz(func(t *testing.T, seed uint64, extra string) {
		sigmaHQDirs(t) // skips when the corpus is absent
		p, err := smallPair()
		if err != nil {
			t.Fatal(err)
		}
		compact, plain := p[0], p[1]
		r := rand.New(rand.NewPCG(seed, 1))
		all := compactLiterals(plain)
		lits := []string{extra}
		for range 20 {
			lits = append(lits, all[r.IntN(len(all))])
		}
		for range 5 {
			ev := randomSigmaEvent(r, plain, lits)
			ev.Fields = append(ev.Fields, event.Field{Name: plain.slots[r.IntN(len(plain.slots))], Value: extra})
			if g, w := matchIDs(compact, ev), matchIDs(plain, ev); !slices.Equal(g, w) {
				t.Fatalf("event %+v: compacted %v, as compiled %v", ev, g, w)
			}
		}
	})
}

// TestSlimRules checks Options.SlimRules: the engine's rules lose their
// Detection and nothing else, Rules and Match.Rule give the same copies,
// and the matches are those of the full rules.
func TestSlimRules(t *testing.T) {
	rules, err := ParseRule([]byte(`title: Whoami
id: 6c3b2d6a-0000-4000-8000-000000000001
status: test
level: high
tags: [attack.discovery, attack.t1033]
references: [https://example.com/a]
logsource: {product: windows, category: process_creation}
detection:
  sel: {Image|endswith: '\whoami.exe'}
  condition: sel
`))
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := Compile(rules, Options{SlimRules: true})
	if err != nil {
		t.Fatal(err)
	}
	got := e.Rules()
	if len(got) != 1 || got[0] == rules[0] {
		t.Fatalf("Rules() = %v, want one copy of the parsed rule", got)
	}
	want := *rules[0]
	want.Detection = Detection{}
	if !reflect.DeepEqual(*got[0], want) {
		t.Errorf("slim rule %+v, want %+v", *got[0], want)
	}
	if len(rules[0].Detection.Searches) == 0 {
		t.Error("the caller's rule lost its detection")
	}
	ev := &event.Event{Source: "WinEventLog", Fields: []event.Field{{Name: "Channel", Value: "Microsoft-Windows-Sysmon/Operational"},
		{Name: "EventID", Value: "1"}, {Name: "Image", Value: `C:\Windows\System32\whoami.exe`}}}
	var hits []*Rule
	e.Match(ev, func(m Match) { hits = append(hits, m.Rule) })
	if len(hits) != 1 || hits[0] != got[0] {
		t.Errorf("Match.Rule = %v, want the pointer Rules() gives (%p)", hits, got[0])
	}
}

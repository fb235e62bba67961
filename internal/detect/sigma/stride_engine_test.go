package sigma

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// strideRules are keyword and field rules whose needles give the stride
// matcher a short tier (4- and 5-byte needles beside long ones, as the
// Linux keyword rules have) and bytes the case merge maps together
// ('\\' and '|', '@' and '`').
var strideRules = []string{
	"  kw:\n    - 'scp '\n    - 'sftp '\n    - 'mimikatz'\n    - '/tmp/x'\n    - 'x:\\y'\n    - 'a|b@c'\n    - '`tick`x'\n    - 'sekurlsa::logonpasswords'\n  condition: kw\n",
	"  sel:\n    CommandLine|contains:\n      - ' -c '\n      - '.exe'\n      - 'a\\b|c'\n      - 'powershell -enc'\n      - '@@ab'\n  condition: sel\n",
	"  sel:\n    CommandLine|contains|all:\n      - 'rsync '\n      - '@host:'\n  condition: sel\n",
}

// strideEngine compiles strideRules into one engine.
func strideEngine(t testing.TB, opts Options) *Engine {
	t.Helper()
	var rules []*Rule
	for i, d := range strideRules {
		text := fmt.Sprintf("title: t%d\nid: 00000000-0000-0000-0000-00000000000%d\nlogsource:\n  product: test\ndetection:\n%s", i, i, d)
		rs, err := ParseRule([]byte(text))
		if err != nil {
			t.Fatalf("ParseRule(%q): %v", text, err)
		}
		rules = append(rules, rs...)
	}
	opts.Pipeline = testPipeline()
	e, issues, err := Compile(rules, opts)
	if err != nil || len(issues) > 0 {
		t.Fatalf("Compile: %v %v", err, issues)
	}
	return e
}

// strideEvents makes the events a line is matched as: Raw the line with
// its words as fields (the first one the command line), the words alone
// (no Raw), and the words as copies beside an unrelated Raw (values not
// in the raw text are scanned on their own), each also upper-cased.
func strideEvents(line string) []*event.Event {
	var out []*event.Event
	for _, l := range []string{line, strings.ToUpper(line)} {
		ev := rawEvent(l)
		if len(ev.Fields) > 0 {
			ev.Fields[0].Name = "CommandLine"
		}
		bare := &event.Event{Fields: slices.Clone(ev.Fields)}
		copied := &event.Event{Raw: "unrelated raw text"}
		for _, f := range ev.Fields {
			copied.Fields = append(copied.Fields, event.Field{Name: f.Name, Value: strings.Clone(f.Value)})
		}
		out = append(out, ev, bare, copied)
	}
	return out
}

// TestStrideEngineSameResults checks, against the engine without the
// prefilter, that short-tier needles are found at every position of raw
// texts and values (the end of a text included, where only the 2-byte
// window fits), in both cases and next to the merged bytes.
func TestStrideEngineSameResults(t *testing.T) {
	fast, slow := strideEngine(t, Options{}), strideEngine(t, Options{NoPrefilter: true})
	if kw := fast.pf.altKW; len(kw) == 0 || kw[0] == nil || kw[0].ac.stride == nil || kw[0].ac.stride.short.bits == nil {
		t.Fatal("the keyword rule's matcher has no short tier: the test proves nothing")
	}
	if ac := fast.pf.slotAC[fast.slotIdx["commandline"]]; ac == nil || ac.stride == nil || ac.stride.short.bits == nil {
		t.Fatal("the command line's matcher has no short tier: the test proves nothing")
	}
	lines := []string{
		"scp file host:", "x scp", "SCP ", "sftp  user", "xsftp z", "sft p",
		"a|b@c", "a\\b`c", "A|B@C", "`tick`x", "@tick@x", "x:\\y", "x:|y",
		"run -c ls", "c:\\a.exe", "a\\b|c", "a|b\\c", "powershell -ENC abc", "@@ab", "``ab",
		"rsync @host: x", "rsync x|@host:", "mimikatz", "mimikat", "sekurlsa::logonpasswords",
	}
	r := rand.New(rand.NewPCG(3, 4))
	pieces := []string{"scp ", "/tmp/x", "sftp ", "a|b@c", "x:\\y", " -c ", ".exe", "@@ab", "rsync ", "@host:", "mimikatz", "`tick`x"}
	for range 3000 {
		var b strings.Builder
		for range 1 + r.IntN(5) {
			switch r.IntN(3) {
			case 0:
				p := pieces[r.IntN(len(pieces))]
				if r.IntN(3) == 0 { // a cut needle
					p = p[:r.IntN(len(p))]
				}
				b.WriteString(p)
			case 1:
				b.WriteByte("ab cS|\\@`:-.xP"[r.IntN(14)])
			default:
				b.WriteString(strings.Repeat("z", r.IntN(7)))
			}
		}
		lines = append(lines, b.String())
	}
	hits := 0
	for _, line := range lines {
		for i, ev := range strideEvents(line) {
			got, want := matchIDs(fast, ev), matchIDs(slow, ev)
			if !slices.Equal(got, want) {
				t.Fatalf("%q (variant %d): matches %v, want %v", line, i, got, want)
			}
			hits += len(want)
		}
	}
	if hits == 0 {
		t.Error("no rule matched: the comparison proves nothing")
	}
}

func FuzzStrideEngine(f *testing.F) {
	f.Add("scp file host:")
	f.Add("a|b@c x:\\y sftp ")
	f.Add("rsync x|@host: -c .EXE")
	var fast, slow *Engine
	f.Fuzz(func(t *testing.T, line string) {
		if fast == nil {
			fast, slow = strideEngine(t, Options{}), strideEngine(t, Options{NoPrefilter: true})
		}
		for i, ev := range strideEvents(line) {
			if got, want := matchIDs(fast, ev), matchIDs(slow, ev); !slices.Equal(got, want) {
				t.Fatalf("%q (variant %d): matches %v, want %v", line, i, got, want)
			}
		}
	})
}

package sigma

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/query"
)

func huntTestdata(t *testing.T, opts HuntOptions, paths ...string) ([]map[string]any, *HuntStats) {
	t.Helper()
	rs, issues, err := LoadDir("testdata/rule_basic.yml")
	if err != nil || len(issues) > 0 {
		t.Fatalf("LoadDir: %v %v", err, issues)
	}
	e, _, err := Compile(rs.Rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	stats, err := Hunt(context.Background(), e, paths, opts, &out)
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("output line %q: %v", l, err)
		}
		got = append(got, m)
	}
	return got, stats
}

// TestHuntBadLines: malformed lines are counted and skipped; valid lines
// next to them are still matched.
func TestHuntBadLines(t *testing.T) {
	got, stats := huntTestdata(t, HuntOptions{}, "testdata/events.jsonl")
	if stats.Malformed != 2 || stats.Events != 4 {
		t.Errorf("stats = %+v, want 2 malformed, 4 events", stats)
	}
	var ids []string
	for _, m := range got {
		ids = append(ids, m["event"].(map[string]any)["_eval_id"].(string))
		if m["rule_id"] != "502b42de-4306-40b4-9596-6f590c81f073" || m["level"] != "low" || m["line"] == nil {
			t.Errorf("match %v lacks rule metadata", m)
		}
		if tags, _ := m["tags"].([]any); len(tags) != 2 {
			t.Errorf("match %v: tags %v", m, m["tags"])
		}
	}
	if strings.Join(ids, ",") != "a,b,d" {
		t.Errorf("matched %v, want a,b,d", ids)
	}
	if got[0]["time"] != "2026-01-02T03:04:05Z" {
		t.Errorf("time = %v", got[0]["time"])
	}
}

func TestHuntSince(t *testing.T) {
	since, _ := event.ParseTime("2026-06-01T00:00:00Z")
	got, _ := huntTestdata(t, HuntOptions{Since: since}, "testdata/events.jsonl")
	// Event a is older; b and d have no time and are kept.
	if len(got) != 2 {
		t.Errorf("got %d matches, want 2", len(got))
	}
}

func FuzzFlattenJSON(f *testing.F) {
	data, _ := os.ReadFile("testdata/events.jsonl")
	for _, l := range strings.Split(string(data), "\n") {
		f.Add(l)
	}
	f.Add(`{"a":[1,{"b":"\ud83d\ude00"}],"c":{"d":null,"e":true}}`)
	f.Add(`{"a":"\u00"}`)
	var fl jsonFlattener
	f.Fuzz(func(t *testing.T, line string) {
		fs, err := fl.flatten(line, nil)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		valid := json.Valid([]byte(line))
		if !valid && utf8.ValidString(line) {
			t.Fatalf("flatten accepted invalid JSON %q", line)
		}
		_ = fs
	})
}

func FuzzParseRule(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yml")
	for _, s := range seeds {
		b, _ := os.ReadFile(s)
		f.Add(string(b))
	}
	f.Add("title: x\ndetection:\n  sel:\n    a|re: '('\n  condition: sel\n")
	f.Add("action: global\ntitle: x\n---\ndetection: {s: [a, {b: c}], condition: 1 of s*}\n")
	f.Fuzz(func(t *testing.T, text string) {
		rules, err := ParseRule([]byte(text))
		if err != nil && err.Error() == "" {
			t.Fatal("empty error message")
		}
		e, _, err := Compile(rules, Options{})
		if err != nil {
			return
		}
		e.Match(fields("a", "b", "Image", text), func(Match) {})
		// The retro-hunt prefilter of any rule is a valid query.
		if q := e.QueryPrefilter(); q != "*" {
			if _, err := query.Parse(q); err != nil {
				t.Fatalf("QueryPrefilter %q does not parse: %v", q, err)
			}
		}
	})
}

// TestLoadDirIssues: a broken file is reported with its position and the
// good rules beside it still load.
func TestLoadDirIssues(t *testing.T) {
	dir := t.TempDir()
	good, _ := os.ReadFile("testdata/rule_basic.yml")
	files := map[string]string{
		"a/good.yml":   string(good),
		"a/bad.yaml":   "title: x\ndetection:\n  sel: [a\n",
		"b/nodet.yml":  "title: y\nlogsource: {product: windows}\n",
		"b/readme.txt": "not a rule",
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rs, issues, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rs.Files != 3 || len(rs.Rules) != 1 || len(issues) != 2 {
		t.Fatalf("files %d rules %d issues %v", rs.Files, len(rs.Rules), issues)
	}
	for _, li := range issues {
		if li.Reason != ReasonInvalid || li.Line == 0 || li.Path == "" {
			t.Errorf("issue %v lacks reason, line or path", li)
		}
	}
}

// TestMaybeTimeField checks the quick test before the time field lookup:
// it never rules out a time field.
func TestMaybeTimeField(t *testing.T) {
	for _, n := range timeFields {
		if !maybeTimeField(n) {
			t.Errorf("maybeTimeField(%q) = false", n)
		}
	}
	for _, n := range []string{"", "x", "winlog.event_data.Image", "Event.EventData.CommandLine"} {
		if maybeTimeField(n) {
			t.Errorf("maybeTimeField(%q) = true", n)
		}
	}
}

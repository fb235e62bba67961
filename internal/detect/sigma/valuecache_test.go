package sigma

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// TestValueCacheSameResults checks that the value cache (and the leaf
// results memoized in it) changes nothing: every SigmaHQ Windows rule gives
// the same matches on the dev events with the default cache (first pass:
// misses, later passes: hits), with a cache of one set (every value evicts
// another) and without one, as given and upper-cased.
func TestValueCacheSameResults(t *testing.T) {
	def := loadWindowsEngine(t)
	caches := map[string]*Engine{
		"default": def, // run with its own scratch space (see below)
		"one-set": loadWindowsEngineWith(t, Options{ValueCache: cacheWays}),
	}
	off := loadWindowsEngineWith(t, Options{ValueCache: -1})
	lines := loadDevLines(t)
	var fl jsonFlattener
	hits := 0
	// One scratch space for the default engine, to look at its cache.
	st := caches["default"].newState()
	caches["default"] = nil
	for pass := 0; pass < 3; pass++ {
		for n, l := range lines {
			fs, err := fl.flatten(l, nil)
			if err != nil {
				t.Fatalf("line %d: %v", n+1, err)
			}
			if pass == 2 {
				for i := range fs {
					fs[i].Value = strings.ToUpper(fs[i].Value)
				}
			}
			ev := event.Event{Fields: fs}
			want := matchIDs(off, &ev)
			hits += len(want)
			for name, e := range caches {
				var got []string
				if e == nil {
					e = def
					e.match(st, &ev, func(m Match) { got = append(got, m.Rule.ID) })
					slices.Sort(got)
				} else {
					got = matchIDs(e, &ev)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s cache, pass %d, line %d: matches %v, want %v", name, pass, n+1, got, want)
				}
			}
		}
	}
	if hits == 0 {
		t.Error("no rule matched any dev event: the comparison proves nothing")
	}
	if st.vcache == nil || st.vcache.hits == 0 || st.vcache.misses == 0 {
		t.Error("value cache not exercised")
	} else {
		t.Logf("value cache: %d hits, %d misses", st.vcache.hits, st.vcache.misses)
	}
}

// TestValueCacheMemoSameValue checks memoized leaves against events that
// share a value and differ elsewhere: a leaf result depends on its own
// value only, a field reference (another field's value) is never memoized.
func TestValueCacheMemoSameValue(t *testing.T) {
	e := compileOne(t, `  sel:
    CommandLine|re: 'run\s+payload'
    Image|endswith: '\evil.exe'
  ref:
    CommandLine|fieldref|contains: ParentImage
  mark:
    CommandLine|contains: 'runner.exe'
  condition: sel or (ref and mark)
`, Options{})
	if e.Stats().PrefilteredRules != 1 {
		t.Fatal("the rule has no prefilter: the value cache is not used")
	}
	cmd := `C:\tools\runner.exe --mode run   payload --verbose`
	tests := []struct {
		name string
		ev   *event.Event
		want bool
	}{
		{"both", fields("CommandLine", cmd, "Image", `C:\x\evil.exe`), true},
		{"same command line, other image", fields("CommandLine", cmd, "Image", `C:\x\good.exe`), false},
		{"again", fields("CommandLine", cmd, "Image", `C:\x\EVIL.exe`), true},
		{"fieldref hit", fields("CommandLine", cmd, "Image", `C:\x\good.exe`, "ParentImage", `runner.exe`), true},
		{"fieldref miss", fields("CommandLine", cmd, "Image", `C:\x\good.exe`, "ParentImage", `other.exe`), false},
		{"other command line", fields("CommandLine", `C:\tools\runner.exe --mode walk payload`, "Image", `C:\x\evil.exe`), false},
	}
	for round := 0; round < 3; round++ { // later rounds hit the cache
		for _, tc := range tests {
			if got := matches(e, tc.ev); got != tc.want {
				t.Errorf("round %d, %s: matched %v, want %v", round, tc.name, got, tc.want)
			}
		}
	}
}

func TestValueCacheLookup(t *testing.T) {
	c := newValueCache(cacheWays) // one set
	v := "C:\\Windows\\System32\\svchost.exe"
	i, h, ok := c.lookup(3, nil, v, 1)
	if ok || i < 0 {
		t.Fatalf("empty cache: lookup = %d, %v", i, ok)
	}
	c.store(i, h, 3, nil, v, []int32{7, 9}, 1)
	if j, _, ok := c.lookup(3, nil, v, 2); !ok || j != i || !slices.Equal(c.ents[j].keys, []int32{7, 9}) {
		t.Errorf("lookup after store = %d, %v, keys %v", j, ok, c.ents[j].keys)
	}
	if _, _, ok := c.lookup(4, nil, v, 2); ok {
		t.Error("another slot's value hit")
	}
	kw := &kwMatcher{}
	if _, _, ok := c.lookup(3, kw, v, 2); ok {
		t.Error("a value scanned without keywords hit for a keyword matcher")
	}
	// A hash collision must not hit: same hash, other value.
	c.ents[i].val = []byte(strings.ToUpper(v))
	if _, _, ok := c.lookup(3, nil, v, 2); ok {
		t.Error("a different value with the same hash hit")
	}
	// Entries the current event uses are never replaced.
	c = newValueCache(cacheWays)
	for k := 0; k < cacheWays; k++ {
		s := strings.Repeat("x", 10+k)
		i, h, _ := c.lookup(0, nil, s, 5)
		c.store(i, h, 0, nil, s, nil, 5)
	}
	if i, _, ok := c.lookup(0, nil, "a new value", 5); ok || i >= 0 {
		t.Errorf("full set in use: lookup = %d, %v, want -1", i, ok)
	}
	// In the next event the least recently used one goes.
	c.tags[2].used = 4
	if i, _, _ := c.lookup(0, nil, "a new value", 6); i != 2 {
		t.Errorf("victim = %d, want the least recently used (2)", i)
	}
}

func TestLeafMemoTable(t *testing.T) {
	var e cacheEntry
	for id := int32(1); id <= maxMemo+50; id++ {
		e.memoPut(id, id%3 == 0)
	}
	for id := int32(1); id <= maxMemo+50; id++ {
		res, ok := e.memoGet(id)
		switch {
		case id <= maxMemo && (!ok || res != (id%3 == 0)):
			t.Fatalf("memoGet(%d) = %v, %v", id, res, ok)
		case id > maxMemo && ok:
			t.Fatalf("memoGet(%d) found beyond the cap", id)
		}
	}
	// Replacing the entry forgets its results.
	c := newValueCache(cacheWays)
	c.ents[0] = e
	c.store(0, 1, 0, nil, "another value", nil, 9)
	if _, ok := c.ents[0].memoGet(3); ok {
		t.Error("memo survived replacing the entry")
	}
}

// TestFewNeedles compares the few-needle matcher with the anchor matcher
// on random texts, lower-cased and not.
func TestFewNeedles(t *testing.T) {
	sets := [][]string{
		{`\perfc.dat`},
		{"mimikatz", "sekurlsa::", "kerberos::golden"},
		{"abcd", "bcda", "zz", "a"},
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := "abcdzAZ:.\\ sekurlsa::MIMIKATZ\\perfc.dat"
	for _, needles := range sets {
		f := newFewNeedles(needles)
		if f == nil {
			t.Fatalf("newFewNeedles(%q) = nil", needles)
		}
		am := newAnchorMatcher(slices.DeleteFunc(slices.Clone(needles), func(s string) bool { return len(s) < 2 }))
		for k := 0; k < 2000; k++ {
			b := make([]byte, r.IntN(40))
			for i := range b {
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
			text := string(b)
			want := map[string]bool{}
			for _, n := range needles {
				if strings.Contains(strings.ToLower(text), n) {
					want[n] = true
				}
			}
			for _, fold := range []bool{true, false} {
				in := text
				if !fold {
					in = strings.ToLower(text)
				}
				got := map[string]bool{}
				for _, id := range f.scan(in, fold, nil) {
					got[needles[id]] = true
				}
				if len(got) != len(want) {
					t.Fatalf("scan(%q, fold=%v) = %v, want %v", in, fold, got, want)
				}
				for n := range want {
					if !got[n] {
						t.Fatalf("scan(%q, fold=%v) = %v, want %v", in, fold, got, want)
					}
				}
			}
			if len(am.needles) == len(needles) {
				n := len(am.scanText(text, true, nil, make([]uint32, len(needles)), 1))
				if n != len(want) {
					t.Fatalf("anchor matcher on %q: %d needles, few-needle matcher %d", text, n, len(want))
				}
			}
		}
	}
	if newFewNeedles([]string{"a", "b", "c", "d", "e"}) != nil || newFewNeedles([]string{"ünï"}) != nil {
		t.Error("newFewNeedles took too many needles or a non-ASCII one")
	}
}

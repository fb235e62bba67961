package query

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

// TestMarkCodes checks markCodes and countAllowed against plain loops:
// no value passes, one, several, codes beyond the table.
func TestMarkCodes(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 5))
	for _, n := range []int{0, 1, 5, 127, 128, 300, 65535} {
		for _, pass := range []int{0, 1, 1, 2, 50} { // values that pass
			allow := make([]bool, n+1)
			for range pass {
				allow[r.IntN(n+1)] = true
			}
			codes := make([]uint16, 1003) // not a multiple of 8
			for i := range codes {
				codes[i] = uint16(r.IntN(n + 3)) // some beyond allow
			}
			if n == 0 {
				allow = allow[:0]
			}
			in := func(c uint16) bool { return int(c) < len(allow) && allow[c] }
			var want int64
			for _, c := range codes {
				if in(c) {
					want++
				}
			}
			if got := countAllowed(codes, allow); got != want {
				t.Errorf("n %d pass %d: countAllowed = %d, want %d", n, pass, got, want)
			}
			if n+3 <= 256 { // the same with codes of one byte
				codes8 := make([]uint8, len(codes))
				for i, c := range codes {
					codes8[i] = uint8(c)
				}
				keep8 := make([]bool, len(codes))
				if got := countAllowed(codes8, allow); got != want {
					t.Errorf("n %d pass %d: countAllowed of bytes = %d, want %d", n, pass, got, want)
				}
				if any := markCodes(keep8, codes8, allow, true); any != (want > 0) {
					t.Errorf("n %d pass %d: markCodes of bytes reports %v", n, pass, any)
				}
				for i, c := range codes {
					if keep8[i] != in(c) {
						t.Fatalf("n %d pass %d: bytes row %d = %v, want %v", n, pass, i, keep8[i], in(c))
					}
				}
				prev8 := append([]bool(nil), keep8...)
				other8 := make([]uint8, len(codes))
				for i := range other8 {
					other8[i] = uint8(r.IntN(n + 3))
				}
				some := false
				any := markCodes(keep8, other8, allow, false)
				for i, c := range other8 {
					w := prev8[i] && in(uint16(c))
					some = some || w
					if keep8[i] != w {
						t.Fatalf("n %d pass %d: narrowed bytes row %d = %v, want %v", n, pass, i, keep8[i], w)
					}
				}
				if any != some {
					t.Errorf("n %d pass %d: narrowing bytes reports %v, want %v", n, pass, any, some)
				}
			}
			keep := make([]bool, len(codes))
			for i := range keep {
				keep[i] = i%3 != 0 // stale: set overwrites it
			}
			any := markCodes(keep, codes, allow, true)
			for i, c := range codes {
				if keep[i] != in(c) {
					t.Fatalf("n %d pass %d: set row %d = %v, want %v", n, pass, i, keep[i], in(c))
				}
			}
			if any != (want > 0) {
				t.Errorf("n %d pass %d: set reports %v, want %v", n, pass, any, want > 0)
			}
			prev := append([]bool(nil), keep...)
			other := make([]uint16, len(codes))
			for i := range other {
				other[i] = uint16(r.IntN(n + 3))
			}
			any = markCodes(keep, other, allow, false)
			some := false
			for i, c := range other {
				w := prev[i] && in(c)
				some = some || w
				if keep[i] != w {
					t.Fatalf("n %d pass %d: narrowed row %d = %v, want %v", n, pass, i, keep[i], w)
				}
			}
			if any != some {
				t.Errorf("n %d pass %d: narrow reports %v, want %v", n, pass, any, some)
			}
		}
	}
}

// TestIPTopMixed checks the top groups of a count by an IPv4 column when
// some blocks store it as numbers and others as text (a value that is
// not an address), so one address is counted both ways: the groups
// counted by text must join the numbers before the top is cut.
func TestIPTopMixed(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	evs := manyEvents(3000)
	r := rand.New(rand.NewPCG(8, 9))
	for i := range evs {
		e := &evs[i]
		// Few addresses with close counts: the top is decided by the
		// rows of both kinds of block.
		ip := fmt.Sprintf("10.0.0.%d", r.IntN(60))
		if e.Host == "h1" && i%50 == 1 {
			ip = "-" // h1's blocks store src_ip as text
		}
		if i%9 != 4 {
			e.Fields = append(e.Fields, fieldOf("src_ip", ip))
		}
		e.Fields = append(e.Fields, fieldOf("app", []string{"sshd", "nginx", "sshd"}[i%3]))
		if i%5 != 0 {
			e.Fields = append(e.Fields, fieldOf("outcome", []string{"success", "failure"}[i%2]))
		}
	}
	snap := storeSnapshot(t, evs, 100)
	wantBothKinds(t, snap, "src_ip")
	base := evs[0].Time
	ranges := [][2]int64{{0, 0}, {base + 777e9, base + 2500e9}}
	queries := []string{
		"* | count by src_ip | sort by _count desc | limit 1",
		"* | count by src_ip | sort by _count desc | limit 3",
		"* | count by src_ip | sort by _count desc | limit 12",
		"app=sshd outcome=failure | count by src_ip | sort by _count desc | limit 4",
		"app=sshd | count by src_ip | sort by _count desc | limit 2",
		"outcome=failure | count",
		"outcome!=failure | count",
		"app=sshd | count",
		"app=* | count",
		"src_ip=10.0.0.3 | count",
		"nothing=x | count",
		"app=nothing | count",
	}
	samePlain(t, snap, queries, ranges, "ipv4 top", func(text, want string) bool { return want == "" })
}

// wantBothKinds fails t unless the snapshot's blocks store the named
// columns as IPv4 numbers in some places and otherwise in others.
func wantBothKinds(t *testing.T, snap store.Snapshot, names ...string) {
	t.Helper()
	refs, _, err := snap.Blocks(context.Background(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var ipCols, others int
	for _, ref := range refs {
		il, ok := ref.(store.IPv4Loader)
		if !ok {
			t.Fatalf("%T is not a store.IPv4Loader", ref)
		}
		for _, name := range names {
			col, err := il.LoadIPv4(name)
			if err != nil {
				t.Fatal(err)
			}
			if col != nil {
				ipCols++
			} else {
				others++
			}
		}
	}
	if ipCols == 0 || others == 0 {
		t.Fatalf("%d ipv4 columns, %d others: want both", ipCols, others)
	}
}

// TestCountOneAbsent checks field=value | count (counted from codes,
// worker.countOne) on blocks that lack the field, store it constant, or
// code it with absent rows.
func TestCountOneAbsent(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	evs := manyEvents(2000)
	for i := range evs {
		e := &evs[i]
		switch {
		case i < 500: // no level at all
		case i < 1000:
			e.Fields = append(e.Fields, event.Field{Name: "level", Value: "info"})
		default:
			if i%4 != 0 {
				e.Fields = append(e.Fields, event.Field{Name: "level", Value: []string{"info", "warn", "error"}[i%3]})
			}
		}
	}
	snap := storeSnapshot(t, evs, 100)
	base := evs[0].Time
	ranges := [][2]int64{{0, 0}, {base + 450e9, base + 1530e9}}
	samePlain(t, snap, []string{
		"level=info | count",
		"level!=info | count",
		"level=warn | count",
		"level=* | count",
		`level="" | count`,
		"level=nothing | count",
		"level in (warn, error) | count",
		"level=INFO | count",
	}, ranges, "count by code", func(string, string) bool { return false })
}

// TestCountValuesWide checks field=value | count counted from the stored
// codes (store.ValueCounter) on dictionaries of more than 127 values,
// whose codes take one or two bytes, against the plain path.
func TestCountValuesWide(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	evs := manyEvents(3000)
	for i := range evs {
		e := &evs[i]
		e.Host = "h1" // one stream: blocks of 1500 rows
		v := (i * 31) % 300
		if i%2 == 0 {
			v = i % 5 // repeats among the first values: a dictionary pays
		}
		if i%7 != 3 {
			// acct2 holds the same values: the store may keep it as an
			// alias of acct.
			e.Fields = append(e.Fields, event.Field{Name: "acct", Value: fmt.Sprintf("u%d", v)}, event.Field{Name: "acct2", Value: fmt.Sprintf("u%d", v)})
		}
	}
	snap := storeSnapshot(t, evs, 1500)
	refs, _, err := snap.Blocks(context.Background(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	wide := 0
	for _, ref := range refs {
		if _, ok := ref.(store.ValueCounter); !ok {
			t.Fatalf("%T is not a store.ValueCounter", ref)
		}
		if dc, err := ref.(store.ColumnLoader).LoadDict("acct"); err == nil && dc != nil && len(dc.Dict) > 127 {
			wide++
		}
	}
	if wide == 0 {
		t.Fatal("no block codes acct with more than 127 values")
	}
	base := evs[0].Time
	ranges := [][2]int64{{0, 0}, {base + 450e9, base + 2530e9}}
	samePlain(t, snap, []string{
		"acct=u5 | count",
		"acct=u0 | count",
		"acct=u200 | count",
		"acct=u299 | count",
		"acct in (u1, u250, u7) | count",
		`acct="" | count`,
		"acct=nothing | count",
		"acct=U5 | count",
		"acct2=u5 | count",
		"acct2=u299 | count",
	}, ranges, "count by value", func(string, string) bool { return false })
}

// TestCountByReusedBuffer counts by a coded field whose blocks list the
// same values in another order: the codes are decoded into a reused
// buffer, so a group must not be remembered by a view of it.
func TestCountByReusedBuffer(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	evs := manyEvents(1600)
	for i := range evs {
		e := &evs[i]
		e.Host = "h1" // one stream: blocks in a row
		// Blocks alternate between dictionaries of the same layout: the
		// second value of one block sits where the next block keeps its
		// second value too, which a stale view would then read.
		vals := []string{"xx", "yy"}
		if i/100%2 == 1 {
			vals = []string{"ww", "zz"}
		}
		e.Fields = append(e.Fields, fieldOf("v", vals[i%2]))
	}
	snap := storeSnapshot(t, evs, 100)
	for _, text := range []string{"* | count by v", "v!=ww | count by v", "v!=xx | count by v"} {
		for _, workers := range []int{1, 2} {
			q := MustParse(text)
			o := Options{Workers: workers}
			if got, want := runText(t, snap, q, o), runText(t, plainSnapshot{snap}, q, o); got != want {
				t.Errorf("%q, %d workers:\n%s\nplain load:\n%s", text, workers, got, want)
			}
		}
	}
}

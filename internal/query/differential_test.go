package query

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

// TestDifferential checks, on random events and random search
// expressions, that Run (with block pruning, column loading and parallel
// workers) counts exactly the events MatchEvent accepts one by one.
func TestDifferential(t *testing.T) {
	evs := manyEvents(3000)
	for i := range evs {
		if i%5 == 0 {
			evs[i].Fields = append(evs[i].Fields, fieldOf("extra", fmt.Sprintf("x%d y", i%3)))
		}
		// Coded with absent rows, and IPv4 addresses (as numbers or text).
		if i%4 != 0 {
			evs[i].Fields = append(evs[i].Fields, fieldOf("lvl", []string{"info", "warn", "error"}[i%3]))
		}
		if i%6 != 1 {
			evs[i].Fields = append(evs[i].Fields, fieldOf("ip", fmt.Sprintf("10.0.%d.%d", i%2, i*7%40)))
		}
	}
	t.Run("mem", func(t *testing.T) { differential(t, evs, NewMemSource(evs, MemOptions{BlockRows: 97})) })
	t.Run("store", func(t *testing.T) {
		if testing.Short() {
			t.Skip("integration test; -short skips it")
		}
		differential(t, evs, storeSnapshot(t, evs, 97))
	})
}

func differential(t *testing.T, evs []event.Event, src store.Snapshot) {
	words := []string{"line", "user", "u1", "u3", "u6", "h2", "1", "12", "99", "zzz", "LINE", "use*", "u?", "li*e"}
	r := rand.New(rand.NewPCG(7, 9))
	var gen func(depth int) string
	gen = func(depth int) string {
		switch k := r.IntN(13); {
		case depth > 2 || k < 3:
			return words[r.IntN(len(words))]
		case k == 3:
			return fmt.Sprintf("user=u%d", r.IntN(8))
		case k == 4:
			return fmt.Sprintf("n>%d", r.IntN(3000))
		case k == 5:
			return fmt.Sprintf("_host=h%d", r.IntN(5))
		case k == 6:
			return "NOT " + gen(depth+1)
		case k == 7:
			return "(" + gen(depth+1) + " OR " + gen(depth+1) + ")"
		case k == 8:
			return `extra="x1 y"`
		case k == 10:
			return []string{"lvl=warn", "lvl!=info", "lvl=*", "lvl in (warn, error)", "lvl=nope"}[r.IntN(5)]
		case k == 11:
			return fmt.Sprintf("ip=10.0.%d.%d", r.IntN(3), r.IntN(40))
		case k == 12:
			return []string{"ip=10.0.1.0/24", "ip!=10.0.0.0/24", "ip=10.0.0.0/8", "ip in (10.0.0.7, 10.0.1.14)"}[r.IntN(4)]
		default:
			return gen(depth+1) + " " + gen(depth+1)
		}
	}
	for range 300 {
		text := gen(0)
		q, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q): %v", text, err)
		}
		m, err := q.Matcher()
		if err != nil {
			t.Fatalf("Matcher(%q): %v", text, err)
		}
		want := 0
		for i := range evs {
			if m.Match(&evs[i]) {
				want++
			}
		}
		cq := MustParse(q.String() + " | count")
		if q.Search == nil {
			cq = MustParse("| count")
		}
		var got string
		if _, err := Run(context.Background(), src, cq, Options{Workers: 1 + r.IntN(4)}, func(row Row) error {
			got, _ = row.Get("_count")
			return nil
		}); err != nil {
			t.Fatalf("Run(%q): %v", cq, err)
		}
		if got != fmt.Sprint(want) {
			t.Errorf("%q: Run counts %s, MatchEvent %d", text, got, want)
		}
	}
}

func TestPlanJSON(t *testing.T) {
	src := NewMemSource(manyEvents(100), MemOptions{})
	p, err := Explain(context.Background(), src, MustParse(`"a b" x=1 | count by user`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p)
	if err != nil || !strings.Contains(string(b), `"mode":"aggregate"`) {
		t.Errorf("json.Marshal(plan) = %s, %v", b, err)
	}
}

package query

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

// needleEvents returns events where a few rows hold needles: an address
// (in an ipv4 column, its alias and the raw text), a hash, a user whose
// value and the text around it form a phrase; some columns are absent in
// some rows or blocks.
func needleEvents(n int, seed uint64) []event.Event {
	rng := rand.New(rand.NewPCG(seed, 11))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	evs := make([]event.Event, n)
	for i := range evs {
		host := fmt.Sprintf("web-%d.corp", i%3)
		user := fmt.Sprintf("user%d", rng.IntN(40))
		ip := fmt.Sprintf("10.%d.%d.%d", rng.IntN(4), rng.IntN(256), rng.IntN(256))
		hash := fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())
		if i%173 == 5 {
			ip = "203.0.113.77"
		}
		if i%211 == 7 {
			user = "Zack.Hill"
		}
		if i%389 == 9 {
			hash = "9f86d081884c7d659a2feaa0c55ad015"
		}
		pid := fmt.Sprint(1000 + rng.IntN(30))
		raw := fmt.Sprintf("%s sshd[%s]: Failed password for user=%s from %s port 22 sha=%s", host, pid, user, ip, hash)
		e := event.Event{Time: base + int64(i)*int64(time.Second), Host: host, Source: "auth", Raw: raw,
			Fields: []event.Field{fieldOf("app", "sshd"), fieldOf("pid", pid), fieldOf("user", user), fieldOf("src_ip", ip),
				fieldOf("source.ip", ip), fieldOf("hash", hash)}}
		if i%3 == 0 {
			e.Fields = append(e.Fields, fieldOf("dst_ip", ip))
		}
		if i%7 == 0 {
			e.Fields = append(e.Fields, fieldOf("msg", fmt.Sprintf("note %d for %s", rng.IntN(1000), user)))
		}
		if i%500 < 3 {
			e.Raw = "" // no raw text
		}
		if i >= n/2 && i%2 == 0 {
			e.Category = "auth"
		}
		evs[i] = e
	}
	return evs
}

// rowSpySnapshot counts the LoadRows calls of its blocks.
type rowSpySnapshot struct {
	store.Snapshot
	calls *atomic.Int64
}

type rowSpyRef struct {
	store.BlockRef
	store.ColumnLoader
	store.IPv4Loader
	rl    store.RowLoader
	calls *atomic.Int64
}

func (s rowSpySnapshot) Blocks(ctx context.Context, q store.Query) ([]store.BlockRef, store.Stats, error) {
	refs, st, err := s.Snapshot.Blocks(ctx, q)
	for i, r := range refs {
		cl, _ := r.(store.ColumnLoader)
		ip, _ := r.(store.IPv4Loader)
		rl, _ := r.(store.RowLoader)
		if cl != nil && ip != nil && rl != nil {
			refs[i] = rowSpyRef{BlockRef: r, ColumnLoader: cl, IPv4Loader: ip, rl: rl, calls: s.calls}
		}
	}
	return refs, st, err
}

func (r rowSpyRef) LoadRows(cols []string, rows []int) (*store.Block, error) {
	r.calls.Add(1)
	return r.rl.LoadRows(cols, rows)
}

// TestNeedleSame checks that searches that match a few rows per block,
// whose rows are then loaded row-wise (store.RowLoader), give exactly the
// rows of plain loads: terms in ipv4 columns, their aliases and the raw
// templates, case-insensitive terms, phrases across a value and the text
// around it, absent columns, row stages, sorts and limits, time ranges
// that cut blocks.
func TestNeedleSame(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	evs := needleEvents(6000, 1)
	snap := storeSnapshot(t, evs, 700)
	refs, _, err := snap.Blocks(context.Background(), store.Query{})
	if err != nil || len(refs) == 0 {
		t.Fatalf("Blocks: %d, %v", len(refs), err)
	}
	if col, err := refs[0].(store.IPv4Loader).LoadIPv4("src_ip"); col == nil || err != nil {
		t.Fatalf("src_ip is not stored as IPv4 (%v): the terms' IPv4 path goes untested", err)
	}
	var calls atomic.Int64
	spy := rowSpySnapshot{snap, &calls}
	base := evs[0].Time
	ranges := [][2]int64{{0, 0}, {base + int64(333*time.Second), base + int64(4444*time.Second)}}
	queries := []string{
		`203.0.113.77`,
		`"203.0.113.77"`,
		`src_ip=203.0.113.77`,
		`source.ip=203.0.113.77`,
		`dst_ip=203.0.113.77`,
		`203.0.113.77 | limit 3`,
		`"0.113.77"`,
		`"203.0.113.77" NOT 10.1.2.3`,
		`203.0.113.77 | count by src_ip`,
		`"203.0.113.77" | count by dst_ip`,
		`203.0.113.77 | sort by _time asc | limit 4`,
		`9F86D081884C7D659A2FEAA0C55AD015`,
		`9f86d081884c7d659a2feaa0c55ad015 | fields _raw, hash`,
		`"user=zack"`,
		`"user=Zack.Hill from"`,
		`zack.hill`,
		`zack.hill | fields user, _time`,
		`zack.hill | where pid > 1010`,
		`zack.hill | sort by pid | limit 3`,
		`zack.hill NOT web-1.corp`,
		`zack.hill OR 203.0.113.77`,
		`nosuchfield=1 OR zack.hill`,
		`zack.hill _category=auth`,
		`"port 22 sha=9f86d081884c7d659a2feaa0c55ad015"`,
		`user=Zack.Hill | fields _raw`,
		`hash=9f86d081884c7d659a2feaa0c55ad015 app=sshd`,
		// Limits without row stages take a few rows of every block.
		`* | limit 5`,
		`sshd | limit 7`,
		`sshd | sort by _time asc | limit 6`,
		`sshd | where pid > 1010 | limit 5`,
		`_host=web-1.corp | limit 9`,
		`user=user3 | fields _raw | limit 4`,
	}
	samePlain(t, spy, queries, ranges, "row-wise loads", func(_, want string) bool { return want == "" })
	if calls.Load() == 0 {
		t.Error("no block was loaded row-wise: the test checks nothing")
	}
	t.Logf("%d row-wise loads", calls.Load())
}

func TestIPTermKind(t *testing.T) {
	for _, c := range []struct {
		text string
		kind int8
		ip   uint32
	}{
		{"203.0.113.77", 1, 203<<24 | 113<<8 | 77},
		{"0.0.0.0", 1, 0},
		{"203.0.113.077", 0, 0}, // not canonical: matched as text
		{"0.113.77", 0, 0},
		{"203.0.113.", 0, 0},
		{"", 0, 0},
		{"zack.hill", -1, 0},
		{"203.0.113.77:22", -1, 0},
		{"::1", -1, 0},
	} {
		if k, ip := ipTermKind(c.text); k != c.kind || ip != c.ip {
			t.Errorf("ipTermKind(%q) = %d, %#x; want %d, %#x", c.text, k, ip, c.kind, c.ip)
		}
	}
}

func TestIPTerms(t *testing.T) {
	for text, want := range map[string]bool{
		`203.0.113.77`:                    true,
		`"203.0.113.77" zack`:             true,
		`zack OR NOT 203.0.113.77`:        true,
		`203.0.113.77 src_ip=10.0.0.1`:    true,
		`zack`:                            false, // pruning drops IPv4 columns already
		`203.0.113.77 "0.113.77"`:         false,
		`203.0.113.77 203.0.*`:            false,
		`src_ip=203.0.113.77`:             false,
		`203.0.113.77 _raw matches /x y/`: true,
	} {
		p, err := newPlan(MustParse(text), &Options{})
		if err != nil {
			t.Fatal(err)
		}
		if p.ipTerms != want {
			t.Errorf("%q: ipTerms %v, want %v", text, p.ipTerms, want)
		}
	}
}

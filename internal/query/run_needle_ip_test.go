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

// needleIPSpy counts how its blocks' IPv4 columns are read: whole
// (LoadIPv4) or by address (IPv4EqualRows).
type needleIPSpy struct {
	store.Snapshot
	whole, byAddr *atomic.Int64
}

type needleIPSpyRef struct {
	store.BlockRef
	store.ColumnLoader
	store.BufLoader
	store.ValueCounter
	store.TimesRowLoader
	store.RawTermsChecker
	store.IPv4EqualMarker
	il            store.IPv4Loader
	er            store.IPv4EqualRower
	rl            store.RowLoader
	whole, byAddr *atomic.Int64
}

func (s needleIPSpy) Blocks(ctx context.Context, q store.Query) ([]store.BlockRef, store.Stats, error) {
	refs, st, err := s.Snapshot.Blocks(ctx, q)
	for i, r := range refs {
		cl, ok1 := r.(store.ColumnLoader)
		bl, ok2 := r.(store.BufLoader)
		vc, ok3 := r.(store.ValueCounter)
		tl, ok4 := r.(store.TimesRowLoader)
		rc, ok5 := r.(store.RawTermsChecker)
		mk, ok6 := r.(store.IPv4EqualMarker)
		il, ok7 := r.(store.IPv4Loader)
		er, ok8 := r.(store.IPv4EqualRower)
		rl, ok9 := r.(store.RowLoader)
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8 && ok9 {
			refs[i] = needleIPSpyRef{BlockRef: r, ColumnLoader: cl, BufLoader: bl, ValueCounter: vc, TimesRowLoader: tl, RawTermsChecker: rc,
				IPv4EqualMarker: mk, il: il, er: er, rl: rl, whole: s.whole, byAddr: s.byAddr}
		}
	}
	return refs, st, err
}

func (r needleIPSpyRef) LoadIPv4(name string) (*store.IPv4Column, error) {
	r.whole.Add(1)
	return r.il.LoadIPv4(name)
}

func (r needleIPSpyRef) IPv4EqualRows(name string, addr uint32, dst []int, buf *store.DictBuf) ([]int, bool, error) {
	r.byAddr.Add(1)
	return r.er.IPv4EqualRows(name, addr, dst, buf)
}

func (r needleIPSpyRef) LoadRows(cols []string, rows []int) (*store.Block, error) {
	return r.rl.LoadRows(cols, rows)
}

// TestNeedleIPSame checks searches of bare dotted quads on blocks whose
// IPv4 columns are searched by address on the stored planes (ipColumns,
// needleRows) against plain loads: the address in one or two IPv4 columns,
// as text in the raw text of some rows (a literal, so _raw stays in
// those blocks' loads), in a text column, with other terms, negations,
// field conjuncts that leave few candidates, two addresses (loaded
// whole), 0.0.0.0, limits, counts and time ranges that cut blocks.
func TestNeedleIPSame(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	evs := ipNeedleEvents(4*8192+600, 3)
	var whole, byAddr atomic.Int64
	snap := needleIPSpy{storeSnapshot(t, evs, 8192), &whole, &byAddr}
	// Blocks whose _raw the search of the address leaves out take the
	// rows found by address only (needleRows): some must.
	refs, _, err := snap.Snapshot.Blocks(context.Background(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	left := 0
	for _, r := range refs {
		if rc, ok := r.(store.RawTermsChecker); ok {
			if ok, err := rc.TermsOnlyInValues([]string{"203.0.113.77"}, r.Columns()); err != nil {
				t.Fatal(err)
			} else if ok {
				left++
			}
		}
	}
	if left < 2 {
		t.Fatalf("%d blocks leave _raw out for the address: the test checks little", left)
	}
	base := evs[0].Time
	ranges := [][2]int64{{0, 0}, {base + int64(3333*time.Second), base + int64(20000*time.Second)}}
	queries := []string{
		`"203.0.113.77"`,
		`203.0.113.77 | limit 4`,
		`203.0.113.77 | sort by _time asc | limit 5`,
		`203.0.113.77 | count`,
		`203.0.113.77 | count by dst_ip`,
		`203.0.113.77 | fields _raw, src_ip, dst_ip`,
		`203.0.113.77 pid>1500`,
		`203.0.113.77 src_ip=203.0.113.77 | count`,
		`203.0.113.77 sshd | count`,
		`203.0.113.77 user=root | count`,
		`203.0.113.77 user=root | limit 3`,
		`203.0.113.77 OR alice | count`,
		`203.0.113.77 OR root | count`,
		`NOT 203.0.113.77 | count`,
		`203.0.113.77 NOT kernel | count`,
		`203.0.113.77 OR 10.0.0.1 | count`,
		`"0.0.0.0" | count`,
		`"0.0.0.0" | limit 3`,
		`"203.0.113.77" seen`,
	}
	whole.Store(0)
	byAddr.Store(0)
	samePlain(t, snap, queries[:1], ranges, "by address", func(_, want string) bool { return want == "" })
	if byAddr.Load() == 0 || whole.Load() != 0 {
		t.Errorf("%q: %d columns searched by address, %d loaded whole; want some and none", queries[0], byAddr.Load(), whole.Load())
	}
	samePlain(t, snap, queries[1:], ranges, "by address", func(text, want string) bool {
		return want == "" || want == "{\"_count\":\"0\"}\n"
	})
}

// ipNeedleEvents makes events whose addresses (many distinct: the
// columns are stored as ipv4) are references of the raw text in two
// columns, or a literal of it (kernel lines, in the second stream only,
// so that only the first stream's blocks leave _raw out); the address
// 203.0.113.77 in a few rows of either column, 0.0.0.0 in some, and a
// text column holding the address in words in a few rows.
func ipNeedleEvents(n int, seed uint64) []event.Event {
	rng := rand.New(rand.NewPCG(seed, 17))
	addr := func() string {
		switch rng.IntN(300) {
		case 0, 1:
			return "203.0.113.77"
		case 2:
			return "0.0.0.0"
		}
		return fmt.Sprintf("10.%d.%d.%d", rng.IntN(256), rng.IntN(256), rng.IntN(256))
	}
	shapes := []string{
		"%T %H sshd[%P]: Failed password for %U from %I port %N ssh2",
		"%T %H app[%P]: conn %I:%N -> %J:%N",
		"%T %H app[%P]: user %U logged in",
		"%T %H kernel: [%N.%N] eth0 %K/%N",
	}
	users := []string{"root", "bob7", "alice", "admin"}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	evs := make([]event.Event, n)
	for i := range evs {
		host := []string{"db-1.corp", "app-2.corp"}[i%2]
		shape := rng.IntN(3)
		if i%2 == 1 && rng.IntN(20) == 0 {
			shape = 3
		}
		pid := fmt.Sprint(1000 + rng.IntN(1000))
		fields := []event.Field{fieldOf("pid", pid)}
		raw := expandShape(shapes[shape], i, func(c byte) string {
			switch c {
			case 'H':
				return host
			case 'P':
				return pid
			case 'N':
				return fmt.Sprint(rng.IntN(70000))
			case 'U':
				u := users[rng.IntN(len(users))]
				fields = append(fields, fieldOf("user", u))
				return u
			case 'I':
				a := addr()
				fields = append(fields, fieldOf("src_ip", a))
				return a
			case 'J':
				a := addr()
				fields = append(fields, fieldOf("dst_ip", a))
				return a
			case 'K':
				return addr()
			}
			return ""
		})
		if i%4000 == 6 && i < 12000 {
			fields = append(fields, fieldOf("note", fmt.Sprintf("seen 203.0.113.77 at %d", i)))
		}
		evs[i] = event.Event{Time: base + int64(i)*int64(time.Second), Host: host, Source: "app", Raw: raw, Fields: fields}
	}
	return evs
}

// TestIPNeedle checks when the IPv4 columns may be searched by one
// address.
func TestIPNeedle(t *testing.T) {
	for text, want := range map[string]bool{
		`203.0.113.77`:                 true,
		`"203.0.113.77" zack`:          true,
		`zack OR NOT 203.0.113.77`:     true,
		`203.0.113.77 OR 203.0.113.77`: true,
		`203.0.113.77 OR 10.0.0.1`:     false,
		`0.0.0.0`:                      false,
		`zack`:                         false,
	} {
		p, err := newPlan(MustParse(text), &Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := ipNeedle(termsOf(p.m, nil)); ok != want {
			t.Errorf("%q: ipNeedle %v, want %v", text, ok, want)
		}
	}
}

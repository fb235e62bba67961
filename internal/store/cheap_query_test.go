package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/query"
	"github.com/mamori/mamori/internal/store"
)

// cheapDiffEvents returns n varied events over several streams, two days
// and a few shapes (syslog, key=value, JSON, Windows paths), each with a
// distinct time, so every query has one right answer whatever the block
// layout.
func cheapDiffEvents(n int) []event.Event {
	r := rand.New(rand.NewPCG(3, 5))
	t0 := time.Date(2026, 11, 25, 23, 0, 0, 0, time.UTC).UnixNano()
	users := []string{"root", "admin", "zack.hill", "ana", "bob", "svc-backup", ""}
	hosts := []string{"web-001", "web-002", "db-1", "fw.edge", "dc01"}
	evs := make([]event.Event, n)
	for i := range evs {
		e := &evs[i]
		e.Time = t0 + int64(i)*int64(3*time.Second) + int64(r.IntN(1000)) // ~2.5 h: two days
		e.Host = hosts[r.IntN(len(hosts))]
		e.Source = []string{"syslog", "winlog", "app"}[r.IntN(3)]
		if r.IntN(4) > 0 {
			e.Received = t0 + int64(i/50)*int64(time.Minute)
		}
		user := users[r.IntN(len(users))]
		ip := fmt.Sprintf("%d.%d.%d.%d", 10+r.IntN(3), r.IntN(4), r.IntN(8), r.IntN(30))
		port := 1024 + r.IntN(60000)
		switch k := r.IntN(5); k {
		case 0:
			e.Raw = fmt.Sprintf("sshd[%d]: Failed password for invalid user %s from %s port %d ssh2", 100+r.IntN(900), user, ip, port)
			e.Category = "auth"
			e.Fields = []event.Field{{Name: "app", Value: "sshd"}, {Name: "outcome", Value: "failure"}, {Name: "user", Value: user}, {Name: "src_ip", Value: ip}, {Name: "port", Value: fmt.Sprint(port)}}
		case 1:
			e.Raw = fmt.Sprintf("sshd[%d]: Accepted publickey for %s from %s port %d", 100+r.IntN(900), user, ip, port)
			e.Category = "auth"
			e.Fields = []event.Field{{Name: "app", Value: "sshd"}, {Name: "outcome", Value: "success"}, {Name: "user", Value: user}, {Name: "src_ip", Value: ip}}
		case 2:
			e.Raw = fmt.Sprintf(`{"level":"%s","msg":"GET /api/v%d/items?id=%d","status":%d,"latency_ms":%d.%d}`,
				[]string{"info", "warn", "error"}[r.IntN(3)], r.IntN(3), r.IntN(100000), []int{200, 404, 500}[r.IntN(3)], r.IntN(900), r.IntN(10))
			e.Fields = []event.Field{{Name: "level", Value: []string{"info", "warn", "error"}[r.IntN(3)]}, {Name: "status", Value: fmt.Sprint([]int{200, 404, 500}[r.IntN(3)])}}
			if r.IntN(3) == 0 {
				e.Fields = append(e.Fields, event.Field{Name: "src_ip", Value: ip})
			}
		case 3:
			path := fmt.Sprintf(`C:\Windows\System32\%s.exe`, []string{"cmd", "powershell", "rundll32", "svchost"}[r.IntN(4)])
			e.Raw = fmt.Sprintf("EventID=4688 NewProcessName=%s SubjectUserName=%s CommandLine=\"%s -enc %x\"", path, user, path, r.Uint64())
			e.Category = "process"
			e.Fields = []event.Field{{Name: "EventID", Value: "4688"}, {Name: "NewProcessName", Value: path}, {Name: "SubjectUserName", Value: user}}
		default:
			e.Raw = fmt.Sprintf("kernel: conn %s:%d -> %s:%d len=%d flags=%s", ip, port, "192.0.2.1", 443, r.IntN(1500), []string{"SYN", "ACK", "FIN RST"}[r.IntN(3)])
			e.Fields = []event.Field{{Name: "dst_ip", Value: "192.0.2.1"}, {Name: "dst_port", Value: "443"}, {Name: "src_ip", Value: ip}}
			if r.IntN(5) == 0 {
				// Reserved and repeated names, an empty value.
				e.Fields = append(e.Fields, event.Field{Name: "_host", Value: "spoofed"}, event.Field{Name: "src_ip", Value: "1.1.1.1"}, event.Field{Name: "note", Value: ""})
			}
		}
		if i == n/3 {
			e.Raw += " needle 9f86d081884c7d659a2feaa0c55ad015"
			e.Fields = append(e.Fields, event.Field{Name: "sha", Value: "9f86d081884c7d659a2feaa0c55ad015"})
		}
	}
	return evs
}

// cheapDiffQueries are queries of every kind the engine runs: needles,
// field equality, phrases, regexes, aggregations, time slices, top,
// distinct counts, sorts, limits.
var cheapDiffQueries = []string{
	"9f86d081884c7d659a2feaa0c55ad015",
	`"10.1.2.3"`,
	"src_ip=10.1.2.3",
	"sha=9f86d081884c7d659a2feaa0c55ad015",
	"user=zack.hill | count",
	"user=nobody | count",
	`"Failed password for invalid user" | count`,
	`_raw matches /Failed password for invalid user (root|admin) from 1[0-2]\./ | count`,
	"| count by _host",
	"| count by _source, _category",
	"| timeslice 1m | count by _timeslice",
	"| top 10 user",
	"| count_distinct(src_ip)",
	"app=sshd outcome=failure | count by src_ip | sort by _count desc, src_ip | limit 10",
	"_host=web-001 | limit 100",
	"_host=db-1 NOT sshd | count",
	"level=error OR status=500 | count by level, status",
	"EventID=4688 powershell | count by SubjectUserName",
	"SYN | count",
	"note=* | count",
	"latency_ms | count",
	"_received=* | count",
	"| sort by _time desc | limit 25",
	"src_ip=10.0.0.0/8 | count",
	"dst_port=443 ACK | count by _host",
}

// TestCheapPartsAnswerLikeFullParts runs every query kind over the same
// rows stored four ways: in memory, flushed to full parts (the old
// path), flushed to cheap parts, and cheap parts merged (with full ones)
// into full parts. Every answer must be the same.
func TestCheapPartsAnswerLikeFullParts(t *testing.T) {
	evs := cheapDiffEvents(4000)
	ctx := context.Background()
	open := func(full bool) *store.Store {
		s, err := store.Open(store.Options{Dir: t.TempDir(), MaintainInterval: -1, FlushInterval: time.Hour, BlockRows: 300, FullFlush: full})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	appendAll := func(s *store.Store, flushEvery int) {
		for i := 0; i < len(evs); i += 500 {
			if err := s.Append(ctx, evs[i:min(i+500, len(evs))]); err != nil {
				t.Fatal(err)
			}
			if flushEvery > 0 && (i/500)%flushEvery == flushEvery-1 {
				if err := s.Flush(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		if flushEvery > 0 {
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	mem := open(false)
	appendAll(mem, 0)
	full := open(true)
	appendAll(full, 2)
	cheap := open(false)
	appendAll(cheap, 2)
	merged := open(false)
	appendAll(merged, 3)
	if err := merged.Merge(ctx); err != nil {
		t.Fatal(err)
	}
	m := cheap.Metrics()
	if m.RowsCheap != uint64(len(evs)) || m.RowsEncoded != 0 {
		t.Fatalf("cheap store: %d rows cheap, %d encoded; want %d, 0", m.RowsCheap, m.RowsEncoded, len(evs))
	}
	if m := merged.Metrics(); m.RowsEncoded != uint64(len(evs)) {
		t.Fatalf("merged store: %d rows encoded, want each of %d once", m.RowsEncoded, len(evs))
	}
	run := func(s *store.Store, text string) string {
		q, err := query.Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q): %v", text, err)
		}
		sn := s.Snapshot()
		defer sn.Release()
		var rows []string
		if _, err := query.Run(ctx, sn, q, query.Options{}, func(r query.Row) error {
			// Column order follows first appearance in a block, so it
			// depends on the block layout: compare fields by name.
			fs := make([]string, 0, len(r))
			for _, f := range r {
				fs = append(fs, fmt.Sprintf("%s=%q", f.Name, f.Value))
			}
			slices.Sort(fs)
			rows = append(rows, strings.Join(fs, " "))
			return nil
		}); err != nil {
			t.Fatalf("Run(%q): %v", text, err)
		}
		return strings.Join(rows, "\n")
	}
	for _, text := range cheapDiffQueries {
		want := run(full, text)
		if want == "" {
			t.Errorf("%q: no rows from full parts (a useless query)", text)
		}
		for _, c := range []struct {
			name string
			s    *store.Store
		}{{"memory", mem}, {"cheap", cheap}, {"merged", merged}} {
			if got := run(c.s, text); got != want {
				t.Errorf("%q on %s parts:\n%s\nwant (full parts):\n%s", text, c.name, clip(got), clip(want))
			}
		}
	}
	// Whole rows, every column, through Load(nil).
	if a, b := dumpAll(t, full), dumpAll(t, cheap); !slices.Equal(a, b) {
		t.Errorf("Load(nil) differs between full and cheap parts (%d and %d rows)", len(a), len(b))
	}
}

func clip(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "..."
	}
	return s
}

// dumpAll renders every row of s (all columns, absent ones left out),
// sorted.
func dumpAll(t *testing.T, s *store.Store) []string {
	sn := s.Snapshot()
	defer sn.Release()
	refs, _, err := sn.Blocks(context.Background(), store.Query{Partitions: nil})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range refs {
		b, err := r.Load(nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range b.Times {
			var sb strings.Builder
			fmt.Fprintf(&sb, "%s/%s/%s ", b.Partition, b.Source, b.Host)
			cols := slices.Clone(b.Cols)
			slices.SortFunc(cols, func(x, y store.Column) int { return strings.Compare(x.Name, y.Name) })
			for _, c := range cols {
				if c.Absent != nil && c.Absent[i] {
					continue
				}
				fmt.Fprintf(&sb, "%s=%q ", c.Name, c.Values[i])
			}
			out = append(out, sb.String())
		}
	}
	slices.Sort(out)
	return out
}

package query

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

// benchEvents builds n events shaped like the benchmark set: sshd, HTTP
// and sudo lines with parsed fields, 50 hosts, skewed users and IPs.
func benchEvents(n int) []event.Event {
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	evs := make([]event.Event, n)
	for i := range evs {
		host := fmt.Sprintf("web-%03d.fra1.corp", r.IntN(50))
		user := fmt.Sprintf("user%d", int(r.ExpFloat64()*50)%5000)
		ip := fmt.Sprintf("%d.%d.%d.%d", 1+r.IntN(200), r.IntN(256), r.IntN(256), 1+r.IntN(250))
		t := base + int64(i)*int64(86400e9)/int64(n)
		e := event.Event{Time: t, Host: host, Source: "bench"}
		switch i % 3 {
		case 0:
			e.Raw = fmt.Sprintf("%s sshd[%d]: Failed password for invalid user %s from %s port %d ssh2", host, 1000+i%9000, user, ip, 1024+i%60000)
			e.Fields = []event.Field{{Name: "host", Value: host}, {Name: "app", Value: "sshd"}, {Name: "user", Value: user}, {Name: "src_ip", Value: ip}, {Name: "outcome", Value: "failure"}}
		case 1:
			e.Raw = fmt.Sprintf(`%s - %s [01/Jan/2026:00:00:00 +0000] "GET /api/v1/orders/%d HTTP/1.1" 200 %d`, ip, user, i, 100+i%5000)
			e.Fields = []event.Field{{Name: "host", Value: host}, {Name: "app", Value: "nginx"}, {Name: "user", Value: user}, {Name: "src_ip", Value: ip}, {Name: "status", Value: "200"}, {Name: "method", Value: "GET"}}
		default:
			e.Raw = fmt.Sprintf("%s sudo: %s : TTY=pts/0 ; PWD=/home/%s ; USER=root ; COMMAND=/bin/ls", host, user, user)
			e.Fields = []event.Field{{Name: "host", Value: host}, {Name: "app", Value: "sudo"}, {Name: "user", Value: user}, {Name: "outcome", Value: "success"}}
		}
		evs[i] = e
	}
	return evs
}

var benchSrc *MemSource

func benchSource(b *testing.B) (*MemSource, int) {
	const n = 200000
	if benchSrc == nil {
		benchSrc = NewMemSource(benchEvents(n), MemOptions{BlockRows: 8192})
	}
	return benchSrc, n
}

func benchQuery(b *testing.B, text string) {
	src, n := benchSource(b)
	q := MustParse(text)
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := Run(ctx, src, q, Options{Limit: 1000}, func(Row) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time per row is steadier than wall time on a shared machine.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/float64(n), "cpu-ns/row")
}

// cpuTime returns the process's user+system CPU time in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func BenchmarkTermCount(b *testing.B)    { benchQuery(b, "ssh2 | count") }
func BenchmarkPhraseCount(b *testing.B)  { benchQuery(b, `"Failed password for invalid user" | count`) }
func BenchmarkFieldEqCount(b *testing.B) { benchQuery(b, "user=user7 | count") }
func BenchmarkRegexCount(b *testing.B) {
	benchQuery(b, `_raw matches /Failed password for invalid user (root|user1) from 1[0-9]{2}\./ | count`)
}
func BenchmarkCountByHost(b *testing.B) { benchQuery(b, "| count by host") }
func BenchmarkCountBy1m(b *testing.B)   { benchQuery(b, "| timeslice 1m | count by _timeslice") }
func BenchmarkCountBy1mScan(b *testing.B) {
	benchQuery(b, "app=sshd | timeslice 1m | count by _timeslice")
}
func BenchmarkTopUsers(b *testing.B)   { benchQuery(b, "| top 10 user") }
func BenchmarkDistinctIP(b *testing.B) { benchQuery(b, "| count_distinct(src_ip)") }
func BenchmarkSSHTop(b *testing.B) {
	benchQuery(b, "app=sshd outcome=failure | count by src_ip | sort by _count desc | limit 10")
}
func BenchmarkHostTail100(b *testing.B) { benchQuery(b, "host=web-001.fra1.corp | limit 100") }

// BenchmarkMatchRow measures the per-row filter loop alone.
func BenchmarkMatchRow(b *testing.B) {
	src, _ := benchSource(b)
	refs, _, _ := src.Blocks(context.Background(), store.Query{})
	blk, _ := refs[0].Load(nil)
	c := newCompiler(&Options{})
	c.need = &colNeed{}
	for _, q := range []string{"user=user7", `"Failed password for invalid user"`, "app=sshd outcome=failure", "src_ip=10.0.0.0/8"} {
		b.Run(q, func(b *testing.B) {
			m, err := c.compileMatcher(MustParse(q).Search)
			if err != nil {
				b.Fatal(err)
			}
			var bv blockView
			bv.reset(blk, c.names, c.slots)
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				for i := range blk.Times {
					m.matchRow(&bv, i)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/float64(len(blk.Times)), "cpu-ns/row")
		})
	}
}

// BenchmarkCountByIP groups every row by a high-cardinality field (about
// 200k distinct values over 200k rows): the group allocation path.
func BenchmarkCountByIP(b *testing.B) { benchQuery(b, "| count by src_ip") }

// BenchmarkCountByUserHost groups by two fields (the encoded-key path).
func BenchmarkCountByUserHost(b *testing.B) { benchQuery(b, "| count by user, host") }

package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// serverEvents decodes the first n records of the bench file the way the
// server's JSON ingest does: _time is the time, _msg the raw text, the
// host member the stream's host, the members stay fields in their order
// (host included), and the ECS copies the normalizer adds follow them
// (see ecsCopies; host.name for host). Values that are not strings are
// skipped. The store does not import the parser, so this mirrors it.
func serverEvents(b testing.TB, n int) []event.Event {
	b.Helper()
	serverEventsOnce.Do(func() {
		f, err := os.Open(benchFile(b))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		// MAMORI_BENCH_HOSTS keeps only the first hosts seen (bigger
		// blocks per stream for the same memory).
		maxHosts := atoiOr(os.Getenv("MAMORI_BENCH_HOSTS"), 0)
		hosts := map[string]bool{}
		lines := 0
		for sc.Scan() && len(serverEventsOnce.evs) < n && (maxHosts == 0 || lines < 50*n) {
			lines++
			ev, ok := serverEvent(sc.Bytes())
			if !ok {
				continue
			}
			if maxHosts > 0 && !hosts[ev.Host] {
				if len(hosts) >= maxHosts {
					continue
				}
				hosts[ev.Host] = true
			}
			// The server stamps a request's events with one time.
			ev.Received = int64(1_800_000_000e9 + lines/4000*1e9)
			serverEventsOnce.evs = append(serverEventsOnce.evs, ev)
		}
	})
	return serverEventsOnce.evs
}

// serverEvent decodes one NDJSON line for serverEvents.
func serverEvent(line []byte) (event.Event, bool) {
	var ev event.Event
	dec := json.NewDecoder(bytes.NewReader(line))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ev, false
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return ev, false
		}
		vt, err := dec.Token()
		if err != nil {
			return ev, false
		}
		k, _ := kt.(string)
		v, ok := vt.(string)
		if !ok {
			continue
		}
		switch k {
		case "_time":
			ev.Time, _ = event.ParseTime(v)
		case "_msg":
			ev.Raw = v
		default:
			if k == "host" {
				ev.Host = v
			}
			ev.Fields = append(ev.Fields, event.Field{Name: k, Value: v})
		}
	}
	for _, fl := range ev.Fields {
		if fl.Name == "host" {
			ev.Fields = append(ev.Fields, event.Field{Name: "host.name", Value: fl.Value})
		} else if c, ok := ecsCopies[fl.Name]; ok {
			ev.Fields = append(ev.Fields, event.Field{Name: c, Value: fl.Value})
		}
	}
	return ev, ev.Time != 0
}

// serverBenchN is MAMORI_BENCH_N, default 60000.
func serverBenchN() int {
	if s := os.Getenv("MAMORI_BENCH_N"); s != "" {
		return atoiOr(s, 60000)
	}
	return 60000
}

var serverEventsOnce struct {
	sync.Once
	evs []event.Event
}

// BenchmarkWriteServerBlocks writes the bench records as decoded by the
// server, by stream (host) and time, in blocks of the sizes flushes
// (~300 rows a stream at the fast level) and final merges (up to 8,192
// rows at the default and better levels) write on the bench data; cpu-ns/row and bytes/row.
func BenchmarkWriteServerBlocks(b *testing.B) {
	evs := serverEvents(b, serverBenchN())
	by, hosts := byHost(evs)
	for _, h := range hosts {
		slices.SortStableFunc(by[h], cmpTime)
	}
	for _, tc := range []struct {
		rows int
		lv   level
		name string
	}{{300, levelFast, "fast"}, {8192, levelDefault, "default"}, {8192, levelBetter, "better"}} {
		var blocks [][]*event.Event
		n := 0
		for _, h := range hosts {
			rs := by[h]
			for len(rs) > 0 {
				k := min(tc.rows, len(rs))
				blocks = append(blocks, rs[:k])
				n += k
				rs = rs[k:]
			}
		}
		b.Run(fmt.Sprintf("rows=%d/%s", tc.rows, tc.name), func(b *testing.B) {
			dir := b.TempDir()
			var size uint64
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				w, err := createPart(dir+"/p.part", "main", 0, tc.lv)
				if err != nil {
					b.Fatal(err)
				}
				for _, bl := range blocks {
					if err := w.writeBlock("", bl[0].Host, bl); err != nil {
						b.Fatal(err)
					}
				}
				size = w.off
				w.abort()
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*n), "cpu-ns/row")
			b.ReportMetric(float64(size)/float64(n), "bytes/row")
		})
	}
}

// BenchmarkTemplates measures building the _raw templates of the server
// rows (by stream, blocks of ~300 rows), per row.
func BenchmarkTemplates(b *testing.B) {
	evs := serverEvents(b, serverBenchN())
	by, hosts := byHost(evs)
	var cbs []colBuilder
	var blocks [][]*event.Event
	for _, h := range hosts {
		var cb colBuilder
		cb.build(by[h])
		cbs = append(cbs, cb)
		blocks = append(blocks, by[h])
	}
	var tp templater
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		for k, rows := range blocks {
			tp.build(rows, &cbs[k])
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*len(evs)), "cpu-ns/row")
}

// byHost groups evs by host, the hosts in order of first appearance.
func byHost(evs []event.Event) (map[string][]*event.Event, []string) {
	by := map[string][]*event.Event{}
	var hosts []string
	for i := range evs {
		e := &evs[i]
		if by[e.Host] == nil {
			hosts = append(hosts, e.Host)
		}
		by[e.Host] = append(by[e.Host], e)
	}
	return by, hosts
}

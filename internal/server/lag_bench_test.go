package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/parse"
	"github.com/mamori/mamori/internal/scenario"
)

// The detection-lag benchmark (#6): the dev scenario at -scale 3 (about
// 3.6M lines), shifted to the last 7 days, is sent through the real
// receivers (syslog over TCP, the other files over HTTP) into a running
// server with SigmaHQ rules and the content pack, in 20-minute slices of
// event time as live shippers would. Every live signal carries the receive
// time of its event, so lag = signal stored - event received, exactly, per
// signal. Run it on purpose only:
//
//	MAMORI_LAG_BENCH=1 go test ./internal/server -run TestDetectionLag -v -timeout 60m
//
// MAMORI_LAG_SCALE (default 3) sets the scale and MAMORI_LAG_RATE a send
// rate in lines per second (default 0: as fast as the server acknowledges).

// syslogFiles go to the syslog TCP listener; the rest over HTTP.
var syslogFiles = map[string]bool{"syslog_rfc3164.log": true, "syslog_rfc5424.log": true}

func TestDetectionLag(t *testing.T) {
	if os.Getenv("MAMORI_LAG_BENCH") == "" {
		t.Skip("detection-lag benchmark: set MAMORI_LAG_BENCH=1 to run it (minutes of CPU, ~4 GB of disk)")
	}
	src, _ := filepath.Abs(scenarioSrcDir)
	if _, err := os.Stat(filepath.Join(src, "dev.json")); err != nil {
		t.Skipf("scenario generator not found at %s (shared test data absent): %v", scenarioSrcDir, err)
	}
	scale := envOr("MAMORI_LAG_SCALE", "3")
	rate, _ := strconv.Atoi(os.Getenv("MAMORI_LAG_RATE"))
	tmp := t.TempDir()
	out := filepath.Join(tmp, "dev")
	t0 := time.Now()
	start, err := scenario.RecentStart(src, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := scenario.Generate(src, out, scale, start); err != nil {
		t.Fatal(err)
	}
	t.Logf("generated scale %s in %v", scale, time.Since(t0).Round(time.Second))

	args := []string{}
	for _, d := range sigmaHQDirs {
		if _, err := os.Stat(d); err == nil {
			abs, _ := filepath.Abs(d)
			args = append(args, "--rules", abs)
		}
	}
	sysAddr := freeAddr(t)
	n := startNode(t, filepath.Join(tmp, "data"), append(args, "--syslog", sysAddr)...)
	defer n.stop()
	cpu0 := procCPU(t, n.cmd.Process.Pid)

	t0 = time.Now()
	lines, sysHosts := sendScenario(t, n, out, sysAddr, rate)
	sent := time.Since(t0)
	t.Logf("sent %d lines in %v (%.0f lines/s)", lines, sent.Round(time.Millisecond), float64(lines)/sent.Seconds())
	waitIdle(t, n, 10*time.Minute)
	drained := time.Since(t0)
	cpu := procCPU(t, n.cmd.Process.Pid) - cpu0

	lags, byKind := signalLags(t, n)
	m := detectMetrics(t, n)
	t.Logf("detection drained %v after the first line; server CPU %.1f s (%.1f µs/line); dropped events %v; evicted state keys %v",
		drained.Round(time.Millisecond), cpu, cpu/float64(lines)*1e6, m["mamori_detect_dropped_events_total"], m["mamori_stateful_evicted_total"])
	if len(lags) == 0 {
		t.Fatal("no live signal with a receive time: nothing measured")
	}
	sort.Float64s(lags)
	pct := func(p float64) float64 { return lags[min(len(lags)-1, int(p*float64(len(lags))))] }
	t.Logf("detection lag over %d live signals (%v): p50 %.3f s, p90 %.3f s, p99 %.3f s, max %.3f s",
		len(lags), byKind, pct(0.50), pct(0.90), pct(0.99), lags[len(lags)-1])
	_, mb, _ := n.do("GET", "/metrics", "", nil)
	for _, l := range strings.Split(string(mb), "\n") {
		if strings.Contains(l, "fsync_seconds_sum") || strings.Contains(l, "fsync_seconds_count") || strings.HasPrefix(l, "mamori_detect_signal_lag_seconds") {
			t.Log(l)
		}
	}
	if p99 := pct(0.99); p99 > 2 {
		t.Errorf("detection lag p99 %.3f s, target 2 s", p99)
	}

	var gt scenGT
	b, err := os.ReadFile(filepath.Join(out, "ground_truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &gt); err != nil {
		t.Fatal(err)
	}
	incs := fetchIncidents(t, n)
	syslogSourceOfFile(incs, sysHosts)
	checkScenario(t, &gt, fetchSignals(t, n), incs)
}

// syslogSourceOfFile names the file behind the incidents' signals that
// came in over syslog (the receiver's source is "syslog"), by their host,
// so the pass criteria can check the sources spanned.
func syslogSourceOfFile(incs []scenIncident, hosts map[string]map[string]bool) {
	for i := range incs {
		for j := range incs[i].Signals {
			s := &incs[i].Signals[j]
			if s.EventSource != "syslog" {
				continue
			}
			for file, hs := range hosts {
				for _, e := range s.Entities {
					if e.Type == "host" && hs[strings.ToLower(e.Value)] {
						s.EventSource = strings.TrimSuffix(file, ".log")
					}
				}
			}
		}
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// procCPU returns the user+system CPU seconds of a process (Linux).
func procCPU(t *testing.T, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the ")" of the command name: state is field 3, utime 14, stime 15.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// fileCursor reads one scenario file a chunk at a time and knows the
// parsed event time of each line, to interleave files by time without
// holding gigabytes in memory.
type fileCursor struct {
	name, format string
	sc           *bufio.Scanner
	fh           *os.File
	lines        [][]byte
	times        []int64
	eof          bool
	hosts        map[string]bool // hosts of the events read (lower case)
}

func openCursor(t *testing.T, dir, name, format string) *fileCursor {
	fh, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 4<<20)
	return &fileCursor{name: name, format: format, sc: sc, fh: fh, hosts: map[string]bool{}}
}

// fill reads the next chunk of lines and parses their times.
func (c *fileCursor) fill(t *testing.T) {
	var buf bytes.Buffer
	for len(c.lines) < 4096 && c.sc.Scan() {
		if len(bytes.TrimSpace(c.sc.Bytes())) == 0 {
			continue
		}
		c.lines = append(c.lines, append([]byte(nil), c.sc.Bytes()...))
	}
	if len(c.lines) < 4096 {
		c.eof = true
		c.fh.Close()
	}
	for _, l := range c.lines[len(c.times):] {
		buf.Write(l)
		buf.WriteByte('\n')
	}
	var p parse.Parser
	f := c.format
	if f != "json" {
		p, _ = parse.Lookup(f)
		f = "text"
	}
	evs, _, err := ingest.DecodeLines(&buf, ingest.LineOptions{Format: f, Parser: p, Now: func() int64 { return time.Now().UnixNano() }})
	if err != nil {
		t.Fatalf("decode %s: %v", c.name, err)
	}
	for i := range evs {
		if evs[i].Host != "" {
			c.hosts[strings.ToLower(evs[i].Host)] = true
		}
	}
	for i := len(c.times); i < len(c.lines); i++ {
		var ts int64
		if j := i - (len(c.lines) - len(evs)); j >= 0 && j < len(evs) {
			ts = evs[j].Time
		}
		c.times = append(c.times, ts)
	}
}

// take returns the lines whose time is before until.
func (c *fileCursor) take(t *testing.T, until int64, dst *bytes.Buffer) int {
	n := 0
	for {
		if len(c.lines) == 0 {
			if c.eof {
				return n
			}
			c.fill(t)
			continue
		}
		if c.times[0] >= until {
			return n
		}
		dst.Write(c.lines[0])
		dst.WriteByte('\n')
		c.lines, c.times = c.lines[1:], c.times[1:]
		n++
	}
}

// sendScenario sends every file in 20-minute slices of event time: syslog
// files over one TCP connection each, the others over HTTP. It returns the
// lines sent and the hosts of each syslog file.
func sendScenario(t *testing.T, n *node, dir, sysAddr string, rate int) (int, map[string]map[string]bool) {
	t.Helper()
	names := make([]string, 0, len(scenario.Files))
	for f := range scenario.Files {
		names = append(names, f)
	}
	sort.Strings(names)
	var curs []*fileCursor
	conns := map[string]net.Conn{}
	for _, f := range names {
		curs = append(curs, openCursor(t, dir, f, scenario.Files[f]))
		if syslogFiles[f] {
			c, err := net.Dial("tcp", sysAddr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			conns[f] = c
		}
	}
	const slice = int64(20 * time.Minute)
	begin := time.Now()
	total := 0
	var body bytes.Buffer
	for until := int64(0); ; {
		open := false
		next := int64(1<<63 - 1)
		for _, c := range curs {
			if len(c.lines) == 0 && !c.eof {
				c.fill(t)
			}
			if len(c.lines) > 0 {
				open = true
				next = min(next, c.times[0])
			}
		}
		if !open {
			hosts := map[string]map[string]bool{}
			for _, c := range curs {
				if syslogFiles[c.name] {
					hosts[c.name] = c.hosts
				}
			}
			return total, hosts
		}
		if until <= next {
			until = (next/slice + 1) * slice
		}
		for _, c := range curs {
			body.Reset()
			k := c.take(t, until, &body)
			if k == 0 {
				continue
			}
			total += k
			if conn := conns[c.name]; conn != nil {
				if _, err := conn.Write(body.Bytes()); err != nil {
					t.Fatalf("syslog %s: %v", c.name, err)
				}
			} else {
				postLines(t, n, c.name, body.Bytes())
			}
		}
		if rate > 0 {
			if ahead := time.Duration(float64(total)/float64(rate)*float64(time.Second)) - time.Since(begin); ahead > 0 {
				time.Sleep(ahead)
			}
		}
	}
}

func postLines(t *testing.T, n *node, file string, body []byte) {
	t.Helper()
	source := strings.TrimSuffix(strings.TrimSuffix(file, ".ndjson"), ".log")
	q := "?source=" + source + "&format=" + scenario.Files[file]
	for attempt := 0; ; attempt++ {
		st, b, _ := n.do("POST", "/api/v1/ingest"+q, "", body)
		if st == 429 && attempt < 600 {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if st != 200 {
			t.Fatalf("ingest %s: HTTP %d: %s", file, st, b)
		}
		return
	}
}

// waitIdle waits until detection drained its queue and stayed idle.
func waitIdle(t *testing.T, n *node, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	last, stable := -1.0, 0
	for time.Now().Before(deadline) {
		m := detectMetrics(t, n)
		if m["mamori_detect_queue_batches"] == 0 && m["mamori_detect_events_total"] == last {
			if stable++; stable >= 12 {
				return
			}
		} else {
			stable = 0
		}
		last = m["mamori_detect_events_total"]
		time.Sleep(250 * time.Millisecond)
	}
	t.Errorf("detection did not go idle within %v", limit)
}

// signalLags returns, per stored live signal, its store time minus its
// event's receive time in seconds (absence rules, which wait for their
// deadline, and signals without an event left out), and the signals
// measured per kind.
func signalLags(t *testing.T, n *node) ([]float64, map[string]int) {
	t.Helper()
	rows, _ := n.search("_partition=signals | fields _received, event.received, signal.kind")
	var lags []float64
	kinds := map[string]int{}
	for _, r := range rows {
		kind, _ := r["signal.kind"].(string)
		sr, _ := r["_received"].(string)
		er, _ := r["event.received"].(string)
		if kind == "absence" || er == "" {
			continue
		}
		s, ok1 := event.ParseTime(sr)
		e, ok2 := event.ParseTime(er)
		if !ok1 || !ok2 {
			continue
		}
		lags = append(lags, float64(s-e)/1e9)
		kinds[kind]++
	}
	return lags, kinds
}

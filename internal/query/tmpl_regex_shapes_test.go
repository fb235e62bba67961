package query

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/store"
)

// rxShapes are regexps of the shapes users write over the benchmark
// data: the benchmark's, its literal cut short, unbounded repeats, case
// folding, anchors, a short literal, no literal at all, alternations.
var rxShapes = []string{
	`Failed password for invalid user (root|admin) from 1[0-9]{2}\.`,
	`Failed password for invalid user(root|admin)?`,
	`Failed password for invalid user\s(root|admin) from 1[0-9]{2}\.`,
	`Accepted (password|publickey) for \w+ from 10\.`,
	`COMMAND=\/bin\/(ba)?sh`,
	`(?i)failed password`,
	`^Jan  1 0[0-3]:\d\d:\d\d lnx-\d+\.fra1\.corp sshd`,
	`port 22 ssh2$`,
	`dpt=(22|3389) `,
	`\d{3}\.\d+\.\d+\.77`,
	`Accepted publickey|Failed password for root`,
}

// TestRegexShapesStore times `_raw matches /RE/ | count` for rxShapes
// (or the regexps of MAMORI_RX_SHAPES, one a line) on a store directory
// (MAMORI_BENCH_STORE, a copy), by the store's path and by the plain
// per-row load (plainSnapshot), and checks the answers are the same.
// MAMORI_BENCH_RUNS runs the store path that many times (default 3);
// MAMORI_RX_PLAIN=0 skips the plain path.
func TestRegexShapesStore(t *testing.T) {
	dir := os.Getenv("MAMORI_BENCH_STORE")
	if dir == "" {
		t.Skip("set MAMORI_BENCH_STORE to a copy of a benchmark store directory")
	}
	s, err := store.Open(store.Options{Dir: dir, MaintainInterval: -1, Sync: store.SyncInterval})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	shapes := rxShapes
	if v := os.Getenv("MAMORI_RX_SHAPES"); v != "" {
		shapes = strings.Split(strings.TrimSpace(v), "\n")
	}
	runs := 3
	if n, err := strconv.Atoi(os.Getenv("MAMORI_BENCH_RUNS")); err == nil && n > 0 {
		runs = n
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	o := Options{From: from, To: from + int64(24*time.Hour), Limit: 100_000}
	for _, re := range shapes {
		q := MustParse("_raw matches /" + re + "/ | count")
		snap := s.Snapshot()
		c0 := cpuTime()
		var got string
		for range runs {
			got = runText(t, snap, q, o)
		}
		cpu := float64(cpuTime()-c0) / float64(runs) / 1e6
		plain, want := 0.0, ""
		if os.Getenv("MAMORI_RX_PLAIN") != "0" {
			c0 = cpuTime()
			want = runText(t, plainSnapshot{snap}, q, o)
			plain = float64(cpuTime()-c0) / 1e6
			if got != want {
				t.Errorf("/%s/: store %s plain %s", re, got, want)
			}
		}
		snap.Release()
		t.Logf("%-64s store %8.1f ms  plain %8.1f ms  %s", "/"+re+"/", cpu, plain, strings.TrimSpace(got))
	}
}

package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// tamperKey is a fixed test key (never a real one).
var tamperKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// tamperStore is a small closed store with checkpoints, its files as they
// were after Close, and the copy of its checkpoints kept outside it.
type tamperStore struct {
	dir      string
	copyPath string
	files    map[string][]byte // path relative to dir → content
	parts    []string          // live part paths
	opts     VerifyOptions
}

// partitionEvents makes n events of one partition on one day.
func partitionEvents(partition string, day, start, n int) []event.Event {
	evs := testEvents(start, n)
	for i := range evs {
		evs[i].Partition = partition
		evs[i].Time += int64(day) * 86400e9
	}
	return evs
}

// buildTamperStore writes several partitions and days, flushes, merges,
// lets retention remove a partition's old day, signs checkpoints along the
// way and closes (a final checkpoint).
func buildTamperStore(t testing.TB) *tamperStore {
	dir := filepath.Join(t.TempDir(), "store")
	copyPath := filepath.Join(t.TempDir(), "checkpoints.copy")
	opts := testOptions(dir)
	opts.MergeMinParts = 2
	opts.CheckpointKey = tamperKey
	opts.CheckpointCopy = copyPath
	opts.Retention = map[string]time.Duration{"fw": 72 * time.Hour}
	opts.Now = func() time.Time { return time.Unix(0, t0).Add(10 * 24 * time.Hour) }
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := 0
	for round := 0; round < 4; round++ {
		for _, pd := range []struct {
			p   string
			day int
		}{{"main", 8}, {"wallet", 9}, {"fw", 0}, {"fw", 9}} {
			if err := s.Append(ctx, partitionEvents(pd.p, pd.day, id, 40)); err != nil {
				t.Fatal(err)
			}
			id += 40
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if round == 1 {
			if err := s.Merge(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.ckpt.write(s.man); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ApplyRetention(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, partitionEvents("main", 9, id, 40)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ts := &tamperStore{dir: dir, copyPath: copyPath, files: map[string][]byte{},
		opts: VerifyOptions{PublicKeys: []ed25519.PublicKey{tamperKey.Public().(ed25519.PublicKey)}, CheckpointCopies: []string{copyPath}}}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		ts.files[rel] = b
		if strings.HasSuffix(path, partExt) {
			ts.parts = append(ts.parts, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(ts.parts)
	rep := ts.verify(t)
	if !rep.OK() || len(rep.Notes) != 0 {
		t.Fatalf("pristine store: problems %v notes %v", rep.Problems, rep.Notes)
	}
	if len(ts.parts) < 5 || rep.Checkpoints < 4 {
		t.Fatalf("store too small for the test: %d parts, %d checkpoints", len(ts.parts), rep.Checkpoints)
	}
	retained := 0
	for _, r := range rep.Removals {
		if r.Op == "retention" && strings.HasPrefix(r.Part, "fw/") {
			retained++
		}
	}
	if retained == 0 {
		t.Fatalf("retention removed nothing the manifest records: %+v", rep.Removals)
	}
	return ts
}

func (ts *tamperStore) verify(t testing.TB) *Report {
	t.Helper()
	rep, err := VerifyWith(ts.dir, ts.opts)
	if err != nil {
		t.Fatalf("VerifyWith: %v", err)
	}
	return rep
}

func (ts *tamperStore) path(rel string) string { return filepath.Join(ts.dir, rel) }

// restore puts the touched files back as they were.
func (ts *tamperStore) restore(t testing.TB, touched []string) {
	t.Helper()
	for _, p := range touched {
		rel, _ := filepath.Rel(ts.dir, p)
		b, ok := ts.files[rel]
		if !ok {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// want is a finding a mutation must produce: a problem naming File whose
// text contains What (or one of its '|'-separated alternatives).
type want struct{ File, What string }

// mutation damages the store and says what Verify must report and which
// files it touched.
type mutation struct {
	name string
	do   func(t testing.TB, ts *tamperStore, rng *rand.Rand) (wants []want, touched []string)
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// splitLines splits b into lines that keep their newline.
func splitLines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return append(out, b)
		}
		out = append(out, b[:i+1])
		b = b[i+1:]
	}
	return out
}

// lineAt returns the 1-based line holding byte off, and whether off is
// the newline ending the last line.
func lineAt(b []byte, off int) (int, bool) {
	line := 1 + bytes.Count(b[:off], []byte{'\n'})
	return line, off == len(b)-1 && b[off] == '\n'
}

// firstDiff returns the 1-based first line where lines differ from orig,
// or 0 when lines is a prefix of orig.
func firstDiff(orig, lines [][]byte) int {
	for i := range lines {
		if i >= len(orig) || !bytes.Equal(orig[i], lines[i]) {
			return i + 1
		}
	}
	return 0
}

// lineMutation applies a line edit (delete, swap, duplicate) to the file
// rel and returns the line Verify must name, or 0 when the result is a
// clean prefix (a cut tail).
func lineMutation(t testing.TB, ts *tamperStore, rel string, rng *rand.Rand) (int, string) {
	orig := splitLines(ts.files[rel])
	lines := append([][]byte(nil), orig...)
	n := len(lines)
	kind := ""
	switch rng.Intn(3) {
	case 0:
		kind = "delete"
		i := rng.Intn(n)
		lines = append(lines[:i:i], lines[i+1:]...)
	case 1:
		kind = "swap"
		i := rng.Intn(n - 1)
		j := i + 1 + rng.Intn(n-1-i)
		lines[i], lines[j] = lines[j], lines[i]
	default:
		kind = "duplicate"
		i, at := rng.Intn(n), rng.Intn(n+1)
		lines = append(lines[:at:at], append([][]byte{orig[i]}, lines[at:]...)...)
	}
	writeFile(t, ts.path(rel), bytes.Join(lines, nil))
	return firstDiff(orig, lines), kind
}

func randomPart(ts *tamperStore, rng *rand.Rand) string { return ts.parts[rng.Intn(len(ts.parts))] }

var mutations = []mutation{
	{"flip a byte in a part", func(t testing.TB, ts *tamperStore, rng *rand.Rand) ([]want, []string) {
		p := randomPart(ts, rng)
		b := bytes.Clone(ts.files[rel(ts, p)])
		b[rng.Intn(len(b))] ^= byte(1 + rng.Intn(255))
		writeFile(t, p, b)
		return []want{{p, ""}}, []string{p}
	}},
	{"truncate a part", func(t testing.TB, ts *tamperStore, rng *rand.Rand) ([]want, []string) {
		p := randomPart(ts, rng)
		if err := os.Truncate(p, int64(rng.Intn(len(ts.files[rel(ts, p)])))); err != nil {
			t.Fatal(err)
		}
		return []want{{p, ""}}, []string{p}
	}},
	{"delete a part", func(t testing.TB, ts *tamperStore, rng *rand.Rand) ([]want, []string) {
		p := randomPart(ts, rng)
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		return []want{{p, "missing"}}, []string{p}
	}},
	{"swap two parts", func(t testing.TB, ts *tamperStore, rng *rand.Rand) ([]want, []string) {
		i := rng.Intn(len(ts.parts))
		j := (i + 1 + rng.Intn(len(ts.parts)-1)) % len(ts.parts)
		a, b := ts.parts[i], ts.parts[j]
		writeFile(t, a, ts.files[rel(ts, b)])
		writeFile(t, b, ts.files[rel(ts, a)])
		return []want{{a, ""}, {b, ""}}, []string{a, b}
	}},
	{"flip a byte in the manifest", func(t testing.TB, ts *tamperStore, rng *rand.Rand) ([]want, []string) {
		return flipIn(t, ts, manifestName, rng, "rewound below signed sequence")
	}},
	{"truncate the manifest", func(t testing.TB, ts *tamperStore, rng *rand.Rand) ([]want, []string) {
		p := ts.path(manifestName)
		if err := os.Truncate(p, int64(rng.Intn(len(ts.files[manifestName])))); err != nil {
			t.Fatal(err)
		}
		return []want{{p, "rewound below signed sequence"}}, []string{p}
	}},
	{"delete, reorder or duplicate a manifest entry", func(t testing.TB, ts *tamperStore, rng *rand.Rand) ([]want, []string) {
		p := ts.path(manifestName)
		line, _ := lineMutation(t, ts, manifestName, rng)
		if line == 0 {
			return []want{{p, "rewound below signed sequence"}}, []string{p}
		}
		return []want{{p, fmt.Sprintf("line %d:", line)}}, []string{p}
	}},
	{"delete the manifest", func(t testing.TB, ts *tamperStore, rng *rand.Rand) ([]want, []string) {
		p := ts.path(manifestName)
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		return []want{{p, "manifest missing"}}, []string{p}
	}},
	{"rewrite the manifest chain without a part", func(t testing.TB, ts *tamperStore, rng *rand.Rand) ([]want, []string) {
		p := randomPart(ts, rng)
		name := filepath.ToSlash(strings.TrimPrefix(rel(ts, p), partsDir+string(filepath.Separator)))
		rewriteManifest(t, ts, func(c *commit) {
			for i, a := range c.Add {
				if a.Name == name {
					c.Add = append(c.Add[:i:i], c.Add[i+1:]...)
					return
				}
			}
		})
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		m := ts.path(manifestName)
		return []want{{p, "part missing"}, {m, "history rewritten|rewound below signed sequence"}}, []string{p, m}
	}},
	{"edit a part and rewrite the manifest chain to match", func(t testing.TB, ts *tamperStore, rng *rand.Rand) ([]want, []string) {
		p := randomPart(ts, rng)
		name := filepath.ToSlash(strings.TrimPrefix(rel(ts, p), partsDir+string(filepath.Separator)))
		b := bytes.Clone(ts.files[rel(ts, p)])
		b[rng.Intn(len(b))] ^= byte(1 + rng.Intn(255))
		writeFile(t, p, b)
		rewriteManifest(t, ts, func(c *commit) {
			for i := range c.Add {
				if c.Add[i].Name == name {
					c.Add[i].CRC = crc32.Checksum(b, castagnoli)
				}
			}
		})
		m := ts.path(manifestName)
		return []want{{p, "part changed"}, {m, "history rewritten"}}, []string{p, m}
	}},
	{"rewind the manifest and the checkpoints together", func(t testing.TB, ts *tamperStore, rng *rand.Rand) ([]want, []string) {
		m, c := ts.path(manifestName), ts.path(checkpointName)
		lines := splitLines(ts.files[manifestName])
		keep := rng.Intn(len(lines))
		writeFile(t, m, bytes.Join(lines[:keep], nil))
		var cps [][]byte
		for _, l := range splitLines(ts.files[checkpointName]) {
			cp, _, _, why := parseCheckpointLine(bytes.TrimSuffix(l, []byte{'\n'}))
			if why != "" {
				t.Fatal(why)
			}
			if cp.Seq <= uint64(keep) {
				cps = append(cps, l)
			}
		}
		writeFile(t, c, bytes.Join(cps, nil))
		return []want{{m, "rewound below signed sequence"}, {c, "is missing"}}, []string{m, c}
	}},
	{"flip a byte in a checkpoint", func(t testing.TB, ts *tamperStore, rng *rand.Rand) ([]want, []string) {
		return flipIn(t, ts, checkpointName, rng, "is missing")
	}},
	{"truncate the checkpoints", func(t testing.TB, ts *tamperStore, rng *rand.Rand) ([]want, []string) {
		p := ts.path(checkpointName)
		if err := os.Truncate(p, int64(rng.Intn(len(ts.files[checkpointName])))); err != nil {
			t.Fatal(err)
		}
		return []want{{p, "is missing"}}, []string{p}
	}},
	{"delete, reorder or duplicate a checkpoint", func(t testing.TB, ts *tamperStore, rng *rand.Rand) ([]want, []string) {
		p := ts.path(checkpointName)
		line, _ := lineMutation(t, ts, checkpointName, rng)
		if line == 0 {
			return []want{{p, "is missing"}}, []string{p}
		}
		return []want{{p, fmt.Sprintf("line %d:", line)}}, []string{p}
	}},
	{"delete the checkpoints", func(t testing.TB, ts *tamperStore, rng *rand.Rand) ([]want, []string) {
		p := ts.path(checkpointName)
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		return []want{{p, "checkpoint file missing"}}, []string{p}
	}},
}

func rel(ts *tamperStore, path string) string {
	r, _ := filepath.Rel(ts.dir, path)
	return r
}

// flipIn flips a random byte of the file rel: Verify must name its line,
// or report tail when the flip removed the last newline (a cut tail).
func flipIn(t testing.TB, ts *tamperStore, rel string, rng *rand.Rand, tail string) ([]want, []string) {
	p := ts.path(rel)
	b := bytes.Clone(ts.files[rel])
	off := rng.Intn(len(b))
	b[off] ^= byte(1 + rng.Intn(255))
	writeFile(t, p, b)
	line, last := lineAt(ts.files[rel], off)
	if last {
		return []want{{p, tail}}, []string{p}
	}
	return []want{{p, fmt.Sprintf("line %d:", line)}}, []string{p}
}

// rewriteManifest rebuilds the manifest with a valid hash chain after edit
// changed its commits (commits left empty are dropped), as an attacker with
// disk access but without the signing key can.
func rewriteManifest(t testing.TB, ts *tamperStore, edit func(c *commit)) {
	t.Helper()
	var out []byte
	var prev *[32]byte
	seq := uint64(0)
	for _, l := range splitLines(ts.files[manifestName]) {
		var c commit
		if err := json.Unmarshal(l[65:len(l)-1], &c); err != nil {
			t.Fatal(err)
		}
		edit(&c)
		if len(c.Add) == 0 && len(c.Remove) == 0 {
			continue
		}
		seq++
		c.Seq = seq
		body, err := json.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		var h [32]byte
		out, h = appendCommitLine(out, prev, body)
		prev = &h
	}
	writeFile(t, ts.path(manifestName), out)
}

// TestTamper makes at least 1,000 random mutations (fewer with -short), each
// on a fresh copy of a small store with signed checkpoints, and requires
// Verify to report every one and to name the damaged file or entry.
func TestTamper(t *testing.T) {
	cpu0, wall0 := cpuTime(), time.Now()
	ts := buildTamperStore(t)
	n := 1000
	if testing.Short() {
		n = 150
	}
	seed := int64(1)
	if s := os.Getenv("MAMORI_TAMPER_SEED"); s != "" {
		seed, _ = strconv.ParseInt(s, 10, 64)
	}
	rng := rand.New(rand.NewSource(seed))
	counts := make([]int, len(mutations))
	for i := 0; i < n; i++ {
		k := i % len(mutations) // every kind equally often, in a shuffled store state
		m := mutations[k]
		counts[k]++
		wants, touched := m.do(t, ts, rng)
		rep := ts.verify(t)
		for _, w := range wants {
			if !hasProblem(rep, w) {
				t.Fatalf("mutation %d (%s, seed %d): no problem names %s with %q\nproblems:\n%s\nnotes:\n%s",
					i, m.name, seed, w.File, w.What, problemList(rep.Problems), problemList(rep.Notes))
			}
		}
		ts.restore(t, touched)
		if i%100 == 99 {
			if rep := ts.verify(t); !rep.OK() {
				t.Fatalf("after restoring mutation %d: %v", i, rep.Problems)
			}
		}
	}
	t.Logf("%d mutations, all detected and named; per kind: %v; took %v CPU, %v wall", n, counts,
		(cpuTime() - cpu0).Round(time.Millisecond), time.Since(wall0).Round(time.Millisecond))
}

func hasProblem(rep *Report, w want) bool {
	for _, p := range rep.Problems {
		if p.File != w.File {
			continue
		}
		for _, alt := range strings.Split(w.What, "|") {
			if strings.Contains(p.What, alt) {
				return true
			}
		}
	}
	return false
}

func problemList(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("  " + p.String() + "\n")
	}
	return b.String()
}

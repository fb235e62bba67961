package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func checkpointOptions(t *testing.T) (Options, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	opts := testOptions(dir)
	opts.CheckpointKey = tamperKey
	opts.CheckpointCopy = filepath.Join(t.TempDir(), "copy")
	return opts, dir
}

func tamperPub() []ed25519.PublicKey {
	return []ed25519.PublicKey{tamperKey.Public().(ed25519.PublicKey)}
}

func appendFlush(t *testing.T, s *Store, start, n int) {
	t.Helper()
	ctx := context.Background()
	if err := s.Append(ctx, testEvents(start, n)); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func verifyWithOK(t *testing.T, dir string, opts VerifyOptions) *Report {
	t.Helper()
	rep, err := VerifyWith(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("VerifyWith: %v", rep.Problems)
	}
	return rep
}

func TestCheckpointChainAcrossReopen(t *testing.T) {
	opts, dir := checkpointOptions(t)
	var mu sync.Mutex
	var hooked [][]byte
	opts.OnCheckpoint = func(c Checkpoint, line []byte) {
		mu.Lock()
		hooked = append(hooked, line)
		mu.Unlock()
	}
	s := openTest(t, opts)
	appendFlush(t, s, 0, 100)
	if err := s.Close(); err != nil { // checkpoint 1
		t.Fatal(err)
	}
	s = openTest(t, opts)
	if err := s.Close(); err != nil { // nothing committed: no checkpoint
		t.Fatal(err)
	}
	s = openTest(t, opts)
	appendFlush(t, s, 100, 100)
	if err := s.Merge(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // checkpoint 2
		t.Fatal(err)
	}
	local, _ := os.ReadFile(filepath.Join(dir, checkpointName))
	cp, _ := os.ReadFile(opts.CheckpointCopy)
	if !bytes.Equal(local, cp) || !bytes.Equal(local, bytes.Join(hooked, nil)) || len(hooked) != 2 {
		t.Fatalf("local, copy and hook differ or not 2 checkpoints:\n%s\n%s\n%q", local, cp, hooked)
	}
	rep := verifyWithOK(t, dir, VerifyOptions{PublicKeys: tamperPub(), CheckpointCopies: []string{opts.CheckpointCopy}})
	if rep.Checkpoints != 2 || rep.LastCheckpoint != 2 || rep.LastCheckpointSeq != rep.Commits || len(rep.Notes) != 0 {
		t.Fatalf("report: %d checkpoints, last %d at seq %d of %d, notes %v", rep.Checkpoints, rep.LastCheckpoint, rep.LastCheckpointSeq, rep.Commits, rep.Notes)
	}
	// A copy configured later starts at a later checkpoint: only noted.
	late := filepath.Join(t.TempDir(), "late")
	os.WriteFile(late, splitLines(local)[1], 0o644)
	rep = verifyWithOK(t, dir, VerifyOptions{PublicKeys: tamperPub(), CheckpointCopies: []string{late}})
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0].What, "checkpoint 1 at") {
		t.Fatalf("late copy: notes %v", rep.Notes)
	}
}

func TestCheckpointInterval(t *testing.T) {
	opts, dir := checkpointOptions(t)
	opts.CheckpointInterval = 5 * time.Millisecond
	signed := make(chan uint64, 16)
	opts.OnCheckpoint = func(c Checkpoint, _ []byte) { signed <- c.Seq }
	s := openTest(t, opts)
	appendFlush(t, s, 0, 50)
	if seq := <-signed; seq != 1 {
		t.Fatalf("periodic checkpoint signed sequence %d, want 1", seq)
	}
	appendFlush(t, s, 50, 50)
	if seq := <-signed; seq != 2 {
		t.Fatalf("periodic checkpoint signed sequence %d, want 2", seq)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if len(signed) != 0 {
		t.Fatalf("%d checkpoints without a change", len(signed))
	}
	verifyWithOK(t, dir, VerifyOptions{PublicKeys: tamperPub()})
}

func TestCheckpointTornTail(t *testing.T) {
	opts, dir := checkpointOptions(t)
	s := openTest(t, opts)
	appendFlush(t, s, 0, 50)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, checkpointName)
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("0123abcd {\"n\":2,")
	f.Close()
	rep := verifyWithOK(t, dir, VerifyOptions{PublicKeys: tamperPub()})
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0].What, "torn") {
		t.Fatalf("notes %v, want the torn checkpoint", rep.Notes)
	}
	s = openTest(t, opts) // cuts the torn line
	appendFlush(t, s, 50, 50)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rep = verifyWithOK(t, dir, VerifyOptions{PublicKeys: tamperPub(), CheckpointCopies: []string{opts.CheckpointCopy}})
	if rep.LastCheckpoint != 2 || len(rep.Notes) != 0 {
		t.Fatalf("after reopen: last checkpoint %d, notes %v", rep.LastCheckpoint, rep.Notes)
	}
}

func TestVerifyCheckpointKeys(t *testing.T) {
	opts, dir := checkpointOptions(t)
	s := openTest(t, opts)
	appendFlush(t, s, 0, 50)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Without a key: checked against the key the checkpoint names, noted.
	rep := verifyWithOK(t, dir, VerifyOptions{})
	if rep.Checkpoints != 1 || len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0].What, "not a trusted public key") {
		t.Fatalf("without key: %d checkpoints, notes %v", rep.Checkpoints, rep.Notes)
	}
	// Another key: every checkpoint is a forgery.
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	rep, _ = VerifyWith(dir, VerifyOptions{PublicKeys: []ed25519.PublicKey{other}})
	if rep.OK() || !strings.Contains(rep.Problems[0].What, "signature invalid") {
		t.Fatalf("wrong key: %v", rep.Problems)
	}
	// Rotated keys: either may sign.
	verifyWithOK(t, dir, VerifyOptions{PublicKeys: append([]ed25519.PublicKey{other}, tamperPub()...)})
	// A store that never signed: a public key makes the missing file a problem.
	plain, _ := buildStore(t)
	rep, _ = VerifyWith(plain, VerifyOptions{PublicKeys: tamperPub()})
	if rep.OK() || !strings.Contains(rep.Problems[0].What, "checkpoint file missing") {
		t.Fatalf("no checkpoints with a key: %v", rep.Problems)
	}
}

// TestVerifyRecordsRemovals checks that retention and disk-budget
// deletions are manifest commits listed in the report, and that removals
// after the last checkpoint are pointed out.
func TestVerifyRecordsRemovals(t *testing.T) {
	opts, dir := checkpointOptions(t)
	opts.Retention = map[string]time.Duration{"main": 24 * time.Hour}
	now := time.Unix(0, t0)
	opts.Now = func() time.Time { return now }
	s := openTest(t, opts)
	appendFlush(t, s, 0, 100)
	appendFlush(t, s, 100, 100)
	if err := s.ckpt.write(s.man); err != nil {
		t.Fatal(err)
	}
	now = now.Add(72 * time.Hour) // s's goroutines do not read Now: Maintain is off
	if err := s.ApplyRetention(context.Background()); err != nil {
		t.Fatal(err)
	}
	abandon(s) // a crash: no final checkpoint
	rep := verifyWithOK(t, dir, VerifyOptions{PublicKeys: tamperPub()})
	if len(rep.Removals) != 2 || rep.Removals[0].Op != "retention" || rep.Removals[0].Rows != 100 {
		t.Fatalf("removals %+v, want 2 retention removals of 100 rows", rep.Removals)
	}
	if len(rep.Notes) != 2 || !strings.Contains(rep.Notes[0].What, "after the last signed checkpoint") {
		t.Fatalf("notes %v", rep.Notes)
	}
}

// TestVerifyCommitClaims: a chain rebuilt so that a flush removes a part,
// or a merge loses rows, is valid as a chain but its claims are not.
func TestVerifyCommitClaims(t *testing.T) {
	dir, _ := buildStore(t)
	ts := &tamperStore{dir: dir, files: map[string][]byte{}}
	ts.files[manifestName], _ = os.ReadFile(filepath.Join(dir, manifestName))
	var first partInfo
	rewriteManifest(t, ts, func(c *commit) {
		if c.Seq == 1 {
			first = c.Add[0]
			c.Op = "merge" // a merge that came from nothing
		} else {
			c.Remove = append(c.Remove, removal{Name: first.Name, Reason: "retention: older than 1h"})
		}
	})
	os.Remove(filepath.Join(dir, partsDir, filepath.FromSlash(first.Name)))
	rep, _ := Verify(dir)
	var got []string
	for _, p := range rep.Problems {
		got = append(got, p.What)
	}
	all := strings.Join(got, "\n")
	for _, w := range []string{"line 1 (sequence 1, merge): merge of 0 rows wrote", "line 2 (sequence 2, flush): a flush removes 1 parts"} {
		if !strings.Contains(all, w) {
			t.Errorf("problems do not say %q:\n%s", w, all)
		}
	}
}

func TestOpenLogsRewind(t *testing.T) {
	opts, dir := checkpointOptions(t)
	s := openTest(t, opts)
	appendFlush(t, s, 0, 50)
	appendFlush(t, s, 50, 50)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	m := filepath.Join(dir, manifestName)
	b, _ := os.ReadFile(m)
	os.WriteFile(m, splitLines(b)[0], 0o644)
	var logs bytes.Buffer
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	s = openTest(t, opts)
	abandon(s)
	if !strings.Contains(logs.String(), "manifest is behind the last signed checkpoint") {
		t.Fatalf("log: %s", logs.String())
	}
	rep, _ := VerifyWith(dir, VerifyOptions{PublicKeys: tamperPub()})
	// Open replays the WAL records past sequence 1 and may flush them
	// again: the manifest is then rewritten rather than rewound.
	if !hasProblem(rep, want{m, "manifest rewound below signed sequence 2: it ends at sequence 1|history rewritten at or before sequence 2"}) {
		t.Fatalf("problems %v", rep.Problems)
	}
}

func TestCheckpointOptions(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		edit func(o *Options)
		want string
	}{
		{"short key", func(o *Options) { o.CheckpointKey = tamperKey[:10] }, "checkpoint key"},
		{"copy inside dir", func(o *Options) { o.CheckpointCopy = filepath.Join(dir, "x", "copy") }, "inside the data directory"},
		{"negative interval", func(o *Options) { o.CheckpointInterval = -time.Second }, "checkpoint interval"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := testOptions(dir)
			c.edit(&o)
			if err := o.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate() = %v, want %q", err, c.want)
			}
		})
	}
}

// TestCheckpointFileBadLines: garbage lines are reported by line and do
// not hide the valid checkpoints around them.
func TestCheckpointFileBadLines(t *testing.T) {
	opts, dir := checkpointOptions(t)
	s := openTest(t, opts)
	for i := 0; i < 3; i++ {
		appendFlush(t, s, i*50, 50)
		if err := s.ckpt.write(s.man); err != nil {
			t.Fatal(err)
		}
	}
	abandon(s)
	path := filepath.Join(dir, checkpointName)
	lines := splitLines(mustRead(t, path))
	bad := [][]byte{[]byte("\n"), []byte("not a checkpoint\n"), append(bytes.Repeat([]byte("A"), 128), " {}\n"...)}
	for _, b := range bad {
		os.WriteFile(path, bytes.Join([][]byte{lines[0], b, lines[1], lines[2]}, nil), 0o644)
		rep := &Report{}
		got, err := newCkptReader(tamperPub(), rep).readFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || !hasProblem(rep, want{path, "line 2: malformed"}) {
			t.Fatalf("bad line %q: %d checkpoints, problems %v", b, len(got), rep.Problems)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signedTestLines returns n chained checkpoint lines signed by tamperKey.
func signedTestLines(n int) []byte {
	var out []byte
	prev := ""
	for i := 1; i <= n; i++ {
		c := Checkpoint{N: uint64(i), Time: t0, Seq: uint64(i), Head: strings.Repeat("ab", 32), Prev: prev, Key: hex.EncodeToString(tamperPub()[0]),
			Parts: []CheckpointPart{{Name: "main/20260101/0000000000000001.part", Size: 100, CRC: 7, Rows: 3}}, Rows: 3}
		body, _ := json.Marshal(&c)
		line := appendCheckpointLine(nil, tamperKey, body)
		h := sha256.Sum256(line[:len(line)-1])
		prev = hex.EncodeToString(h[:])
		out = append(out, line...)
	}
	return out
}

func FuzzCheckpointFile(f *testing.F) {
	good := signedTestLines(3)
	f.Add(good)
	f.Add([]byte("x\n\n{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep := &Report{}
		got, err := newCkptReader(nil, rep).parse(bytes.NewReader(data), checkpointName)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range append(rep.Problems, rep.Notes...) {
			if p.What == "" {
				t.Fatal("empty problem")
			}
		}
		for _, e := range got {
			if e.sigOK && !bytes.Contains(good, e.raw) {
				t.Fatalf("a line not signed by the key verifies: %q", e.raw)
			}
		}
	})
}

func TestVerifyRecordsDiskBudget(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(dir)
	opts.DiskBudgetBytes = 1 // every unheld part is over budget
	s := openTest(t, opts)
	appendFlush(t, s, 0, 100)
	appendFlush(t, s, 100, 100)
	if err := s.ApplyRetention(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(dir)
	if err != nil || !rep.OK() {
		t.Fatalf("Verify: %v %v", err, rep.Problems)
	}
	if len(rep.Removals) != 2 || rep.Removals[0].Op != "disk_budget" || !strings.Contains(rep.Removals[0].Reason, "disk budget") {
		t.Fatalf("removals %+v, want 2 disk-budget removals", rep.Removals)
	}
}

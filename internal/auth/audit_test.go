package auth

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func writeAudit(t *testing.T, path string, n int, key ed25519.PrivateKey) {
	t.Helper()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var seen []Record
	l, err := OpenAudit(AuditOptions{Path: path, SigningKey: key, CheckpointEvery: 10, Now: func() time.Time { now = now.Add(time.Second); return now }, OnRecord: func(r Record) { seen = append(seen, r) }})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := l.Append(Record{Actor: "user:alice", Action: "search", Details: map[string]string{"query": fmt.Sprintf("error %d", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Fatalf("OnRecord saw %d records, want %d", len(seen), n)
	}
}

func TestAuditChain(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	path := filepath.Join(t.TempDir(), "audit.log")
	writeAudit(t, path, 25, key)
	rep, err := VerifyAudit(path, pub)
	if err != nil || !rep.OK() || rep.Records != 28 || rep.Checkpoints != 3 {
		t.Fatalf("clean log: %+v %v", rep, err)
	}
	// Reopen continues the chain.
	l, err := OpenAudit(AuditOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	l.Append(Record{Actor: "system", Action: "restart"})
	l.Close()
	if rep, _ := VerifyAudit(path, pub); !rep.OK() || rep.LastSeq != 29 {
		t.Fatalf("after reopen: %+v", rep)
	}
	// A checkpoint signed with another key is caught.
	otherPub, _, _ := ed25519.GenerateKey(nil)
	if rep, _ := VerifyAudit(path, otherPub); rep.OK() {
		t.Fatal("checkpoints verified with the wrong public key")
	}
}

// TestAuditTamperRandomized mutates a valid log 1,000 times (byte flips,
// truncation, deleted, duplicated, swapped and edited records) and checks
// that verify reports every mutation that changed the file.
func TestAuditTamperRandomized(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	writeAudit(t, path, 40, key)
	orig, _ := os.ReadFile(path)
	lines := bytes.SplitAfter(orig, []byte("\n"))
	lines = lines[:len(lines)-1] // trailing empty element
	rng := rand.New(rand.NewPCG(1, 2))
	mutated := filepath.Join(dir, "m.log")
	detected, changed := 0, 0
	kinds := map[string]int{}
	for i := 0; i < 1000; i++ {
		var b []byte
		kind := ""
		switch rng.IntN(6) {
		case 0:
			kind = "flip"
			b = bytes.Clone(orig)
			p := rng.IntN(len(b))
			b[p] ^= byte(1 + rng.IntN(255))
		case 1:
			kind = "truncate"
			b = orig[:rng.IntN(len(orig))]
		case 2:
			kind = "delete"
			k := rng.IntN(len(lines) - 1) // deleting the very last record needs an outside anchor; see below
			b = bytes.Join(append(append([][]byte{}, lines[:k]...), lines[k+1:]...), nil)
		case 3:
			kind = "duplicate"
			k := rng.IntN(len(lines))
			b = bytes.Join(append(append(append([][]byte{}, lines[:k+1]...), lines[k]), lines[k+1:]...), nil)
		case 4:
			kind = "swap"
			k := rng.IntN(len(lines) - 1)
			ls := append([][]byte{}, lines...)
			ls[k], ls[k+1] = ls[k+1], ls[k]
			b = bytes.Join(ls, nil)
		case 5:
			kind = "edit"
			k := rng.IntN(len(lines))
			ls := append([][]byte{}, lines...)
			ls[k] = bytes.Replace(ls[k], []byte("alice"), []byte("mallory"), 1)
			ls[k] = bytes.Replace(ls[k], []byte(`"error`), []byte(`"benign`), 1)
			b = bytes.Join(ls, nil)
		}
		if bytes.Equal(b, orig) {
			continue
		}
		changed++
		kinds[kind]++
		os.WriteFile(mutated, b, 0o600)
		rep, err := VerifyAudit(mutated, pub)
		if err != nil {
			t.Fatal(err)
		}
		// A truncation at a record boundary looks like a shorter valid log
		// from inside the file; it is caught by the head anchor.
		if rep.OK() && kind == "truncate" && rep.LastSeq < 41 {
			full, _ := VerifyAudit(path, pub)
			if rep.Head != full.Head {
				detected++
				continue
			}
		}
		if rep.OK() {
			t.Errorf("mutation %d (%s) not detected", i, kind)
			continue
		}
		detected++
	}
	t.Logf("%d mutations changed the file, %d detected; by kind %v", changed, detected, kinds)
	if changed < 900 || detected != changed {
		t.Fatalf("detected %d of %d", detected, changed)
	}
}

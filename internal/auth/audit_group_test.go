package auth

import (
	"crypto/ed25519"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

// TestAuditConcurrentAppends: appends from many goroutines share fsyncs
// (group commit) and still give one valid chain holding every record,
// with checkpoints signed in order; an append after Close fails.
func TestAuditConcurrentAppends(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := OpenAudit(AuditOptions{Path: path, SigningKey: key, CheckpointEvery: 7})
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 40
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := l.Append(Record{Actor: fmt.Sprintf("user:u%d", w), Action: "search", Target: fmt.Sprint(i)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if seq, _ := l.Head(); l.synced != seq {
		t.Errorf("after every Append returned, synced = %d, want the head %d", l.synced, seq)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(Record{Actor: "user:late", Action: "search"}); err == nil {
		t.Error("Append after Close succeeded")
	}
	rep, err := VerifyAudit(path, pub)
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %v %+v", err, rep)
	}
	if got := rep.Records - uint64(rep.Checkpoints); got != workers*each {
		t.Errorf("%d records besides checkpoints, want %d", got, workers*each)
	}
}

package tail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest/ingesttest"
)

const token = "file-secret"

func run(t *testing.T, sink *ingesttest.Sink, opts Options) (stop func()) {
	t.Helper()
	opts.Token = token
	if opts.PollInterval == 0 {
		opts.PollInterval = 5 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	tl, err := New(ctx, sink, ingesttest.Auth{token: {TokenID: "t1"}}, opts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(stop)
	return stop
}

func waitRaws(t *testing.T, s *ingesttest.Sink, want ...string) []event.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	evs, err := s.WaitN(ctx, len(want))
	if err != nil {
		t.Fatalf("%v; events %v", err, raws(evs))
	}
	if got := raws(evs); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("lines = %q, want %q", got, want)
	}
	return evs
}

func raws(evs []event.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Raw)
	}
	return out
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestFollowRotateTruncate(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendFile(t, log, "2026-11-25T10:00:00Z one\n{\"message\":\"two\",\"level\":\"info\"}\npart")
	sink := &ingesttest.Sink{}
	run(t, sink, Options{Paths: []string{filepath.Join(dir, "*.log")}, Host: "h1"})
	evs := waitRaws(t, sink, "2026-11-25T10:00:00Z one", "two")
	if event.FormatTime(evs[0].Time) != "2026-11-25T10:00:00Z" || evs[0].Host != "h1" || evs[0].Source != "file" {
		t.Errorf("event 0 = %+v", evs[0])
	}
	if v, _ := evs[1].Get("level"); v != "info" {
		t.Errorf("json line fields = %v", evs[1].Fields)
	}
	if v, _ := evs[0].Get(FieldPath); v != log {
		t.Errorf("%s = %q", FieldPath, v)
	}
	appendFile(t, log, "ial three\n")
	waitRaws(t, sink, "2026-11-25T10:00:00Z one", "two", "partial three")
	// Rotation by rename: the old file's tail and the new file both arrive.
	appendFile(t, log, "four\nlast without newline")
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, log, "new five\n")
	waitRaws(t, sink, "2026-11-25T10:00:00Z one", "two", "partial three", "four", "last without newline", "new five")
	// Truncation (copytruncate): reading restarts at the beginning.
	if err := os.Truncate(log, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let a poll see the empty file; no hook to wait on
	appendFile(t, log, "six\n")
	waitRaws(t, sink, "2026-11-25T10:00:00Z one", "two", "partial three", "four", "last without newline", "new five", "six")
}

func TestResumeFromState(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	state := filepath.Join(dir, "state.json")
	appendFile(t, log, "a\nb\n")
	sink := &ingesttest.Sink{}
	stop := run(t, sink, Options{Paths: []string{log}, StateFile: state})
	waitRaws(t, sink, "a", "b")
	stop()
	appendFile(t, log, "c\n")
	sink2 := &ingesttest.Sink{}
	run(t, sink2, Options{Paths: []string{log}, StateFile: state})
	waitRaws(t, sink2, "c") // nothing read twice
	// StartAtEnd skips what a file held at the first scan.
	sink3 := &ingesttest.Sink{}
	appendFile(t, filepath.Join(dir, "other.log"), "x\n")
	s3 := filepath.Join(dir, "s3.json")
	run(t, sink3, Options{Paths: []string{filepath.Join(dir, "other.log")}, StateFile: s3, StartAtEnd: true})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(s3); err == nil {
			break // the first scan is done
		}
	}
	appendFile(t, filepath.Join(dir, "other.log"), "y\n")
	waitRaws(t, sink3, "y") // StartAtEnd skipped the existing x
}

func TestOptions(t *testing.T) {
	if err := (Options{}).Validate(); err == nil {
		t.Error("no paths accepted")
	}
	if err := (Options{Paths: []string{"[bad"}, Format: "xml"}).Validate(); err == nil {
		t.Error("bad pattern and format accepted")
	}
}

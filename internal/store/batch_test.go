package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mamori/mamori/internal/event"
)

func TestEncodeBatch(t *testing.T) {
	f := func(name string, evs []event.Event) {
		t.Helper()
		parts := make([]string, len(evs))
		routed := make([]event.Event, len(evs))
		for i := range evs {
			parts[i] = "p" + strings.Repeat("x", i%3)
			routed[i] = evs[i]
			routed[i].Partition = parts[i]
		}
		want := appendBatch(nil, routed)
		size := batchSize(evs, parts)
		if size != len(want) {
			t.Errorf("%s: batchSize = %d, want %d", name, size, len(want))
		}
		got, offs := encodeBatch(evs, parts, size)
		if string(got) != string(want) {
			t.Fatalf("%s: encodeBatch bytes differ from appendBatch", name)
		}
		if cap(got) != size {
			t.Errorf("%s: payload grew from %d to %d", name, size, cap(got))
		}
		dec, decOffs, err := decodeBatchAt(string(want), true)
		if err != nil {
			t.Fatalf("%s: decodeBatchAt: %v", name, err)
		}
		if !cmp.Equal(offs, decOffs, cmpopts.EquateEmpty()) {
			t.Errorf("%s: offsets %v, decodeBatchAt says %v", name, offs, decOffs)
		}
		var fields []event.Field
		for i, off := range offs {
			var e event.Event
			if fields, err = decodeEventAt(string(got), off, &e, fields); err != nil {
				t.Fatalf("%s: decodeEventAt(%d): %v", name, off, err)
			}
			if diff := cmp.Diff(dec[i], e, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s: event %d differs from decodeBatch (-want +got):\n%s", name, i, diff)
			}
		}
		if _, err := decodeEventAt(string(got), uint32(len(got)+1), new(event.Event), nil); err == nil {
			t.Errorf("%s: decodeEventAt past the end: no error", name)
		}
	}
	f("empty", nil)
	f("test events", testEvents(0, 50))
	f("no fields", []event.Event{{Time: -5, Raw: "x"}, {Received: 1 << 62}})
	f("long strings", []event.Event{{Time: 1, Raw: strings.Repeat("r", 70000), Host: strings.Repeat("h", 200),
		Fields: []event.Field{{Name: "a", Value: strings.Repeat("v", 20000)}, {Name: "", Value: ""}}}})
}

func BenchmarkEncodeBatch(b *testing.B) {
	evs := testEvents(0, 1000)
	parts := make([]string, len(evs))
	for i := range parts {
		parts[i] = event.DefaultPartition
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		encodeBatch(evs, parts, batchSize(evs, parts))
	}
}

// TestOverloadWait checks that an Append finding the buffer full waits for
// the flush it nudges instead of refusing at once, and refuses at once
// with a negative OverloadWait or when its context ends.
func TestOverloadWait(t *testing.T) {
	one := testEvents(0, 100)
	parts := make([]string, len(one))
	for i := range parts {
		parts[i] = event.DefaultPartition
	}
	size := int64(batchSize(one, parts))
	f := func(name string, wait time.Duration, hook func() error, ctx context.Context, want error) {
		t.Helper()
		opts := testOptions(t.TempDir())
		opts.MaxBufferBytes = size + size/2 // room for one batch and its rows
		opts.FlushBytes = opts.MaxBufferBytes
		opts.OverloadWait = wait
		s := openTest(t, opts)
		defer s.Close()    // fails with a failing hook: not the point here
		s.flushHook = hook // before any flush can run
		if err := s.Append(context.Background(), one); err != nil {
			t.Fatalf("%s: first Append = %v", name, err)
		}
		err := s.Append(ctx, testEvents(100, 100))
		if !errors.Is(err, want) && !(want == nil && err == nil) {
			t.Fatalf("%s: second Append = %v, want %v", name, err, want)
		}
	}
	f("waits for the flush", 0, nil, context.Background(), nil)
	f("no wait", -1, nil, context.Background(), ErrOverloaded)
	failing := func() error { return errors.New("disk on fire") }
	f("flush fails: times out", 50*time.Millisecond, failing, context.Background(), ErrOverloaded)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f("context ends", 0, failing, ctx, context.Canceled)
}

// FuzzDecodeEventAt feeds arbitrary records and offsets to the memtable's
// row decoder: errors are fine, panics are not, and at the offsets of a
// record that decodes, every event decodes the same as decodeBatch's.
func FuzzDecodeEventAt(f *testing.F) {
	f.Add(appendBatch(nil, testEvents(0, 3)), uint32(1))
	f.Add([]byte{1, 2, 3}, uint32(0))
	f.Fuzz(func(t *testing.T, p []byte, off uint32) {
		var e event.Event
		if _, err := decodeEventAt(string(p), off, &e, nil); err != nil && err.Error() == "" {
			t.Fatal("empty error message")
		}
		evs, offs, err := decodeBatchAt(string(p), true)
		if err != nil {
			return
		}
		for i, o := range offs {
			var got event.Event
			if _, err := decodeEventAt(string(p), o, &got, nil); err != nil {
				t.Fatalf("event %d at %d: %v", i, o, err)
			}
			if diff := cmp.Diff(evs[i], got, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("event %d differs (-batch +at):\n%s", i, diff)
			}
		}
	})
}

// TestIdleFlush checks that a buffer of at least FlushBytes/8 is flushed
// once appends stop for idleFlushAfter, long before FlushInterval.
func TestIdleFlush(t *testing.T) {
	opts := testOptions(t.TempDir()) // FlushInterval: an hour
	opts.MaxBufferBytes = 64 << 10
	opts.FlushBytes = 64 << 10
	s := openTest(t, opts)
	defer s.Close()
	if err := s.Append(context.Background(), testEvents(0, 200)); err != nil { // > 8 KiB
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * idleFlushAfter)
	for {
		s.mu.Lock()
		n := len(s.parts)
		s.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no flush %v after the last append", 10*idleFlushAfter)
		}
		time.Sleep(50 * time.Millisecond) // polling a timer-driven flush
	}
	checkIDs(t, readAll(t, s, Query{}), 200)
}

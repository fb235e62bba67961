package store

import (
	"context"
	"testing"
	"time"
)

func TestSetRetention(t *testing.T) {
	now := time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC)
	opts := testOptions(t.TempDir())
	opts.Now = func() time.Time { return now }
	s, rows := openDays(t, opts) // no retention: keeps everything
	ctx := context.Background()
	if err := s.ApplyRetention(ctx); err != nil {
		t.Fatal(err)
	}
	if rows("main") != 19 || rows("wallet") != 19 {
		t.Fatalf("without retention: main %d wallet %d rows, want 19 each", rows("main"), rows("wallet"))
	}
	for _, bad := range []func() error{
		func() error { return s.SetRetention(-time.Hour, nil, 0) },
		func() error { return s.SetRetention(0, map[string]time.Duration{"x": -1}, 0) },
		func() error { return s.SetRetention(0, nil, -1) },
	} {
		if bad() == nil {
			t.Error("a negative value was accepted")
		}
	}
	ages := map[string]time.Duration{"wallet": 30 * 24 * time.Hour}
	if err := s.SetRetention(7*24*time.Hour, ages, 0); err != nil {
		t.Fatal(err)
	}
	ages["wallet"] = time.Hour // the store keeps its own copy
	def, got, budget := s.Retention()
	if def != 7*24*time.Hour || got["wallet"] != 30*24*time.Hour || budget != 0 {
		t.Fatalf("Retention() = %v %v %d", def, got, budget)
	}
	if err := s.ApplyRetention(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rows("main"); got != 7 {
		t.Errorf("main keeps %d days, want 7", got)
	}
	if got := rows("wallet"); got != 19 {
		t.Errorf("wallet keeps %d days, want 19", got)
	}
}

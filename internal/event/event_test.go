package event

import "testing"

func TestGetSet(t *testing.T) {
	var e Event
	e.Set("user", "alice")
	e.Set("_host", "h1")
	e.Set("user", "bob")
	if v, ok := e.Get("user"); !ok || v != "bob" {
		t.Fatalf("Get(user) = %q, %v, want bob", v, ok)
	}
	if v, _ := e.Get("_host"); v != "h1" {
		t.Fatalf("Get(_host) = %q, want h1", v)
	}
	if _, ok := e.Get("missing"); ok {
		t.Fatal("Get(missing) reported present")
	}
}

func TestParseTime(t *testing.T) {
	f := func(in string, want int64) {
		t.Helper()
		got, ok := ParseTime(in)
		if !ok || got != want {
			t.Errorf("ParseTime(%q) = %d, %v, want %d", in, got, ok, want)
		}
	}
	f("2026-01-01T00:00:00Z", 1767225600000000000)
	f("2026-01-01T00:00:00.5Z", 1767225600500000000)
	f("1767225600", 1767225600000000000)
	f("1767225600123", 1767225600123000000)
	f("1767225600123456", 1767225600123456000)
	f("1767225600123456789", 1767225600123456789)
	f("1767225600.25", 1767225600250000000)
	if _, ok := ParseTime("yesterday"); ok {
		t.Error("ParseTime(yesterday) succeeded")
	}
}

package scenario

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRecentStart(t *testing.T) {
	dir := t.TempDir()
	spec := `{"name": "x", "start": "2018-01-22T00:00:00+09:00", "duration": "7d"}`
	if err := os.WriteFile(filepath.Join(dir, "dev.json"), []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 0, 10, 0, 0, time.UTC)
	got, err := RecentStart(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	jst := time.FixedZone("JST", 9*3600)
	if l := got.In(jst); l.Weekday() != time.Monday || l.Hour() != 0 || l.Minute() != 0 {
		t.Errorf("start %s (%s in JST): want a Monday at 00:00 JST", got, l)
	}
	end := got.Add(7 * 24 * time.Hour)
	if end.After(now) || now.Sub(end) >= 7*24*time.Hour {
		t.Errorf("start %s: the scenario ends %s, want within the week before %s", got, end, now)
	}
	for _, c := range []struct {
		in   string
		want time.Duration
	}{{"7d", 168 * time.Hour}, {"3d12h", 84 * time.Hour}, {"90m", 90 * time.Minute}} {
		if d, err := specDuration(c.in); err != nil || d != c.want {
			t.Errorf("specDuration(%q) = %v, %v; want %v", c.in, d, err, c.want)
		}
	}
	if _, err := specDuration("xd"); err == nil {
		t.Error("specDuration(\"xd\"): no error")
	}
}

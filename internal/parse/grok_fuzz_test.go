package parse

import (
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// FuzzGrok feeds user-controlled patterns to the compiler and lines to a
// compiled parser: no panic, errors with messages.
func FuzzGrok(f *testing.F) {
	f.Add(`%{IP:source.ip} %{WORD:w} %{GREEDYDATA:rest}`, "10.0.0.1 login hello")
	f.Add(`%{COMBINEDAPACHELOG}`, `1.2.3.4 - bob [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.0" 200 1 "-" "-"`)
	f.Add(`(?P<x>\d+)(y|z)%{INT:n:int}`, "12y3")
	f.Add(`%{`, "")
	f.Fuzz(func(t *testing.T, pattern, line string) {
		p, err := NewGrok("fuzz", []string{pattern}, GrokOptions{Patterns: map[string]string{"SELF": `%{SELF}`}})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		var ev event.Event
		if err := p.Parse([]byte(line), &ev); err != nil && err.Error() == "" {
			t.Fatal("empty parse error")
		}
		if ev.Raw != line {
			t.Fatalf("Raw = %q, want %q", ev.Raw, line)
		}
		for _, fl := range ev.Fields {
			if fl.Name == "" {
				t.Fatalf("empty field name from pattern %q", pattern)
			}
		}
	})
}

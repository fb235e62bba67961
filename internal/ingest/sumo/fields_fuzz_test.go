package sumo

import (
	"strings"
	"testing"
)

func FuzzHeaderFields(f *testing.F) {
	f.Add("env=prod, team=sec")
	f.Add("novalue")
	f.Add("_meta=x")
	f.Fuzz(func(t *testing.T, h string) {
		fields, err := headerFields(h)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if len(fields) > maxHeaderFields {
			t.Fatalf("%d fields over the bound", len(fields))
		}
		for _, fl := range fields {
			if fl.Name == "" || strings.HasPrefix(fl.Name, "_") {
				t.Fatalf("bad field name %q from %q", fl.Name, h)
			}
		}
	})
}

package parse

import (
	"slices"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

func FuzzCEF(f *testing.F) {
	fuzzParser(f, "cef",
		`CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232`,
		`CEF:0|Ven\|dor|Prod\\uct|1|sig|Name|5|msg=a \= b \\ c\nd fname=My File.doc suser=alice`,
		`<14>Jan 22 00:21:13 pa-edge01 CEF:0|Palo Alto Networks|PAN-OS|8.0.6|deny|TRAFFIC|3|rt=1516548073860 src=45.125.239.3 cs4Label=Source Zone cs4=untrust`,
		`CEF:0|||||||=== =x x= \`,
	)
}

// FuzzCEFExtension checks the extension scanner against a plain reference
// (the straightforward form of the same grammar, without the fast paths).
func FuzzCEFExtension(f *testing.F) {
	for _, s := range []string{"src=1 dst=2", "msg=a \\= b  c=d  ", "=== =x x= \\", "a=b\\ c=d e", " k=v  w=x=y z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got, want event.Event
		cefExtension(s, &got)
		refCEFExtension(s, &want)
		if !slices.Equal(got.Fields, want.Fields) {
			t.Fatalf("cefExtension(%q) = %v, want %v", s, got.Fields, want.Fields)
		}
	})
}

func refCEFExtension(s string, ev *event.Event) {
	i := 0
	for i < len(s) {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		k := i
		for k < len(s) && cefKeyByte[s[k]] {
			k++
		}
		if k == i || k >= len(s) || s[k] != '=' {
			for i < len(s) && s[i] != ' ' {
				i++
			}
			continue
		}
		end := len(s)
		for j := k + 1; j < len(s); j++ {
			if s[j] != ' ' {
				continue
			}
			e := j + 1
			for e < len(s) && cefKeyByte[s[e]] {
				e++
			}
			if e > j+1 && e < len(s) && s[e] == '=' {
				end = j
				break
			}
		}
		v := strings.TrimRight(s[k+1:end], " ")
		if strings.IndexByte(v, '\\') >= 0 {
			v = unescapeCEF(v, false)
		}
		add(ev, s[i:k], v)
		i = end
	}
}

// FuzzCEFHeaderField checks the header field scanner against a plain
// reference.
func FuzzCEFHeaderField(f *testing.F) {
	for _, s := range []string{"a|b", `Ven\|dor|x`, `abcdefgh\\|ijk`, `0123456789abcdef\`, "no bar at all, long enough", `\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for i := 0; i <= len(s) && i < 20; i++ {
			v, j, esc, ok := cefHeaderField(s, i)
			rv, rj, resc, rok := refCEFHeaderField(s, i)
			if v != rv || j != rj || esc != resc || ok != rok {
				t.Fatalf("cefHeaderField(%q, %d) = %q, %d, %v, %v, want %q, %d, %v, %v", s, i, v, j, esc, ok, rv, rj, resc, rok)
			}
		}
	})
}

func refCEFHeaderField(s string, i int) (string, int, bool, bool) {
	esc := false
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '\\':
			esc = true
			j++
		case '|':
			return s[i:j], j + 1, esc, true
		}
	}
	return "", len(s), false, false
}

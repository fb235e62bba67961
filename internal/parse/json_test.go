package parse

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mamori/mamori/internal/event"
)

func TestFlattenJSON(t *testing.T) {
	f := func(in string, want ...string) {
		t.Helper()
		got, err := FlattenJSON([]byte(in), nil)
		if err != nil {
			t.Fatalf("FlattenJSON(%q): %v", in, err)
		}
		var flat []string
		for _, fl := range got {
			flat = append(flat, fl.Name+"="+fl.Value)
		}
		if diff := cmp.Diff(want, flat); diff != "" {
			t.Errorf("FlattenJSON(%q) mismatch (-want +got):\n%s", in, diff)
		}
	}
	f(`{}`)
	f(`{"a":1,"b":"x"}`, "a=1", "b=x")
	f(`{"a":{"b":{"c":true}},"d":null,"e":false}`, "a.b.c=true", "e=false")
	f(`{"arr":[1, "two", {"x": [ ]}]}`, `arr=[1,"two",{"x":[]}]`)
	f(`{"s":"q\"\\\/\n\u00e9\ud83d\ude00"}`, "s=q\"\\/\né😀")
	f(` {"n":-1.5e+3} `, "n=-1.5e+3")
	f(`{"Event":{"System":{"EventID":4688},"EventData":{"Image":"C:\\x.exe"}}}`, "Event.System.EventID=4688", `Event.EventData.Image=C:\x.exe`)
}

func TestFlattenJSONErrors(t *testing.T) {
	for _, in := range []string{``, `[]`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":tru}`, `{"a":"x}`, `{"a":1} x`, `{"a":01x}`, `{"a":"\q"}`, `{"a":-}`, strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100)} {
		_, err := FlattenJSON([]byte(in), nil)
		if err == nil {
			t.Errorf("FlattenJSON(%q) succeeded, want error", in)
			continue
		}
		var je *JSONError
		if !asJSONError(err, &je) || je.Msg == "" || je.Offset < 0 || je.Offset > len(in) {
			t.Errorf("FlattenJSON(%q) error %v lacks a position", in, err)
		}
	}
}

func asJSONError(err error, target **JSONError) bool {
	je, ok := err.(*JSONError)
	if ok {
		*target = je
	}
	return ok
}

func TestDecodeJSONEvent(t *testing.T) {
	var ev event.Event
	err := DecodeJSONEvent([]byte(`{"@timestamp":"2026-01-01T00:00:01Z","message":"hello","_host":"h1","user":{"name":"bob"}}`), &ev, JSONEventOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Time != 1767225601000000000 || ev.Raw != "hello" || ev.Host != "h1" {
		t.Fatalf("got time %d raw %q host %q", ev.Time, ev.Raw, ev.Host)
	}
	if v, _ := ev.Get("user.name"); v != "bob" || len(ev.Fields) != 1 {
		t.Fatalf("fields = %v", ev.Fields)
	}
	// No message: the whole line is the raw message; custom time field.
	ev = event.Event{}
	line := `{"when":"1767225600123","x":"y"}`
	if err := DecodeJSONEvent([]byte(line), &ev, JSONEventOptions{TimeField: "when"}); err != nil {
		t.Fatal(err)
	}
	if ev.Raw != line || ev.Time != 1767225600123000000 {
		t.Fatalf("got raw %q time %d", ev.Raw, ev.Time)
	}
	// A time that does not parse is reported but the event is kept.
	ev = event.Event{}
	if err := DecodeJSONEvent([]byte(`{"time":"soon","msg":"m"}`), &ev, JSONEventOptions{}); err == nil || ev.Raw != "m" {
		t.Fatalf("err %v raw %q", err, ev.Raw)
	}
	if v, ok := ev.Get("time"); !ok || v != "soon" {
		t.Fatalf("unparsed time member not kept: %v", ev.Fields)
	}
}

func FuzzFlattenJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":{"b":[1,2,{"c":"d"}]},"e":"\u00e9"}`, `{"a":"\ud83d\ude00"}`, `{"x":-0.5e3,"y":null,"z":true}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := FlattenJSON(in, nil)
		valid := json.Valid(in) && len(in) > 0
		var probe any
		isObj := valid && json.Unmarshal(in, &probe) == nil
		if _, ok := probe.(map[string]any); !ok {
			isObj = false
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			if isObj && !strings.Contains(err.Error(), "nested deeper") {
				t.Fatalf("FlattenJSON(%q) = %v, but encoding/json accepts it", in, err)
			}
			return
		}
		if !isObj {
			t.Fatalf("FlattenJSON(%q) accepted input encoding/json rejects (fields %v)", in, got)
		}
	})
}

func TestKeyRanks(t *testing.T) {
	for i, k := range TimeKeys {
		if r := timeKeyRank(k); r != i {
			t.Errorf("timeKeyRank(%q) = %d, want %d", k, r, i)
		}
	}
	for i, k := range MessageKeys {
		if r := msgKeyRank(k); r != i {
			t.Errorf("msgKeyRank(%q) = %d, want %d", k, r, i)
		}
	}
	for _, k := range []string{"", "Time", "times", "msg2", "_tim", "level"} {
		if r := timeKeyRank(k); r != -1 || msgKeyRank(k) != -1 {
			t.Errorf("rank(%q) = %d, %d, want -1", k, r, msgKeyRank(k))
		}
	}
}

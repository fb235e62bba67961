package parse

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
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
		if r, m := keyRanks(k); r != i || m != -1 {
			t.Errorf("keyRanks(%q) = %d, %d, want %d, -1", k, r, m, i)
		}
	}
	for i, k := range MessageKeys {
		if r, m := keyRanks(k); r != -1 || m != i {
			t.Errorf("keyRanks(%q) = %d, %d, want -1, %d", k, r, m, i)
		}
	}
	for _, k := range []string{"", "Time", "times", "msg2", "_tim", "level", "_message"} {
		if r, m := keyRanks(k); r != -1 || m != -1 {
			t.Errorf("keyRanks(%q) = %d, %d, want -1, -1", k, r, m)
		}
	}
}

// refFlatten is an independent FlattenJSON built on encoding/json (tokens
// for object members, raw values for the rest), for differential tests.
func refFlatten(doc []byte) ([]event.Field, error) {
	var out []event.Field
	var walk func(raw []byte, prefix string) error
	walk = func(raw []byte, prefix string) error {
		dec := json.NewDecoder(bytes.NewReader(raw))
		if _, err := dec.Token(); err != nil { // '{'
			return err
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			name := tok.(string)
			if prefix != "" {
				name = prefix + "." + name
			}
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return err
			}
			switch v[0] {
			case '{':
				if err := walk(v, name); err != nil {
					return err
				}
			case '[':
				var b bytes.Buffer
				if err := json.Compact(&b, v); err != nil {
					return err
				}
				out = append(out, event.Field{Name: name, Value: b.String()})
			case '"':
				var s string
				if err := json.Unmarshal(v, &s); err != nil {
					return err
				}
				out = append(out, event.Field{Name: name, Value: s})
			case 'n':
			default:
				out = append(out, event.Field{Name: name, Value: string(v)})
			}
		}
		return nil
	}
	if !json.Valid(doc) {
		return nil, errors.New("invalid")
	}
	if t := bytes.TrimLeft(doc, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, errors.New("not an object")
	}
	return out, walk(doc, "")
}

// checkFlattenRef compares FlattenJSON, flattenJSON with a source string
// (values as substrings) and refFlatten on one document.
func checkFlattenRef(t *testing.T, doc []byte) {
	t.Helper()
	got, err := FlattenJSON(doc, nil)
	src := string(doc)
	got2, err2 := flattenJSON(doc, src, []event.Field{{Name: "keep", Value: "me"}})
	if (err == nil) != (err2 == nil) {
		t.Fatalf("%q: FlattenJSON err %v, with source err %v", doc, err, err2)
	}
	if err2 != nil && (len(got2) != 1 || got2[0].Name != "keep") {
		t.Fatalf("%q: dst changed on error: %v", doc, got2)
	}
	want, werr := refFlatten(doc)
	if err != nil {
		var je *JSONError
		if !asJSONError(err, &je) || je.Offset < 0 || je.Offset > len(doc) {
			t.Fatalf("%q: error %v without a position", doc, err)
		}
		if werr == nil && !strings.Contains(err.Error(), "nested deeper") {
			t.Fatalf("%q: FlattenJSON: %v, but encoding/json accepts it", doc, err)
		}
		return
	}
	if werr != nil {
		t.Fatalf("%q: FlattenJSON accepts what encoding/json rejects (%v)", doc, werr)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("%q: FlattenJSON differs from encoding/json (-want +got):\n%s", doc, diff)
	}
	if diff := cmp.Diff(got, got2[1:], cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("%q: with a source string (-plain +source):\n%s", doc, diff)
	}
}

func TestFlattenJSONEdges(t *testing.T) {
	long := strings.Repeat(`C:\\Windows\\System32\\`, 40000) // ~1 MiB with escapes throughout
	docs := []string{
		// escapes: every one-character escape, \u, surrogate pairs, lone and
		// reversed surrogates, a high surrogate before a non-surrogate escape
		`{"e":"\"\\\/\b\f\n\r\t"}`,
		`{"u":"\u0041\u00e9\u20ac\ud83d\ude00x"}`,
		`{"lone":"a\ud800b","low":"\udc00","rev":"\udc00\ud800","hi2":"\ud83d\u0041","end":"\ud83d"}`,
		`{"k\"ey":1,"k\\ey":{"n\u00e9st":"v"},"":"empty","\u0000":"nul"}`,
		// unicode: valid multi-byte text (kept as is, no escapes), invalid
		// UTF-8 (replaced), escapes next to non-ASCII
		"{\"jp\":\"日本語のログ\",\"mix\":\"é\\n日\",\"bad\":\"a\xffb\xc3\",\"trunc\":\"\xe6\x97\"}",
		"{\"\xe6\x97\xa5\":\"name is non-ASCII\"}",
		// numbers
		`{"i":0,"n":-12,"f":3.25,"e":1e10,"E":-2.5E-3,"p":1E+2,"big":123456789012345678901234567890}`,
		// nesting, arrays with and without white space, null and booleans
		`{"a":{"b":{"c":{"d":1}},"e":[1, {"x" : [ ] }, "s p"]},"n":null,"t":true,"f":false,"o":{}}`,
		"{ \"a\" : [ 1 ,\t2 ] , \"b\" :\n{ \"c\" : \"d\" } }",
		`{"arr":["a\"b",{"k":"v w"},["x"]]}`,
		// duplicate keys are all kept, in order
		`{"a":1,"a":"two","b":{"c":1},"b":{"c":2},"b.c":3}`,
		// a huge line: one long escaped value, one long plain one
		`{"long":"` + long + `","plain":"` + strings.Repeat("x", 1<<20) + `"}`,
		// strings that end exactly at a word boundary, and short ones
		`{"a":"1234567","b":"12345678","c":"123456789","d":"","e":"\\"}`,
	}
	for _, d := range docs {
		checkFlattenRef(t, []byte(d))
	}
	for _, bad := range []string{`{"a":"x` + "\x01" + `"}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"\u12g4"}`, `{"a":"abc`, `{"a":"abc\`, `{"a":[1,2}`, "{\"a\":\"\xff", `{"a":"\ud83d\u12"}`} {
		if _, err := FlattenJSON([]byte(bad), nil); err == nil {
			t.Errorf("FlattenJSON(%q) succeeded, want an error", bad)
		}
		checkFlattenRef(t, []byte(bad))
	}
}

// TestFlattenJSONAliases checks that values without escapes are substrings
// of the source string (no copy); TestFlattenJSONAllocs counts the copies.
func TestFlattenJSONAliases(t *testing.T) {
	line := []byte(`{"a":"plain","b":"日本","n":12,"arr":[1,2],"esc":"x\ny","esc2":"\u00e9","sp":[1, 2],"o":{"p":"q"}}`)
	src := string(line)
	fs, err := flattenJSON(line, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	lo := uintptr(unsafe.Pointer(unsafe.StringData(src)))
	for _, f := range fs {
		p := uintptr(unsafe.Pointer(unsafe.StringData(f.Value)))
		inSrc := p >= lo && p < lo+uintptr(len(src))
		want := f.Name != "esc" && f.Name != "esc2" && f.Name != "sp"
		if inSrc != want {
			t.Errorf("%s=%q: substring of the source %v, want %v", f.Name, f.Value, inSrc, want)
		}
	}
}

func FuzzFlattenJSONRef(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":{"b":[1, 2,{"c":"d"}]},"e":"\u00e9"}`, `{"a":"\ud83d\ude00\ud800"}`,
		`{"x":-0.5e3,"y":null,"z":true,"x":"dup"}`, "{\"s\":\"日本\xff\\n\\\\\"}", `{"k\"":{"":[]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkFlattenRef(t, in) })
}

func TestDecodeJSONEventMembers(t *testing.T) {
	// The first time member by TimeKeys order wins, the first message
	// member by MessageKeys order; metadata members set the metadata; the
	// rest stay fields, in order, duplicates included.
	line := `{"time":"2026-01-01T00:00:02Z","msg":"third","_time":"2026-01-01T00:00:01Z","message":"second","_msg":"first","_source":"s","x":"a\"b","x":"2","_category":"c"}`
	var ev event.Event
	if err := DecodeJSONEvent([]byte(line), &ev, JSONEventOptions{}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range ev.Fields {
		got = append(got, f.Name+"="+f.Value)
	}
	want := []string{"time=2026-01-01T00:00:02Z", "msg=third", "message=second", `x=a"b`, "x=2"}
	if ev.Time != 1767225601000000000 || ev.Raw != "first" || ev.Source != "s" || ev.Category != "c" || !cmp.Equal(got, want) {
		t.Fatalf("time %d raw %q source %q category %q fields %q", ev.Time, ev.Raw, ev.Source, ev.Category, got)
	}
	// Bad JSON leaves the event as it was.
	ev = event.Event{Raw: "r", Fields: []event.Field{{Name: "k", Value: "v"}}}
	if err := DecodeJSONEvent([]byte(`{"a":"\q"}`), &ev, JSONEventOptions{}); err == nil || ev.Raw != "r" || len(ev.Fields) != 1 {
		t.Fatalf("err %v, event %+v", err, ev)
	}
}

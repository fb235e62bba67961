package query

import (
	"encoding/json"
	"strconv"
	"strings"
)

// JSON extracts values from a JSON document in _raw (or Field): "| json
// "user.name", "status" as user, code" or "| json auto" (every top-level
// key; nested objects and arrays stay JSON text). Paths use dots and
// [index]. Rows whose text is not JSON, or lack every path, are dropped
// unless NoDrop.
type JSON struct {
	Field  string
	Auto   bool
	Paths  []string
	As     []string
	NoDrop bool
}

func init() { registerStage(parseJSONStage, "json") }

func parseJSONStage(p *parser, _ string, _ int) Stage {
	st := &JSON{}
	var ok bool
	if st.Field, ok = p.parseFieldOpt(); !ok {
		return nil
	}
	if p.acceptKeyword("auto") {
		st.Auto = true
	} else {
		for {
			path, ok := p.stringArg("a JSON path")
			if !ok {
				return nil
			}
			st.Paths = append(st.Paths, path)
			if !p.accept(",") {
				break
			}
		}
		if p.acceptKeyword("as") {
			at := p.pos
			if st.As = p.fieldNames("json"); st.As == nil {
				return nil
			}
			if len(st.As) != len(st.Paths) {
				p.errorf(at, "json has %d path(s) but %d name(s) after as", len(st.Paths), len(st.As))
				return nil
			}
		}
	}
	if f, ok := p.parseFieldOpt(); !ok {
		return nil
	} else if f != "" {
		st.Field = f
	}
	if st.Field == "_raw" {
		st.Field = ""
	}
	st.NoDrop = p.acceptKeyword("nodrop")
	return st
}

func (j *JSON) String() string {
	s := "json" + fieldOptString(j.Field)
	if j.Auto {
		s += " auto"
	} else {
		qs := make([]string, len(j.Paths))
		for i, p := range j.Paths {
			qs[i] = quote(p)
		}
		s += " " + strings.Join(qs, ", ")
		if len(j.As) > 0 {
			s += " as " + fieldList(j.As)
		}
	}
	if j.NoDrop {
		s += " nodrop"
	}
	return s
}

func (j *JSON) compile(c *compiler) ([]op, error) {
	o := &jsonOp{src: srcSlot(c, j.Field), auto: j.Auto, noDrop: j.NoDrop, slots: c.slots}
	for i, p := range j.Paths {
		name := lastPathElem(p)
		if i < len(j.As) {
			name = j.As[i]
		}
		o.paths = append(o.paths, splitPath(p))
		o.out = append(o.out, c.outSlot(name))
	}
	return []op{o}, nil
}

func lastPathElem(p string) string {
	parts := splitPath(p)
	for i := len(parts) - 1; i >= 0; i-- {
		if _, err := strconv.Atoi(parts[i]); err != nil || i == 0 {
			return parts[i]
		}
	}
	return p
}

// splitPath turns a.b[2].c into [a b 2 c].
func splitPath(p string) []string {
	p = strings.ReplaceAll(p, "[", ".")
	p = strings.ReplaceAll(p, "]", "")
	var out []string
	for _, s := range strings.Split(p, ".") {
		if s != "" {
			out = append(out, strings.Trim(s, `"'`))
		}
	}
	return out
}

type jsonOp struct {
	src    int
	auto   bool
	paths  [][]string
	out    []int
	noDrop bool
	slots  map[string]int // read-only at run time
}

type extraSetter interface{ setExtra(name string, v val) }

func (o *jsonOp) apply(r record) bool {
	v := r.get(o.src)
	if v.isNull() {
		return o.noDrop
	}
	s := strings.TrimSpace(v.str())
	if s == "" || (s[0] != '{' && s[0] != '[') {
		return o.noDrop
	}
	var doc any
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		return o.noDrop
	}
	if o.auto {
		m, ok := doc.(map[string]any)
		if !ok {
			return o.noDrop
		}
		for k, x := range m {
			o.setNamed(r, k, jsonVal(x))
		}
		return true
	}
	found := false
	for i, path := range o.paths {
		x, ok := walkJSON(doc, path)
		if !ok {
			continue
		}
		found = true
		r.set(o.out[i], jsonVal(x))
	}
	return found || o.noDrop
}

func (o *jsonOp) setNamed(r record, name string, v val) {
	if s, ok := o.slots[name]; ok {
		r.set(s, v)
		return
	}
	if es, ok := r.(extraSetter); ok {
		es.setExtra(name, v)
	}
}

func walkJSON(doc any, path []string) (any, bool) {
	cur := doc
	for _, p := range path {
		switch c := cur.(type) {
		case map[string]any:
			x, ok := c[p]
			if !ok {
				return nil, false
			}
			cur = x
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// jsonVal converts a decoded JSON value: strings and numbers as text,
// null as missing, objects and arrays as compact JSON.
func jsonVal(x any) val {
	switch x := x.(type) {
	case nil:
		return nullVal
	case string:
		return strVal(x)
	case float64:
		return strVal(strconv.FormatFloat(x, 'f', -1, 64))
	case bool:
		return strVal(strconv.FormatBool(x))
	}
	b, err := json.Marshal(x)
	if err != nil {
		return nullVal
	}
	return strVal(string(b))
}

package query

import (
	"strings"
)

// KV extracts key=value pairs from _raw (or Field): "| kv" takes every
// pair, "| kv "user", "src" as u, s" only the named keys. Values may be
// quoted; an unquoted value ends at a space, tab, ',' or ';'. Rows are
// never dropped.
type KV struct {
	Field string
	Keys  []string
	As    []string
}

func init() { registerStage(parseKV, "kv", "keyvalue") }

func parseKV(p *parser, _ string, _ int) Stage {
	st := &KV{}
	var ok bool
	if st.Field, ok = p.parseFieldOpt(); !ok {
		return nil
	}
	p.acceptKeyword("auto")
	if c := p.peek(); c == '"' || c == '\'' {
		for {
			k, ok := p.stringArg("a key")
			if !ok {
				return nil
			}
			st.Keys = append(st.Keys, k)
			if !p.accept(",") {
				break
			}
		}
		if p.acceptKeyword("as") {
			at := p.pos
			if st.As = p.fieldNames("kv"); st.As == nil {
				return nil
			}
			if len(st.As) != len(st.Keys) {
				p.errorf(at, "kv has %d key(s) but %d name(s) after as", len(st.Keys), len(st.As))
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
	return st
}

func (k *KV) String() string {
	s := "kv" + fieldOptString(k.Field)
	if len(k.Keys) > 0 {
		qs := make([]string, len(k.Keys))
		for i, x := range k.Keys {
			qs[i] = quote(x)
		}
		s += " " + strings.Join(qs, ", ")
		if len(k.As) > 0 {
			s += " as " + fieldList(k.As)
		}
	}
	return s
}

func (k *KV) compile(c *compiler) ([]op, error) {
	o := &kvOp{src: srcSlot(c, k.Field), slots: c.slots}
	for i, key := range k.Keys {
		name := key
		if i < len(k.As) {
			name = k.As[i]
		}
		o.keys = append(o.keys, key)
		o.out = append(o.out, c.outSlot(name))
	}
	return []op{o}, nil
}

type kvOp struct {
	src   int
	keys  []string
	out   []int
	slots map[string]int
}

func (o *kvOp) apply(r record) bool {
	v := r.get(o.src)
	if v.isNull() {
		return true
	}
	eachKV(v.str(), func(k, val string) {
		if len(o.keys) == 0 {
			if s, ok := o.slots[k]; ok {
				r.set(s, strVal(val))
			} else if es, ok := r.(extraSetter); ok {
				es.setExtra(k, strVal(val))
			}
			return
		}
		for i, want := range o.keys {
			if k == want {
				r.set(o.out[i], strVal(val))
			}
		}
	})
	return true
}

func isKeyByte(c byte) bool {
	return c == '_' || c == '.' || c == '-' || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

// eachKV calls fn for every key=value pair of s.
func eachKV(s string, fn func(k, v string)) {
	i := 0
	for i < len(s) {
		eq := strings.IndexByte(s[i:], '=')
		if eq < 0 {
			return
		}
		eq += i
		ks := eq
		for ks > i && isKeyByte(s[ks-1]) {
			ks--
		}
		key := s[ks:eq]
		j := eq + 1
		var val string
		if j < len(s) && (s[j] == '"' || s[j] == '\'') {
			q := s[j]
			end := strings.IndexByte(s[j+1:], q)
			if end < 0 {
				val, j = s[j+1:], len(s)
			} else {
				val, j = s[j+1:j+1+end], j+2+end
			}
		} else {
			end := j
			for end < len(s) && s[end] != ' ' && s[end] != ',' && s[end] != ';' && s[end] != '\t' {
				end++
			}
			val, j = s[j:end], end
		}
		if key != "" {
			fn(key, val)
		}
		i = j
	}
}

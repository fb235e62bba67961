package sigma

import "strings"

// fieldResolver maps an event's field name to the engine slot of the Sigma
// field it carries, using the pipeline's aliases and prefixes.
type fieldResolver struct {
	alias    map[string]int32 // canonical event field name -> slot
	slots    map[string]int32
	prefixes []string
}

func newFieldResolver(p *Pipeline, slots map[string]int32) fieldResolver {
	r := fieldResolver{alias: map[string]int32{}, slots: slots, prefixes: p.Prefixes}
	for from, to := range p.Fields {
		if s, ok := slots[canonField(to)]; ok {
			r.alias[canonField(from)] = s
		}
	}
	return r
}

// slot returns the slot for an event field name, or -1.
func (r *fieldResolver) slot(name string) int32 {
	name = strings.TrimSuffix(name, ".#text")
	key := canonField(name)
	if s, ok := r.alias[key]; ok {
		return s
	}
	if s, ok := r.slots[key]; ok {
		return s
	}
	for _, p := range r.prefixes {
		rest, ok := stripPrefix(name, p)
		if !ok || rest == "" {
			continue
		}
		if s, ok := r.slots[canonField(rest)]; ok {
			return s
		}
	}
	return -1
}

// stripPrefix removes prefix p (case-insensitive) from name. A prefix
// ending in "*." also removes the next path segment.
func stripPrefix(name, p string) (string, bool) {
	wild := strings.HasSuffix(p, "*.")
	if wild {
		p = p[:len(p)-2]
	}
	if len(name) < len(p) || !strings.EqualFold(name[:len(p)], p) {
		return "", false
	}
	rest := name[len(p):]
	if wild {
		i := strings.IndexByte(rest, '.')
		if i < 0 {
			return "", false
		}
		rest = rest[i+1:]
	}
	return rest, true
}

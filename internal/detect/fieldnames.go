package detect

// fieldNames finds a set of field names among an event's fields in one
// pass, instead of one e.Get (a scan of every field) per name: each event
// field is ruled out by its length and last byte (a bit table) before it
// is compared with the names of its length, so a pass costs a
// few instructions per field.
type fieldNames struct {
	idx   map[string]int // name -> its index (the first position given)
	key   [maxNameKey][4]uint64
	byLen [maxNameKey][]nameIndex // the names of each length
}

// nameIndex is a name and its index.
type nameIndex struct {
	name string
	i    int
}

// maxNameKey bounds the names the bit table covers; longer names are
// never found (callers look them up with e.Get).
const maxNameKey = 64

// newFieldNames indexes names; a name given twice keeps its first index.
// Names of maxNameKey bytes or more, empty names and metadata names
// (leading '_', which e.Get answers from the event's own members) are
// left out: indexable reports whether a name is in.
func newFieldNames(names []string) *fieldNames {
	fn := &fieldNames{idx: map[string]int{}}
	for i, name := range names {
		if !indexable(name) {
			continue
		}
		if _, ok := fn.idx[name]; !ok {
			fn.idx[name] = i
			fn.byLen[len(name)] = append(fn.byLen[len(name)], nameIndex{name: name, i: i})
		}
		n := len(name)
		fn.key[n][name[n-1]>>6] |= 1 << (name[n-1] & 63)
	}
	return fn
}

// indexable reports whether newFieldNames indexes a name.
func indexable(name string) bool {
	return name != "" && name[0] != '_' && len(name) < maxNameKey
}

// find returns the index of an event field's name, if it is one of the
// names.
func (fn *fieldNames) find(name string) (int, bool) {
	n := len(name)
	if n == 0 || n >= maxNameKey || fn.key[n][name[n-1]>>6]&(1<<(name[n-1]&63)) == 0 {
		return 0, false
	}
	return fn.lookup(name)
}

// lookup compares name with the names of its length (find stays small
// enough to be inlined in the passes).
func (fn *fieldNames) lookup(name string) (int, bool) {
	for _, x := range fn.byLen[len(name)] {
		if x.name == name {
			return x.i, true
		}
	}
	return 0, false
}

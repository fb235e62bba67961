package store

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/token"
)

// loadDict returns column name of block i as dictionary codes when it is
// stored as a constant or a dictionary, an empty DictColumn when the block
// lacks it, and nil otherwise (see ColumnLoader.LoadDict).
func (p *part) loadDict(i int, name string) (*DictColumn, error) {
	switch name {
	case event.FieldTime, event.FieldSource, event.FieldHost, event.FieldPartition:
		return nil, nil
	}
	bm := &p.blocks[i]
	c, ok := p.valueColumn(bm, name) // an alias of a dict column is one
	if !ok {
		return &DictColumn{Name: name}, nil
	}
	if c.size == 0 {
		return nil, nil
	}
	k := p.data[c.off]
	if k != kindConst && k != kindDict {
		return nil, nil
	}
	// Fast path: a constant column decoded before (count by host, say,
	// runs over the same blocks again and again). The cached value is
	// shared: callers must not modify a DictColumn.
	key := constKey{block: i, col: c.name}
	if k == kindConst {
		if v, ok := p.consts.Load(key); ok {
			return v.(*DictColumn), nil
		}
	}
	ch, err := p.chunk(c)
	if err != nil {
		return nil, err
	}
	dc, err := decodeDict(ch, int(bm.rows))
	if err != nil {
		return nil, fmt.Errorf("part %s block %d column %s: %w", p.path, i, name, err)
	}
	dc.Name = name
	if k == kindConst {
		p.consts.Store(key, dc)
	}
	return dc, nil
}

// constKey names a column chunk of a part: block index and name index.
type constKey struct {
	block int
	col   uint32
}

// decodeDict decodes a kindConst or kindDict chunk of rows values into
// codes; the strings do not alias chunk.
func decodeDict(chunk []byte, rows int) (*DictColumn, error) {
	kind, body, err := chunkBody(chunk)
	if err != nil {
		return nil, fmt.Errorf("decode dictionary: %w", err)
	}
	r := &reader{s: body}
	dc := &DictColumn{}
	switch kind {
	case kindConst:
		dc.Dict = []string{r.str()}
	case kindDict:
		n := r.count(1)
		if n > maxDict {
			return nil, fmt.Errorf("decode dictionary: %d values, at most %d", n, maxDict)
		}
		dc.Dict = make([]string, n)
		for i := range dc.Dict {
			dc.Dict[i] = r.str()
		}
		dc.Codes = make([]uint16, rows)
		// Fast path: below 128 values every code is one byte.
		if rest := body[min(r.off, len(body)):]; n < 128 && len(rest) == rows && r.err == nil {
			for i := range dc.Codes {
				dc.Codes[i] = uint16(rest[i])
				if int(rest[i]) > n && r.err == nil {
					r.err = fmt.Errorf("dictionary index %d out of %d", rest[i], n)
				}
			}
			r.off = len(body)
			break
		}
		// Fast path: below 16384 values a code is one or two bytes.
		if n < 1<<14 && r.err == nil {
			if off, ok := decodeCodes2(body, r.off, dc.Codes); ok {
				r.off = off
				if i := slices.IndexFunc(dc.Codes, func(c uint16) bool { return int(c) > n }); i >= 0 {
					r.err = fmt.Errorf("dictionary index %d out of %d", dc.Codes[i], n)
				}
				break
			}
		}
		for i := range dc.Codes {
			c := r.uvarint()
			if c > uint64(n) && r.err == nil {
				r.err = fmt.Errorf("dictionary index %d out of %d", c, n)
			}
			dc.Codes[i] = uint16(c)
		}
	default:
		return nil, fmt.Errorf("decode dictionary: kind %d is not const or dict", kind)
	}
	if r.err == nil && r.off != len(body) {
		r.err = fmt.Errorf("%d trailing bytes", len(body)-r.off)
	}
	if r.err != nil {
		return nil, fmt.Errorf("decode dictionary: %w", r.err)
	}
	return dc, nil
}

// decodeCodes2 reads len(codes) uvarints of at most two bytes from
// body[off:] into codes and returns the offset after them; false when one
// is longer or the body ends first (the caller then reads them the slow
// way, which reports the problem).
func decodeCodes2(body string, off int, codes []uint16) (int, bool) {
	for i := range codes {
		if off >= len(body) {
			return off, false
		}
		c := uint16(body[off])
		off++
		if c >= 0x80 {
			if off >= len(body) || body[off] >= 0x80 {
				return off, false
			}
			c = c&0x7f | uint16(body[off])<<7
			off++
		}
		codes[i] = c
	}
	return off, true
}

// pruneColumns decides LoadOptions.PruneCols before a load: a wanted
// field column that cannot contain any of texts is no longer wanted, and
// its decompressed body is kept in l.pre for the _raw templates that may
// refer to it. It returns the pruned column names.
func (l *blockLoader) pruneColumns(cols, texts []string) ([]string, error) {
	var pruned []string
	for k, c := range l.bm.cols {
		name := l.p.names[c.name]
		if !l.want[k] || c.size == 0 || event.IsMeta(name) || !slices.Contains(cols, name) {
			continue
		}
		switch kind := l.p.data[c.off]; kind {
		case kindInt:
			// Canonical decimal integers: digits and a leading minus.
			if !slices.ContainsFunc(texts, maybeInt) {
				l.want[k] = false
				pruned = append(pruned, name)
			}
		case kindIPv4:
			// Canonical dotted quads: digits and dots.
			if !slices.ContainsFunc(texts, maybeIPv4) {
				l.want[k] = false
				pruned = append(pruned, name)
			}
		case kindConst, kindDict, kindPlain:
			ch, err := l.p.chunk(c)
			if err != nil {
				return nil, err
			}
			sc := getScratch()
			l.scratch = append(l.scratch, sc)
			kind, body, err := chunkBodyTo(ch, sc)
			if err != nil {
				return nil, fmt.Errorf("part %s block %d column %s: %w", l.p.path, l.i, name, err)
			}
			// The body holds every value's bytes (with lengths or codes
			// around them), so a value containing a text makes the body
			// contain it.
			if !slices.ContainsFunc(texts, func(t string) bool { return containsFold(body, t) }) {
				l.want[k] = false
				if l.pre == nil {
					l.pre = make([]preBody, len(l.cols))
				}
				l.pre[k] = preBody{kind: kind, body: body, sc: sc}
				pruned = append(pruned, name)
			}
		}
	}
	return pruned, nil
}

// preBody is a column body decompressed before the load proper.
type preBody struct {
	kind byte
	body string
	sc   *colScratch // holds body; nil: none
}

func maybeInt(text string) bool {
	for j := 0; j < len(text); j++ {
		if (text[j] < '0' || text[j] > '9') && text[j] != '-' {
			return false
		}
	}
	return true
}

func maybeIPv4(text string) bool {
	for j := 0; j < len(text); j++ {
		if (text[j] < '0' || text[j] > '9') && text[j] != '.' {
			return false
		}
	}
	return true
}

// containsFold reports whether s contains sub, ASCII case-insensitively
// (token.EqualFold); a sub with non-ASCII bytes always answers true.
func containsFold(s, sub string) bool {
	m := len(sub)
	if m == 0 {
		return true
	}
	// Anchor on sub's rarest-looking byte: a non-letter if it has one.
	k := 0
	for j := 0; j < m; j++ {
		c := sub[j]
		if c >= 0x80 {
			return true
		}
		if !isASCIILetter(sub[k]) {
			continue
		}
		if !isASCIILetter(c) || c == 'q' || c == 'z' || c == 'x' || c == 'Q' || c == 'Z' || c == 'X' {
			k = j
		}
	}
	lo, up := sub[k], sub[k]
	if lo >= 'A' && lo <= 'Z' {
		lo += 'a' - 'A'
	} else if up >= 'a' && up <= 'z' {
		up -= 'a' - 'A'
	}
	end := len(s) - m + k + 1 // anchor positions are in s[k:end]
	nextLo, nextUp := -2, -2  // -2: not searched yet, -1: none left
	if lo == up {
		nextUp = -1
	}
	for i := k; i < end; {
		if nextLo != -1 && nextLo < i {
			nextLo = indexFrom(s[:end], lo, i)
		}
		if nextUp != -1 && nextUp < i {
			nextUp = indexFrom(s[:end], up, i)
		}
		p := nextLo
		if p < 0 || (nextUp >= 0 && nextUp < p) {
			p = nextUp
		}
		if p < 0 {
			return false
		}
		if token.EqualFold(s[p-k:p-k+m], sub) {
			return true
		}
		i = p + 1
	}
	return false
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// indexFrom returns the index of the first c in s at or after i, or -1.
func indexFrom(s string, c byte, i int) int {
	if j := strings.IndexByte(s[i:], c); j >= 0 {
		return i + j
	}
	return -1
}

package store

import (
	"fmt"
	"slices"
)

// DictCodes gives the stored form of block column k when it is a
// dictionary column not decoded yet: its distinct values (appended to
// dict) and its rows' codes as stored, one uvarint a row (0: the row
// lacks the field, c: dict[c-1]). A search that needs the values of a
// few rows reads them from the codes instead of decoding the column
// (Value decodes every row). ok is false when the column is decoded
// already, asked for by the load, or stored otherwise: Value then serves.
// The strings are valid until Release.
func (t *RawTemplates) DictCodes(k int, dict []string) (_ []string, codes string, ok bool, err error) {
	l := t.l
	if k < 0 || k >= len(l.cols) || l.cols[k].Values != nil || l.want[k] {
		return dict, "", false, nil
	}
	c := l.bm.cols[k]
	if c.size == 0 {
		return dict, "", false, nil
	}
	var pb preBody
	switch {
	case l.pre != nil && l.pre[k].sc != nil:
		pb = l.pre[k]
	case l.p.data[c.off] == kindDict:
		if pb, err = l.preBody(k); err != nil {
			return dict, "", false, err
		}
		l.keepPre(k, pb) // for a later decode of the column
	default:
		return dict, "", false, nil
	}
	if pb.kind != kindDict {
		return dict, "", false, nil
	}
	dict, off, err := appendDict(dict, pb.body)
	if err != nil {
		return dict, "", false, fmt.Errorf("part %s block %d column %s: decode column: %w", l.p.path, l.i, l.p.names[c.name], err)
	}
	return dict, pb.body[off:], true, nil
}

// appendDict appends to dict the values of the dictionary at the start of
// kindDict body b (a count, then each value's length and bytes) and
// returns the offset after them. Values of up to 127 bytes (a length of
// one byte) are read inline, the others by the reader, which reports bad
// bytes (dict is then returned as given).
func appendDict(dict []string, b string) ([]string, int, error) {
	r := &reader{s: b}
	n := r.count(1) // at most a value a byte: the growth is bounded
	base := len(dict)
	dict = slices.Grow(dict, n)[:base+n]
	out, off := dict[base:], r.off
	for j := range out {
		if off < len(b) {
			if m := int(b[off]); m < 0x80 && m < len(b)-off {
				out[j] = b[off+1 : off+1+m]
				off += 1 + m
				continue
			}
		}
		r.off = off
		out[j] = r.str()
		if r.err != nil {
			break
		}
		off = r.off
	}
	if r.err != nil {
		clear(out)
		return dict[:base], 0, r.err
	}
	return dict, off, nil
}

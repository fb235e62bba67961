package store

import "fmt"

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
	r := &reader{s: pb.body}
	n := r.count(1)
	for range n {
		dict = append(dict, r.str())
	}
	if r.err != nil {
		return dict, "", false, fmt.Errorf("part %s block %d column %s: decode column: %w", l.p.path, l.i, l.p.names[c.name], r.err)
	}
	return dict, pb.body[r.off:], true, nil
}

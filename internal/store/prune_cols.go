package store

// Column pruning before a load (LoadOptions.PruneCols): a field column a
// search's texts cannot occur in is left out.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mamori/mamori/internal/event"
)

// pruneColumns decides LoadOptions.PruneCols before a load: a wanted
// field column that cannot contain any of texts is no longer wanted, and
// its decompressed body, if it had to be looked at, is kept in l.pre for
// the _raw templates that may refer to it. The block's coverage keys
// (covered_cols.go) decide many columns without decompressing them. It
// returns the pruned column names.
func (l *blockLoader) pruneColumns(cols, texts []string) ([]string, error) {
	var pruned []string
	bl := l.p.bloom(l.i)
	cov := l.p.hasCoverage(bl)
	for k, c := range l.bm.cols {
		name := l.p.names[c.name]
		if !l.want[k] || c.size == 0 || event.IsMeta(name) || !slices.Contains(cols, name) {
			continue
		}
		if cov && !slices.ContainsFunc(texts, func(t string) bool { return !lacksText(bl, name, t) }) {
			// Each text holds a byte no value of the column holds (the
			// block's coverage keys say so): nothing to decompress.
			l.want[k] = false
			pruned = append(pruned, name)
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
			pb, err := l.preBody(k)
			if err != nil {
				return nil, err
			}
			// The body holds every value's bytes (with lengths or codes
			// around them), so a value containing a text makes the body
			// contain it.
			if !slices.ContainsFunc(texts, func(t string) bool { return containsFold(pb.body, t) }) {
				l.want[k] = false
				l.keepPre(k, pb)
				pruned = append(pruned, name)
				continue
			}
			// A text is in the body: the load wants the column. Decode it
			// now from a copy of the body rather than decompress it a
			// second time (the copy outlives the loader, as a load's own
			// body does).
			col, err := l.decodeWanted(k, pb)
			if err != nil {
				return nil, err
			}
			l.cols[k] = col
		}
	}
	return pruned, nil
}

// decodeWanted decodes block column k (not a template) from pb, its
// decompressed body, as blockLoader.col would from the chunk: values that
// point into a copy of the body, not into pb's scratch, which goes back
// to the pool with the loader's.
func (l *blockLoader) decodeWanted(k int, pb preBody) (Column, error) {
	name := l.p.names[l.bm.cols[k].name]
	body := strings.Clone(pb.body)
	vals, absent, err := decodeBody(pb.kind, body, int(l.bm.rows), nil, false)
	if err != nil {
		return Column{}, fmt.Errorf("part %s block %d column %s: %w", l.p.path, l.i, name, err)
	}
	return Column{Name: name, Values: vals, Absent: absent}, nil
}

// preBody decompresses the body of block column k into a scratch buffer
// the loader owns until release.
func (l *blockLoader) preBody(k int) (preBody, error) {
	c := l.bm.cols[k]
	ch, err := l.bb.chunk(l.p, l.i, c)
	if err != nil {
		return preBody{}, err
	}
	sc := l.newScratch()
	kind, body, err := l.bb.decodeBody(l.p, l.i, c, ch, sc) // maybe kept in bb, not sc
	if err != nil {
		return preBody{}, fmt.Errorf("part %s block %d column %s: %w", l.p.path, l.i, l.p.names[c.name], err)
	}
	return preBody{kind: kind, body: body, sc: sc}, nil
}

// keepPre keeps pb, column k's body, for the column's later decode.
func (l *blockLoader) keepPre(k int, pb preBody) {
	if l.pre == nil {
		l.pre = make([]preBody, len(l.cols))
	}
	l.pre[k] = pb
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

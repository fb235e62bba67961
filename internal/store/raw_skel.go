package store

import "fmt"

// A row's raw text is written from its skeleton, variables and referenced
// values (RawTemplates.AppendRaw, row-wise loads). Each skeleton is first
// compiled, once per block, into its literal pieces (views of the
// skeleton) and the holes between them, so a row costs a few appends and
// no scan for escapes: a block's rows share a few hundred skeletons.

// The holes of a compiled skeleton that are not block columns (k >= 0).
const (
	holeVar    = -1 - iota // the row's next variable
	holeHost               // the stream's host
	holeSource             // the stream's source
	holeEsc                // a literal tmplEsc byte
)

// skelPlan is skeleton compiled: a row's raw text is lits[lo] + hole lo +
// lits[lo+1] + ... + lits[hi] (sb.lits and sb.holes; holes lo..hi-1).
type skelPlan struct {
	lo, hi int32
	done   bool
	err    error // the skeleton is bad: every row of it fails
}

// plan returns skeleton id compiled (building it on first use).
func (sb *skelBlock) plan(id int) *skelPlan {
	if len(sb.plans) != len(sb.skels) {
		sb.plans = growTo(sb.plans, len(sb.skels))
		clear(sb.plans)
	}
	p := &sb.plans[id]
	if p.done {
		return p
	}
	p.done = true
	sk := sb.skels[id]
	p.lo = int32(len(sb.holes))
	for {
		i := indexEsc(sk)
		if i < 0 {
			break
		}
		sb.lits = append(sb.lits, sk[:i])
		if i+1 >= len(sk) {
			p.err = errTemplate
			break
		}
		hole := int32(0)
		switch code := sk[i+1]; {
		case code == tmplVar:
			hole = holeVar
		case code == tmplEsc:
			hole = holeEsc
		case code == tmplHost:
			hole = holeHost
		case code == tmplSource:
			hole = holeSource
		case code >= tmplColBase:
			hole = int32(code - tmplColBase)
		default:
			p.err = fmt.Errorf("%w: code %d", errTemplate, code)
		}
		if p.err != nil {
			break
		}
		sb.holes = append(sb.holes, hole)
		sk = sk[i+2:]
	}
	if p.err != nil {
		sb.lits, sb.holes = sb.lits[:p.lo], sb.holes[:p.lo]
		p.hi = p.lo
		return p
	}
	sb.lits = append(sb.lits, sk)
	p.hi = int32(len(sb.holes))
	// lits has one more entry per plan than holes: keep them aligned.
	sb.holes = append(sb.holes, 0)
	return p
}

// appendRaw appends the raw text of row (present) to dst: its variables
// are vb[offs[i]:offs[i+1]] in text order, its references resolved as
// expand does (cols holds the block's decoded columns in block-row
// coordinates, Values nil where not decoded yet; col decodes one).
func (sb *skelBlock) appendRaw(dst []byte, row int, vb string, offs []int32, host, source string, cols []Column, col func(k int) (Column, error)) ([]byte, error) {
	p := sb.plan(int(sb.ids[row]) - 1)
	if p.err != nil {
		return dst, p.err
	}
	lits, holes := sb.lits[p.lo:p.hi+1], sb.holes[p.lo:p.hi]
	v := 0
	for h, hole := range holes {
		dst = append(dst, lits[h]...)
		switch {
		case hole == holeVar:
			if v+1 >= len(offs) {
				return dst, fmt.Errorf("%w: more placeholders than variables", errSkeleton)
			}
			dst = append(dst, vb[offs[v]:offs[v+1]]...)
			v++
		case hole >= 0:
			k := int(hole)
			if k >= len(cols) {
				return dst, &missingColError{k: k, row: row}
			}
			c := cols[k]
			if c.Values == nil {
				var err error
				if c, err = col(k); err != nil {
					return dst, err
				}
			}
			if row >= len(c.Values) || !c.Has(row) {
				return dst, &missingColError{k: k, row: row}
			}
			dst = append(dst, c.Values[row]...)
		case hole == holeHost:
			dst = append(dst, host...)
		case hole == holeSource:
			dst = append(dst, source...)
		default:
			dst = append(dst, tmplEsc)
		}
	}
	return append(dst, lits[len(holes)]...), nil
}

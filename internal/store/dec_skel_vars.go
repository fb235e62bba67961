package store

// Reading the vars sub-chunk of kindSkeleton chunks (format in enc_skel.go).

import "fmt"

// loadVars decodes the variables (and counts them: count).
func (sb *skelBlock) loadVars() error {
	if sb.loaded {
		return nil
	}
	if err := sb.count(); err != nil {
		return err
	}
	kind, body, err := chunkBodyTo(sb.vars, sb.scratch())
	if err != nil {
		return fmt.Errorf("skeleton variables: %w", err)
	}
	if kind != kindSkeleton {
		return fmt.Errorf("%w: variables of kind %d", errSkeleton, kind)
	}
	nv := int(sb.vstart[len(sb.vstart)-1])
	if nv > len(body) {
		return fmt.Errorf("%w: %d variables in %d bytes", errSkeleton, nv, len(body))
	}
	sb.voff = growTo(sb.voff, nv+1)
	// Fast path: every length takes one byte (variables below 128
	// bytes), so the lengths are body[:nv].
	voff, off, j := sb.voff[:nv], 0, 0
	for lens := body[:nv]; j < len(lens); j++ {
		l := lens[j]
		if l-1 >= 0x7f { // 0, or a longer varint
			break
		}
		voff[j] = int32(off)
		off += int(l)
	}
	base := j
	if j < nv {
		// Slow path from the first longer length on.
		r := &reader{s: body, off: j}
		for ; j < nv; j++ {
			voff[j] = int32(off)
			l := r.uvarint()
			if r.err == nil && (l == 0 || l > uint64(len(body))) {
				r.err = fmt.Errorf("variable length %d", l)
			}
			if r.err != nil {
				return fmt.Errorf("%w: %w", errSkeleton, r.err)
			}
			off += int(l)
		}
		base = r.off
	}
	if off != len(body)-base {
		// A filter item (vars_filter.go) follows the variables.
		w, err := varsFilterItem(sb.vars, body, base, off, nv)
		if err != nil {
			return err
		}
		base += w
	}
	sb.voff[nv] = int32(off)
	sb.vb = body[base : base+off]
	sb.loaded = true
	return nil
}
